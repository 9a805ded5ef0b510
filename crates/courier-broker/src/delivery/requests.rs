//! What an agent or a person changes about delivery: read receipts, claims
//! by a hook, delivery modes and flushes.

use std::sync::atomic::Ordering;

use courier_core::event::EventKind;
use courier_core::time::{Clock, SystemClock};
use courier_core::{Delivery, DeliveryChannel, DeliveryId, DeliveryMode, Message};

use crate::agents::registry::Registry;
use crate::error::{BrokerError, ClientError};
use crate::services::Services;

/// Most deliveries one hook call hands over.
pub const HOOK_BATCH: usize = 20;

/// Marks deliveries of `agent` read (all delivered, unread ones when
/// `ids` is `None`). Returns those marked.
pub async fn mark_read(
    services: &Services,
    agent: &str,
    ids: Option<Vec<DeliveryId>>,
) -> Result<Vec<Delivery>, BrokerError> {
    let marked = services.store.mark_read_async(agent, ids).await?;
    crate::metrics::Metrics::add(&services.metrics.deliveries_read, marked.len() as u64);
    Ok(marked)
}

/// Hands `agent`'s oldest queued deliveries to a hook: each becomes
/// `read` through `channel` in one commit, so the terminal task never
/// types it (and one it is typing is not queued, so it is not handed over).
///
/// The agent's mode holds for hooks too: `manual` means held until
/// flushed, whatever the channel, so a hook takes only what a flush let
/// through, using up the same units as the terminal task (a flush of N
/// lets N through, whichever channel takes each). `idle` and `immediate`
/// let a hook take everything: a hook runs at a boundary of the agent's
/// own turn, which is the idle boundary a hook can see.
pub async fn claim_for_hook(
    services: &Services,
    registry: &Registry,
    agent: &str,
    limit: usize,
) -> Result<Vec<(Delivery, Message)>, BrokerError> {
    let Some(record) = services.store.agent_async(agent).await? else {
        return Err(BrokerError::unknown_agent(agent));
    };
    let limit = limit.min(HOOK_BATCH);
    let control = registry.lock().await.get(agent).map(|h| h.control.clone());
    let (allowed, units) = match &control {
        Some(control) => control.take_for_hook(limit),
        // Not running: no flush can be under way (a flush needs a
        // running agent), so the persisted mode decides alone.
        None if record.mode == DeliveryMode::Manual => (0, 0),
        None => (limit, 0),
    };
    if allowed == 0 {
        return Ok(Vec::new());
    }
    let claimed = services
        .store
        .claim_for_async(agent, DeliveryChannel::Hook, allowed)
        .await;
    if let Some(control) = &control {
        let used = claimed.as_ref().map_or(0, Vec::len);
        control.give_back_units(units.saturating_sub(used));
        if used > 0 {
            // The queue moved: the watchdog measures from here.
            control.progressed(SystemClock.now());
        }
    }
    let claimed = claimed?;
    crate::metrics::Metrics::add(&services.metrics.deliveries_read, claimed.len() as u64);
    Ok(claimed)
}

/// Sets an agent's delivery mode, durably; a running agent follows at once.
pub async fn set_mode(
    services: &Services,
    registry: &Registry,
    agent: &str,
    mode: DeliveryMode,
) -> Result<(), BrokerError> {
    if services.store.agent_async(agent).await?.is_none() {
        return Err(BrokerError::unknown_agent(agent));
    }
    services.store.set_mode_async(agent, mode).await?;
    if let Some(handle) = registry.lock().await.get(agent) {
        handle.control.flush.store(0, Ordering::SeqCst);
        handle.control.mode.send_replace(mode);
        handle.wake.notify_one();
    }
    Ok(())
}

/// Lets every delivery queued for `agent` right now through, whatever its
/// mode (`agent_flushed` with the count). Returns the count.
pub async fn flush(
    services: &Services,
    registry: &Registry,
    agent: &str,
) -> Result<u64, BrokerError> {
    let agents = registry.lock().await;
    let handle = agents
        .get(agent)
        .ok_or_else(|| BrokerError::unknown_agent(agent))?;
    let count = services.store.queue_depth_async(agent).await?;
    handle.control.flush.store(count, Ordering::SeqCst);
    handle.wake.notify_one();
    drop(agents);
    let count = count as u64;
    services
        .store
        .append_event_async(EventKind::AgentFlushed {
            name: agent.to_string(),
            count,
        })
        .await?;
    Ok(count)
}

/// Puts a dead letter back in its agent's queue (a delivery forwarded to
/// another host is replayed there).
pub async fn replay(
    services: &Services,
    registry: &Registry,
    id: &DeliveryId,
) -> Result<Delivery, BrokerError> {
    if let Some(host) = services
        .store
        .delivery_async(id)
        .await?
        .and_then(|d| d.forwarded_to)
    {
        return Err(ClientError::OnOtherHost {
            id: id.clone(),
            host,
        }
        .into());
    }
    let (delivery, _) = services.store.replay_async(id).await?;
    registry.wake_one(&delivery.agent).await;
    Ok(delivery)
}
