//! The reason codes settling writes or reads (`docs/delivery.md`, "A
//! `reason` is text that starts with a stable code").
//!
//! The terminal reports why an attempt ended only as text today, so the two
//! facts settling needs from a reason — did the screen refuse the keys, was
//! the text left in the input — are read here, in one place each, rather
//! than by every caller.

use super::outcome::InjectionOutcome;

/// Every delivery ended by its agent's exit: the process may have taken the
/// text in before it died, so it is never typed again.
pub const AGENT_EXITED: &str = "agent_exited";

/// Injected when the broker stopped, on a session that did not survive.
pub const BROKER_RESTARTED: &str = "broker_restarted";

/// The agent was released with the delivery pending.
pub const AGENT_RELEASED: &str = "agent_released";

/// The restart policy gave up on the agent with the delivery pending.
pub const AGENT_DEAD: &str = "agent_dead";

/// The text stayed in the input after Enter (the terminal's `submit`).
pub const NOT_SUBMITTED: &str = "not_submitted";

/// The input line held text, so nothing was typed (the terminal's
/// readiness, `NotReady::InputNotEmpty`).
pub const INPUT_NOT_EMPTY: &str = "input_not_empty";

/// A busy pattern was on screen, so nothing was typed (the terminal's
/// `readiness::WORKING`, which must stay this text).
pub const AGENT_WORKING: &str = "agent_working";

/// A native channel: the agent CLI answered the request carrying the
/// message with an error (it did not take the input).
pub const PROTOCOL_REFUSED: &str = "protocol_refused";

/// A native channel: the turn the message started ended refused by the
/// agent (ACP `stopReason: "refusal"`), with its words.
pub const TURN_REFUSED: &str = "turn_refused";

/// A native channel: the turn ended but the protocol never showed that
/// it carried this message (Claude's stream-json without
/// `--replay-user-messages` has no acknowledgement of an input).
pub const PROTOCOL_UNPROVEN: &str = "protocol_unproven";

/// A native channel: the turn the message started was cancelled.
pub const TURN_CANCELLED: &str = "turn_cancelled";

/// Why a screen refused the keys of an attempt although the agent was not
/// busy by the watcher's view: like a busy agent, it never saw the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenRefusal {
    /// The input line held text (a draft, or a message never submitted).
    InputNotEmpty,
    /// The screen showed the agent working until the readiness bound.
    Working,
}

impl ScreenRefusal {
    /// The refusal a failed outcome reports, if any. The terminal says it
    /// only inside the reason's text (`agent not ready: input_not_empty: …`,
    /// `agent not ready: agent_working: …`), so the code is looked for
    /// anywhere in it, as the broker always has. Only a failure is a refusal:
    /// an unverified outcome means keys went out.
    pub fn of(outcome: &InjectionOutcome) -> Option<ScreenRefusal> {
        let InjectionOutcome::Failed { reason } = outcome else {
            return None;
        };
        if reason.contains(INPUT_NOT_EMPTY) {
            Some(ScreenRefusal::InputNotEmpty)
        } else if reason.contains(AGENT_WORKING) {
            Some(ScreenRefusal::Working)
        } else {
            None
        }
    }
}

/// Whether an outcome says the text stayed in the agent's input (it was
/// typed, Enter did not submit it): the broker holds the next delivery until
/// that input is seen empty. Read from the reason's leading code, the only
/// place the terminal says it.
pub fn left_in_input(outcome: &InjectionOutcome) -> bool {
    matches!(outcome, InjectionOutcome::Unverified { reason } if reason.starts_with(NOT_SUBMITTED))
}
