//! One injection attempt's report → what happens to its delivery.

use super::exit::Exit;
use super::outcome::InjectionOutcome;
use super::reasons::{self, AGENT_EXITED, ScreenRefusal};
use crate::delivery::Transition;
use crate::pacing;

/// A plain summary of one attempt, built by the delivery loop from the
/// terminal's report and what the broker saw around it.
///
/// The terminal keeps one contract the rules rely on: an outcome other than
/// `Failed` comes only once typing started, and `injected` is committed only
/// after typing started (once the echo is whole, before the first Enter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The terminal's verdict.
    pub outcome: InjectionOutcome,
    /// The keys of an injection started to go out (the report's
    /// `injected_at`): some of the text may have reached the agent.
    pub typing_started: bool,
    /// `injected` was committed before Enter: the delivery is in state
    /// `injected`, not `injecting`.
    pub marked_injected: bool,
    /// The agent's process ended during the attempt, and how.
    pub exit: Option<Exit>,
    /// The agent was busy when the attempt ended (the watcher's view).
    pub busy_at_end: bool,
    /// The screen refused the keys although the agent did not look busy
    /// ([`ScreenRefusal::of`] the outcome).
    pub refused: Option<ScreenRefusal>,
    /// The screen rows that show why an unverified outcome was not proven
    /// (the text left in the input), for the event.
    pub screen: Vec<String>,
}

/// Which of the broker's delivery counters an attempt counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Verified,
    Unverified,
    Failed,
    /// Back to the queue without counting an attempt; the broker has no
    /// counter for it (it is not a failure).
    Requeued,
}

/// What one attempt means for its delivery, its queue and its pacing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// Applied in order from the state the attempt left the delivery in
    /// (`injecting`, or `injected` once marked).
    pub transitions: Vec<Transition>,
    pub counted: Counted,
    /// The delivery reached the agent (verified or unverified): the queue
    /// moved, and the watchdog measures from here once it is recorded.
    pub progressed: bool,
    /// The text stayed in the input: nothing more is typed into this agent
    /// until its input is seen empty.
    pub left_in_input: bool,
    /// What the pacer records for this attempt.
    pub pacing: pacing::Outcome,
}

/// The outcome to record for an attempt during which the agent exited:
/// once any of the text may have reached it, `unverified`, `agent_exited`
/// (it may have taken the text in before it died; never typed again),
/// unless the screen had already proved it. Nothing typed: the terminal's
/// own outcome.
pub fn outcome_at_exit(
    outcome: InjectionOutcome,
    typing_started: bool,
    exit: Option<Exit>,
) -> InjectionOutcome {
    let Some(exit) = exit else {
        return outcome;
    };
    let reason = match outcome {
        InjectionOutcome::Verified => return InjectionOutcome::Verified,
        InjectionOutcome::Failed { .. } if !typing_started => return outcome,
        InjectionOutcome::Unverified { reason } | InjectionOutcome::Failed { reason } => reason,
    };
    InjectionOutcome::Unverified {
        reason: format!(
            "{AGENT_EXITED}: the agent process {exit} while it was being delivered ({reason}); not typed again"
        ),
    }
}

/// Whether the agent never saw a failed attempt, so it goes back to the
/// queue without counting an attempt:
/// - nothing was typed because the agent kept working past the readiness
///   bound (it went busy after the claim), or the screen refused the keys
///   (the input held text, or showed the agent working): it will be ready
///   again, and the loop waits for that. A screen that cannot take input
///   although quiet (a dialog, a blank screen) still fails and counts, so a
///   wedged agent ends in a dead letter instead of requeueing forever out
///   of the watchdog's sight;
/// - nothing reached a process that exited: the restarted agent gets it.
fn untouched(attempt: &Attempt) -> bool {
    let nothing_typed = !attempt.typing_started && !attempt.marked_injected;
    let failed = matches!(attempt.outcome, InjectionOutcome::Failed { .. });
    let refused_while_live =
        attempt.exit.is_none() && (attempt.busy_at_end || attempt.refused.is_some());
    let nothing_reached_exited = attempt.exit.is_some() && failed;
    nothing_typed && (refused_while_live || nothing_reached_exited)
}

/// Settles one injection attempt: the transitions of its delivery in
/// order, the counter, whether the queue progressed, whether the text was
/// left in the input, and the pacing signal.
pub fn settle_attempt(attempt: Attempt) -> Settlement {
    let untouched = untouched(&attempt);
    let Attempt {
        outcome,
        typing_started,
        marked_injected,
        exit,
        screen,
        ..
    } = attempt;
    let outcome = outcome_at_exit(outcome, typing_started, exit);
    let pacing = outcome.pacing();
    let left_in_input = reasons::left_in_input(&outcome);
    let (last, counted) = match outcome {
        InjectionOutcome::Verified => (Transition::Verified, Counted::Verified),
        InjectionOutcome::Unverified { reason } => (
            Transition::Unverified { reason, screen },
            Counted::Unverified,
        ),
        InjectionOutcome::Failed { reason } if untouched => {
            (Transition::Requeue { reason }, Counted::Requeued)
        }
        InjectionOutcome::Failed { reason } => (Transition::Failed { reason }, Counted::Failed),
    };
    let progressed = matches!(last, Transition::Verified | Transition::Unverified { .. });
    let mut transitions = Vec::with_capacity(2);
    if progressed && !marked_injected {
        // Taken in without reaching Enter (e.g. no echo): the state machine
        // goes through `injected` first.
        transitions.push(Transition::Written);
    }
    transitions.push(last);
    Settlement {
        transitions,
        counted,
        progressed,
        left_in_input,
        pacing,
    }
}
