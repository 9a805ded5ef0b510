//! A native channel's report → what happens to its delivery.
//!
//! A native channel hands a message to the agent CLI through the CLI's own
//! protocol (ACP's `session/prompt` on a headless agent) and reports what
//! that protocol said. The rules are those of a keystroke attempt: only a
//! report of the turn that carries this very message is a proof
//! (`verified`, verification `protocol`); a refusal or a failed turn ends
//! `unverified` with the CLI's reason, never retried (the CLI saw it); an
//! agent that went away mid-turn is settled like any crash
//! ([`settle_attempt`]: `agent_exited` once it may have seen the message,
//! back to the queue when nothing was written).

use super::attempt::{Attempt, Counted, Settlement, settle_attempt};
use super::exit::Exit;
use super::outcome::InjectionOutcome;
use super::reasons::{PROTOCOL_REFUSED, PROTOCOL_UNPROVEN, TURN_CANCELLED, TURN_REFUSED};
use crate::delivery::Transition;
use crate::pacing;

/// What the protocol said about one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolReport {
    /// The protocol reported the turn (or queued input) that carries this
    /// message, matched by its request id or its exact text.
    Carried,
    /// The CLI answered the request carrying the message with an error:
    /// it did not take it (its `message`).
    Refused { message: String },
    /// The turn started with the message and the CLI ended it refused
    /// (its words, e.g. ACP's `stopReason: "refusal"` after a message).
    TurnRefused { message: String },
    /// The turn was cancelled before it ended (`stopReason: "cancelled"`).
    TurnCancelled,
    /// A turn ran, but nothing the protocol said ties it to this message
    /// (`why`): it may have been seen, it is not proven.
    Unproven { why: String },
    /// The protocol went away (end of its output, the process exited)
    /// before it answered: `why` for a person.
    Gone { why: String },
    /// Nothing was written: the channel could not take the message
    /// (`why`); the agent never saw it.
    NotSent { why: String },
}

/// What a person reads of a report (a `conversation_error`'s text).
impl std::fmt::Display for ProtocolReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolReport::Carried => f.write_str("carried"),
            ProtocolReport::Refused { message } => write!(f, "the agent refused it: {message}"),
            ProtocolReport::TurnRefused { message } => {
                write!(f, "the turn ended refused: {message}")
            }
            ProtocolReport::TurnCancelled => f.write_str("the turn was cancelled"),
            ProtocolReport::Unproven { why } => write!(f, "not proven: {why}"),
            ProtocolReport::Gone { why } => write!(f, "the protocol went away: {why}"),
            ProtocolReport::NotSent { why } => write!(f, "not sent: {why}"),
        }
    }
}

/// One native attempt, as the delivery loop saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolAttempt {
    pub report: ProtocolReport,
    /// `injected` was committed before the request was written.
    pub marked_injected: bool,
    /// The agent's process ended during the attempt, and how.
    pub exit: Option<Exit>,
}

