//! What an agent's exit means for its deliveries.
//!
//! A pending delivery is never failed because its agent crashed: a queued
//! one waits for the restart (or becomes a dead letter when the agent is
//! dead). One in flight at the exit ends `unverified` with reason
//! `agent_exited` (the process may have taken the text in before it
//! died, so it is never typed again), unless the screen had already
//! proved it (`verified` stays). One of which nothing was written goes
//! back to the queue, without counting an attempt: no process saw it.

use courier_core::delivery::Transition;
use courier_core::{DeliveryState, Timestamp};
use courier_store::Store;
use courier_terminal::{DeliveryOutcome, DeliveryReport, ExitInfo};

/// The reason every delivery ended by an exit starts with.
pub const AGENT_EXITED: &str = "agent_exited";

/// Whether an exit is a crash: a non-zero code or a signal.
pub fn is_crash(exit: &ExitInfo) -> bool {
    exit.signal.is_some() || exit.code.is_some_and(|c| c != 0)
}

/// The outcome to record for a delivery whose report ended with the agent
/// gone: `unverified`, `agent_exited`, once any of it was written.
pub fn outcome_at_exit(report: &DeliveryReport) -> DeliveryOutcome {
    let outcome = report.outcome.clone();
    let Some(exit) = report.exit else {
        return outcome;
    };
    let reason = match outcome {
        DeliveryOutcome::Verified => return DeliveryOutcome::Verified,
        DeliveryOutcome::Failed { .. } if report.injected_at.is_none() => return outcome,
        DeliveryOutcome::Unverified { reason } | DeliveryOutcome::Failed { reason } => reason,
    };
    DeliveryOutcome::Unverified {
        reason: format!(
            "{AGENT_EXITED}: the agent process {exit} while it was being delivered ({reason}); not typed again"
        ),
    }
}

/// Nothing of the delivery reached the agent before it exited: it goes
/// back to the queue for the restarted agent.
pub fn nothing_reached_it(report: &DeliveryReport, marked_injected: bool) -> bool {
    report.exit.is_some()
        && report.injected_at.is_none()
        && !marked_injected
        && matches!(report.outcome, DeliveryOutcome::Failed { .. })
}

/// Ends what an exited session still has in flight (its delivery task
/// ended without recording an outcome): `unverified`, `agent_exited`.
pub async fn settle_left_in_flight(store: &Store, agent: &str, session: &str, exit: ExitInfo) {
    let pending = match store.pending() {
        Ok(pending) => pending,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the deliveries left in flight at the exit");
            return;
        }
    };
    for d in pending.into_iter().filter(|d| {
        d.agent == agent
            && d.session.as_deref() == Some(session)
            && matches!(d.state, DeliveryState::Injecting | DeliveryState::Injected)
    }) {
        let mut steps = Vec::new();
        if d.state == DeliveryState::Injecting {
            steps.push(Transition::Written);
        }
        steps.push(Transition::Unverified {
            reason: format!(
                "{AGENT_EXITED}: the agent process {exit} while it was in flight; not typed again"
            ),
            screen: Vec::new(),
        });
        for step in steps {
            if let Err(e) = store.transition_async(&d.id, step).await {
                tracing::warn!(delivery = %d.id, error = %e, "cannot end a delivery left in flight at the exit");
                break;
            }
        }
    }
}

/// Milliseconds since the epoch, now.
pub fn now() -> Timestamp {
    courier_core::time::Clock::now(&courier_core::time::SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: DeliveryOutcome, written: bool, exit: Option<ExitInfo>) -> DeliveryReport {
        DeliveryReport {
            injected_at: written.then(std::time::Instant::now),
            exit,
            ..DeliveryReport::ended(outcome)
        }
    }

    const CRASH: ExitInfo = ExitInfo {
        code: Some(101),
        signal: None,
    };

    #[test]
    fn in_flight_at_a_crash_ends_unverified_agent_exited_unless_proven() {
        let failed = DeliveryOutcome::Failed {
            reason: "agent process exited with code 101 during injection".into(),
        };
        match outcome_at_exit(&report(failed.clone(), true, Some(CRASH))) {
            DeliveryOutcome::Unverified { reason } => {
                assert!(reason.starts_with("agent_exited:"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        let proven = report(DeliveryOutcome::Verified, true, Some(CRASH));
        assert_eq!(outcome_at_exit(&proven), DeliveryOutcome::Verified);
        // Nothing written: not in flight, back to the queue.
        let untouched = report(failed.clone(), false, Some(CRASH));
        assert_eq!(outcome_at_exit(&untouched), failed);
        assert!(nothing_reached_it(&untouched, false));
        assert!(!nothing_reached_it(
            &report(failed.clone(), true, Some(CRASH)),
            false
        ));
        // A live agent's outcome is its own.
        assert_eq!(outcome_at_exit(&report(failed.clone(), true, None)), failed);
    }

    #[test]
    fn a_crash_is_a_failure_code_or_a_signal() {
        assert!(is_crash(&CRASH));
        assert!(is_crash(&ExitInfo {
            code: None,
            signal: Some(9)
        }));
        assert!(!is_crash(&ExitInfo {
            code: Some(0),
            signal: None
        }));
    }
}
