//! What a failed write means for a delivery. Pure.
//!
//! The broker answers [`DeliveryOutcome::Failed`] with a retry that types
//! the whole text again into the same session, so `Failed` is only right
//! when that cannot double it: nothing of the text was written, or the
//! process that could have received it is gone (a retry can only reach a
//! new session, which never saw it). Once any byte may have reached a live
//! agent the outcome is [`DeliveryOutcome::Unverified`].
//!
//! A write that timed out counts as "possibly written": the timeout only
//! drops the waiting future, while the PTY writer thread keeps the job and
//! may still write every byte of it later.

use std::time::Duration;

use crate::deliver::DeliveryOutcome;
use crate::terminal::ExitInfo;

/// How one write went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteFailure {
    /// The writer answered with an error: this write wrote nothing usable
    /// (a PTY write fails when nobody holds the other side).
    Error(String),
    /// No answer within the bound; the bytes may still be written.
    TimedOut(Duration),
}

impl std::fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteFailure::Error(e) => f.write_str(e),
            WriteFailure::TimedOut(after) => write!(
                f,
                "write timed out after {after:?} (its bytes may still reach the agent)"
            ),
        }
    }
}

/// What was being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writing {
    /// A chunk of the text.
    Text,
    /// Enter, after (part of) the text showed on screen.
    Enter,
}

/// The outcome of a delivery whose write failed.
///
/// `written` counts the bytes of text (over every injection attempt of this
/// delivery) acknowledged written before this write; `exit` is how the
/// program ended, if it did.
pub fn outcome(
    failure: &WriteFailure,
    writing: Writing,
    written: usize,
    exit: Option<ExitInfo>,
) -> DeliveryOutcome {
    if writing == Writing::Enter {
        // The text is on screen: typing it again would double it, and the
        // agent may have acted on it before going away.
        let exit = exit.map_or(String::new(), |e| format!("; the agent process {e}"));
        return DeliveryOutcome::Unverified {
            reason: format!(
                "enter_failed_after_echo: the text was typed but Enter failed: {failure}{exit}"
            ),
        };
    }
    if let Some(info) = exit {
        return DeliveryOutcome::Failed {
            reason: format!("agent process {info} while writing ({failure})"),
        };
    }
    match (failure, written) {
        (WriteFailure::Error(e), 0) => DeliveryOutcome::Failed { reason: e.clone() },
        (WriteFailure::TimedOut(_), 0) => DeliveryOutcome::Unverified {
            reason: format!("write_timed_out: nothing confirmed written, but {failure}"),
        },
        _ => DeliveryOutcome::Unverified {
            reason: format!(
                "write_failed_after_partial_injection: {written} bytes of the text were written, then: {failure}"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(o: &DeliveryOutcome) -> bool {
        matches!(o, DeliveryOutcome::Failed { .. })
    }

    fn reason(o: &DeliveryOutcome) -> &str {
        match o {
            DeliveryOutcome::Failed { reason } | DeliveryOutcome::Unverified { reason } => reason,
            DeliveryOutcome::Verified => "",
        }
    }

    const EXIT: ExitInfo = ExitInfo {
        code: Some(101),
        signal: None,
    };

    #[test]
    fn failed_only_when_nothing_can_be_doubled() {
        let err = WriteFailure::Error("writing 10 bytes failed: EIO".into());
        let slow = WriteFailure::TimedOut(Duration::from_secs(5));
        // The first write failed outright: nothing reached the agent.
        let o = outcome(&err, Writing::Text, 0, None);
        assert!(failed(&o) && reason(&o).contains("EIO"), "{o:?}");
        // The program is gone: a retry reaches a new session only.
        let o = outcome(&slow, Writing::Text, 4096, Some(EXIT));
        assert!(failed(&o) && reason(&o).contains("code 101"), "{o:?}");
    }

    #[test]
    fn anything_possibly_written_to_a_live_agent_is_unverified() {
        let err = WriteFailure::Error("EIO".into());
        let slow = WriteFailure::TimedOut(Duration::from_secs(5));
        for (failure, written) in [(&err, 1), (&slow, 1), (&slow, 0)] {
            let o = outcome(failure, Writing::Text, written, None);
            assert!(!failed(&o), "{failure:?} after {written} bytes: {o:?}");
        }
        let o = outcome(&err, Writing::Text, 2048, None);
        assert!(
            reason(&o).starts_with("write_failed_after_partial_injection: 2048 bytes"),
            "{o:?}"
        );
        let o = outcome(&slow, Writing::Text, 0, None);
        assert!(reason(&o).starts_with("write_timed_out"), "{o:?}");
    }

    #[test]
    fn a_failed_enter_is_never_a_retry() {
        let err = WriteFailure::Error("EIO".into());
        let slow = WriteFailure::TimedOut(Duration::from_secs(5));
        for failure in [&err, &slow] {
            for exit in [None, Some(EXIT)] {
                let o = outcome(failure, Writing::Enter, 100, exit);
                assert!(
                    !failed(&o) && reason(&o).starts_with("enter_failed_after_echo"),
                    "{o:?}"
                );
            }
        }
    }
}
