//! What an agent's exit means for its deliveries, in the terminal's terms
//! turned into core's (`courier_core::settle` decides).
//!
//! A pending delivery is never failed because its agent crashed: a queued
//! one waits for the restart (or becomes a dead letter when the agent is
//! dead). One in flight at the exit ends `unverified` with reason
//! `agent_exited` (the process may have taken the text in before it died,
//! so it is never typed again), unless the screen had already proved it
//! (`verified` stays). One of which nothing was written goes back to the
//! queue, without counting an attempt: no process saw it.

use courier_core::DeliveryState;
use courier_core::settle::{Exit, Gone, InjectionOutcome, settle_pending};
use courier_store::Store;
use courier_terminal::{DeliveryOutcome, ExitInfo};

/// The terminal's outcome as core's.
pub fn injection_outcome(outcome: DeliveryOutcome) -> InjectionOutcome {
    match outcome {
        DeliveryOutcome::Verified => InjectionOutcome::Verified,
        DeliveryOutcome::Unverified { reason } => InjectionOutcome::Unverified { reason },
        DeliveryOutcome::Failed { reason } => InjectionOutcome::Failed { reason },
    }
}

/// The terminal's exit as core's.
pub fn exit_of(exit: ExitInfo) -> Exit {
    Exit {
        code: exit.code,
        signal: exit.signal,
    }
}

/// Ends what an exited session still has in flight (its delivery task
/// ended without recording an outcome): `unverified`, `agent_exited`.
pub async fn settle_left_in_flight(store: &Store, agent: &str, session: &str, exit: ExitInfo) {
    let pending = match store.pending_async().await {
        Ok(pending) => pending,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the deliveries left in flight at the exit");
            return;
        }
    };
    let gone = Gone::AgentExited(exit_of(exit));
    for d in pending.into_iter().filter(|d| {
        d.agent == agent
            && d.session.as_deref() == Some(session)
            && matches!(d.state, DeliveryState::Injecting | DeliveryState::Injected)
    }) {
        for step in settle_pending(d.state, gone) {
            if let Err(e) = store.transition_async(&d.id, step).await {
                tracing::warn!(delivery = %d.id, error = %e, "cannot end a delivery left in flight at the exit");
                break;
            }
        }
    }
}
