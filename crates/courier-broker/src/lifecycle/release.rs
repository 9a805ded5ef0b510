//! Releasing an agent: its processes end, its identity goes, its pending
//! deliveries are dropped (dead letters, replayable) so none waits silently
//! for nobody, and its record and name are let go.

use courier_core::event::EventKind;
use courier_core::settle::Gone;

use super::state::Lifecycle;
use crate::delivery::ended::end_pending;
use crate::error::BrokerError;

/// Ends agent `name` and its processes.
pub async fn release(lifecycle: &Lifecycle, name: &str) -> Result<(), BrokerError> {
    let store = &lifecycle.services.store;
    let handle = lifecycle.registry.remove(name).await;
    let known = store.agent_async(name).await?.is_some();
    if handle.is_none() && !known {
        return Err(BrokerError::unknown_agent(name));
    }
    if let Some(mut handle) = handle {
        handle.kill().await;
    }
    lifecycle.forget_identity(name);
    for delivery in store.pending_async().await? {
        if delivery.agent == name {
            end_pending(store, &delivery, Gone::AgentReleased).await;
        }
    }
    store.remove_agent_async(name).await?;
    store
        .append_event_async(EventKind::AgentReleased {
            name: name.to_string(),
        })
        .await?;
    if let Some(federation) = lifecycle.federation() {
        federation.release(name).await;
    }
    Ok(())
}