/// Settles one native attempt: the same settlement a keystroke attempt
/// gets, with `verified` proven by the protocol.
pub fn settle_protocol(attempt: ProtocolAttempt) -> Settlement {
    let ProtocolAttempt {
        report,
        marked_injected,
        exit,
    } = attempt;
    let unverified = |reason: String| {
        let mut transitions = Vec::with_capacity(2);
        if !marked_injected {
            transitions.push(Transition::Written);
        }
        transitions.push(Transition::Unverified {
            reason,
            screen: Vec::new(),
        });
        Settlement {
            transitions,
            counted: Counted::Unverified,
            progressed: true,
            left_in_input: false,
            pacing: pacing::Outcome::Unverified,
        }
    };
    match report {
        ProtocolReport::Carried => {
            let mut transitions = Vec::with_capacity(2);
            if !marked_injected {
                transitions.push(Transition::Written);
            }
            transitions.push(Transition::ProtocolVerified);
            Settlement {
                transitions,
                counted: Counted::Verified,
                progressed: true,
                left_in_input: false,
                pacing: pacing::Outcome::Verified,
            }
        }
        ProtocolReport::Refused { message } => unverified(format!(
            "{PROTOCOL_REFUSED}: the agent refused the input: {message}"
        )),
        ProtocolReport::TurnRefused { message } => unverified(format!(
            "{TURN_REFUSED}: the agent's turn ended refused: {message}"
        )),
        ProtocolReport::Unproven { why } => unverified(format!(
            "{PROTOCOL_UNPROVEN}: the protocol never showed this message was taken: {why}"
        )),
        ProtocolReport::TurnCancelled => unverified(format!(
            "{TURN_CANCELLED}: the agent's turn was cancelled before it ended"
        )),
        // Like a crash of a terminal agent: what may have reached it ends
        // `agent_exited`; what provably did not goes back to the queue (the
        // next generation gets it) or fails an attempt while the agent lives.
        ProtocolReport::Gone { why } => settle_attempt(Attempt {
            outcome: InjectionOutcome::Failed { reason: why },
            typing_started: marked_injected,
            marked_injected,
            exit,
            busy_at_end: false,
            refused: None,
            screen: Vec::new(),
        }),
        ProtocolReport::NotSent { why } => settle_attempt(Attempt {
            outcome: InjectionOutcome::Failed { reason: why },
            typing_started: false,
            marked_injected: false,
            exit,
            busy_at_end: false,
            refused: None,
            screen: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Transition as T;

    fn settle(report: ProtocolReport, marked: bool, exit: Option<Exit>) -> Settlement {
        settle_protocol(ProtocolAttempt {
            report,
            marked_injected: marked,
            exit,
        })
    }

    const CRASH: Exit = Exit {
        code: Some(101),
        signal: None,
    };

    #[test]
    fn only_the_protocols_report_of_the_turn_verifies() {
        let s = settle(ProtocolReport::Carried, true, None);
        assert_eq!(s.transitions, vec![T::ProtocolVerified]);
        assert_eq!(s.counted, Counted::Verified);
        assert_eq!(s.pacing, pacing::Outcome::Verified);
        assert!(s.progressed);
    }

    #[test]
    fn a_refusal_ends_unverified_with_the_clis_words() {
        for (report, code) in [
            (
                ProtocolReport::Refused {
                    message: "no".into(),
                },
                PROTOCOL_REFUSED,
            ),
            (
                ProtocolReport::TurnRefused {
                    message: "no".into(),
                },
                TURN_REFUSED,
            ),
            (ProtocolReport::TurnCancelled, TURN_CANCELLED),
            (
                ProtocolReport::Unproven {
                    why: "no replay".into(),
                },
                PROTOCOL_UNPROVEN,
            ),
        ] {
            let s = settle(report, true, None);
            assert_eq!(s.counted, Counted::Unverified);
            assert_eq!(s.pacing, pacing::Outcome::Unverified);
            let [T::Unverified { reason, .. }] = s.transitions.as_slice() else {
                panic!("{:?}", s.transitions);
            };
            assert!(reason.starts_with(code), "{reason}");
        }
    }

    #[test]
    fn a_crash_mid_turn_is_a_crash_never_a_second_delivery() {
        let s = settle(
            ProtocolReport::Gone {
                why: "end of output".into(),
            },
            true,
            Some(CRASH),
        );
        let [T::Unverified { reason, .. }] = s.transitions.as_slice() else {
            panic!("{:?}", s.transitions);
        };
        assert!(reason.starts_with("agent_exited"), "{reason}");
    }

    #[test]
    fn nothing_written_to_an_exited_agent_waits_for_the_next_one() {
        let s = settle(
            ProtocolReport::NotSent {
                why: "pipe closed".into(),
            },
            true,
            Some(CRASH),
        );
        assert!(matches!(s.transitions.as_slice(), [T::Requeue { .. }]));
        assert_eq!(s.counted, Counted::Requeued);
    }
}
