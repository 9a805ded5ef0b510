//! A delivery left in flight on a session that survived a broker restart,
//! once the surviving screen decided it (`courier_terminal::resume`).

use super::outcome::InjectionOutcome;
use crate::delivery::Transition;

/// What the surviving screen showed about a delivery left in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// Its header is nowhere on screen: it was never typed.
    NotTyped,
    /// It was finished from the screen (Enter sent, or seen submitted).
    Done {
        outcome: InjectionOutcome,
        /// The rows that show why an unverified outcome was not proven.
        screen: Vec<String>,
    },
}

/// The transitions of a delivery settled from a surviving screen, in order
/// from its state (`injected` when `marked_injected`: committed before the
/// restart or by the resume itself, else `injecting`). Never typed: back to
/// the queue without counting an attempt. Taken in without `injected`
/// committed: through `injected` first. The outcome's reason is the
/// terminal's (`restart_unproven`, `restart_partial`, `restart_no_trace`).
pub fn settle_resumed(resumed: Resumed, marked_injected: bool) -> Vec<Transition> {
    let last = match resumed {
        Resumed::NotTyped => {
            return vec![Transition::Requeue {
                reason: "broker restarted; the surviving screen shows it was never typed".into(),
            }];
        }
        Resumed::Done { outcome, screen } => match outcome {
            InjectionOutcome::Verified => Transition::Verified,
            InjectionOutcome::Unverified { reason } => Transition::Unverified { reason, screen },
            InjectionOutcome::Failed { reason } => Transition::Failed { reason },
        },
    };
    if !marked_injected && !matches!(last, Transition::Failed { .. }) {
        vec![Transition::Written, last]
    } else {
        vec![last]
    }
}
