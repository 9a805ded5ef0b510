//! Deliveries of an agent that is gone for good (released, or dead: its
//! restart policy gave up), so none waits silently for nobody: one that may
//! have been submitted (`injected`) ends unverified and is never typed
//! again; any other becomes a dead letter (`dropped`, replayable), passing
//! through the queue if it was being typed.

use courier_core::Delivery;
use courier_core::settle::{Gone, settle_pending};
use courier_store::{SendReceipt, Store};

use crate::agents::ops::OpsBoard;

/// Ends one pending delivery of an agent that is gone (`gone`: released
/// or dead), as core's `settle_pending` says.
pub async fn end_pending(store: &Store, delivery: &Delivery, gone: Gone) {
    for step in settle_pending(delivery.state, gone) {
        if let Err(e) = store.transition_async(&delivery.id, step).await {
            tracing::warn!(delivery = %delivery.id, error = %e, ?gone, "cannot end a pending delivery of an agent that is gone");
            break;
        }
    }
}

/// Ends every pending delivery of `name` (`gone`).
pub async fn end_pending_of(store: &Store, name: &str, gone: Gone) {
    match store.pending_async().await {
        Ok(pending) => {
            for delivery in pending.iter().filter(|d| d.agent == name) {
                end_pending(store, delivery, gone).await;
            }
        }
        Err(e) => {
            tracing::warn!(agent = name, error = %e, ?gone, "cannot read the pending deliveries of an agent that is gone")
        }
    }
}

/// A send's deliveries to dead agents become dead letters at once.
pub async fn drop_for_dead(store: &Store, ops: &OpsBoard, receipt: &SendReceipt) {
    for delivery in &receipt.deliveries {
        if ops.is_dead(&delivery.agent) {
            end_pending(store, delivery, Gone::AgentDead).await;
        }
    }
}
