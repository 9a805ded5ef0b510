//! Deliveries of an agent that is gone for good (released, or dead: its
//! restart policy gave up), so none waits silently for nobody: one that may
//! have been submitted (`injected`) ends unverified and is never typed
//! again; any other becomes a dead letter (`dropped`, replayable), passing
//! through the queue if it was being typed.

use courier_core::delivery::Transition;
use courier_core::{Delivery, DeliveryState};
use courier_store::{SendReceipt, Store};

use crate::agents::ops::OpsBoard;

/// Why an agent's deliveries end: `agent_released` or `agent_dead`.
pub const AGENT_RELEASED: &str = "agent_released";
pub const AGENT_DEAD: &str = "agent_dead";

/// Ends one pending delivery of an agent that is gone (`cause`).
pub fn end_pending(store: &Store, delivery: &Delivery, cause: &str) {
    let result = match delivery.state {
        DeliveryState::Injected => store
            .transition(
                &delivery.id,
                Transition::Unverified {
                    reason: format!("{cause}: gone while its Enter may have been sent"),
                    screen: Vec::new(),
                },
            )
            .map(|_| ()),
        DeliveryState::Injecting => store
            .transition(
                &delivery.id,
                Transition::Requeue {
                    reason: format!("{cause} before Enter"),
                },
            )
            .and_then(|_| {
                store.transition(
                    &delivery.id,
                    Transition::Drop {
                        reason: cause.to_string(),
                    },
                )
            })
            .map(|_| ()),
        _ => store
            .transition(
                &delivery.id,
                Transition::Drop {
                    reason: cause.to_string(),
                },
            )
            .map(|_| ()),
    };
    if let Err(e) = result {
        tracing::warn!(delivery = %delivery.id, error = %e, "cannot end a pending delivery of an agent that is gone ({cause})");
    }
}

/// Ends every pending delivery of `name` (`cause`).
pub fn end_pending_of(store: &Store, name: &str, cause: &str) {
    match store.pending() {
        Ok(pending) => {
            for delivery in pending.iter().filter(|d| d.agent == name) {
                end_pending(store, delivery, cause);
            }
        }
        Err(e) => {
            tracing::warn!(agent = name, error = %e, "cannot read the pending deliveries of an agent that is gone ({cause})")
        }
    }
}

/// A send's deliveries to dead agents become dead letters at once.
pub fn drop_for_dead(store: &Store, ops: &OpsBoard, receipt: &SendReceipt) {
    for delivery in &receipt.deliveries {
        if ops.is_dead(&delivery.agent) {
            end_pending(store, delivery, AGENT_DEAD);
        }
    }
}
