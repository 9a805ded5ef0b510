//! A pending delivery whose agent, or whose agent's session, is gone.

use super::exit::Exit;
use super::reasons::{AGENT_DEAD, AGENT_EXITED, AGENT_RELEASED, BROKER_RESTARTED};
use crate::delivery::{DeliveryState, Transition};

/// What went away under a pending delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// The agent's process ended with the delivery still in flight and its
    /// delivery task ended without recording an outcome. The agent may be
    /// restarted: a queued delivery waits for it.
    AgentExited(Exit),
    /// The agent was released: nobody will read what waits for it.
    AgentReleased,
    /// The restart policy gave up on the agent.
    AgentDead,
    /// The broker restarted and the delivery's session did not survive it
    /// (the new session never saw the text; Enter may have reached the old).
    BrokerRestarted,
}

/// The transitions that end a pending delivery (queued, injecting or
/// injected) when `gone` happened, in order; none when it waits on or has
/// nothing left to end. Never a failure: the agent going away is not the
/// delivery's fault; and nothing whose Enter may have gone out is typed
/// again.
///
/// - exited: in flight ends `unverified`, `agent_exited` (through
///   `injected` when Enter was not reached); queued waits for the restart.
/// - released / dead: `injected` (Enter may have been sent) ends
///   `unverified`; `injecting` goes back through the queue and, like a
///   queued one, becomes a dead letter (`dropped`, replayable).
/// - broker restarted onto a new session: `injecting` is requeued (typed
///   again); `injected` ends `unverified`, `broker_restarted`.
pub fn settle_pending(state: DeliveryState, gone: Gone) -> Vec<Transition> {
    use DeliveryState as S;
    match (gone, state) {
        (Gone::AgentExited(exit), S::Injecting | S::Injected) => {
            let unverified = Transition::Unverified {
                reason: format!(
                    "{AGENT_EXITED}: the agent process {exit} while it was in flight; not typed again"
                ),
                screen: Vec::new(),
            };
            if state == S::Injecting {
                vec![Transition::Written, unverified]
            } else {
                vec![unverified]
            }
        }
        (Gone::BrokerRestarted, S::Injecting) => vec![Transition::Requeue {
            reason: "broker restarted before Enter; the agent session is new".into(),
        }],
        (Gone::BrokerRestarted, S::Injected) => vec![Transition::Unverified {
            reason: format!(
                "{BROKER_RESTARTED}: Enter may have been sent before the restart; not typed again to avoid a double"
            ),
            screen: Vec::new(),
        }],
        (Gone::AgentReleased, _) => ended_for_good(state, AGENT_RELEASED),
        (Gone::AgentDead, _) => ended_for_good(state, AGENT_DEAD),
        (Gone::AgentExited(_) | Gone::BrokerRestarted, _) => Vec::new(),
    }
}

/// A released or dead agent's pending delivery: none waits for nobody.
fn ended_for_good(state: DeliveryState, cause: &str) -> Vec<Transition> {
    let drop = Transition::Drop {
        reason: cause.to_string(),
    };
    match state {
        DeliveryState::Injected => vec![Transition::Unverified {
            reason: format!("{cause}: gone while its Enter may have been sent"),
            screen: Vec::new(),
        }],
        DeliveryState::Injecting => vec![
            Transition::Requeue {
                reason: format!("{cause} before Enter"),
            },
            drop,
        ],
        DeliveryState::Queued => vec![drop],
        // Ended already, or followed on another host: nothing pending here.
        _ => Vec::new(),
    }
}
