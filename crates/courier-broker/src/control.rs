//! What an agent or a person changes about delivery: read receipts, claims
//! by a hook, delivery modes and flushes.

use std::sync::atomic::Ordering;

use courier_core::event::EventKind;
use courier_core::{Delivery, DeliveryChannel, DeliveryId, DeliveryMode, Message};

use crate::broker::Broker;
use crate::error::BrokerError;

/// Most deliveries one hook call hands over.
pub const HOOK_BATCH: usize = 20;

impl Broker {
    /// Marks deliveries of `agent` read (all delivered, unread ones when
    /// `ids` is `None`). Returns those marked.
    pub async fn mark_read(
        &self,
        agent: &str,
        ids: Option<Vec<DeliveryId>>,
    ) -> Result<Vec<Delivery>, BrokerError> {
        let marked = self.inner.store.mark_read_async(agent, ids).await?;
        crate::metrics::Metrics::add(&self.inner.metrics.deliveries_read, marked.len() as u64);
        Ok(marked)
    }

    /// Hands `agent`'s oldest queued deliveries to a hook: each becomes
    /// `read` through `channel` in one commit, so the terminal task never
    /// types it (and one it is typing is not queued, so it is not handed over).
    pub async fn claim_for_hook(
        &self,
        agent: &str,
        limit: usize,
    ) -> Result<Vec<(Delivery, Message)>, BrokerError> {
        if self.inner.store.agent(agent)?.is_none() {
            return Err(BrokerError::UnknownAgent(agent.to_string()));
        }
        let claimed = self
            .inner
            .store
            .claim_for_async(agent, DeliveryChannel::Hook, limit.min(HOOK_BATCH))
            .await?;
        crate::metrics::Metrics::add(&self.inner.metrics.deliveries_read, claimed.len() as u64);
        Ok(claimed)
    }

    /// Sets an agent's delivery mode, durably; a running agent follows at once.
    pub async fn set_mode(&self, agent: &str, mode: DeliveryMode) -> Result<(), BrokerError> {
        if self.inner.store.agent(agent)?.is_none() {
            return Err(BrokerError::UnknownAgent(agent.to_string()));
        }
        self.inner.store.set_mode(agent, mode)?;
        if let Some(handle) = self.inner.agents.lock().await.get(agent) {
            handle.control.flush.store(0, Ordering::SeqCst);
            handle.control.mode.send_replace(mode);
            handle.wake.notify_one();
        }
        Ok(())
    }

    /// Lets every delivery queued for `agent` right now through, whatever its
    /// mode (`agent_flushed` with the count). Returns the count.
    pub async fn flush(&self, agent: &str) -> Result<u64, BrokerError> {
        let agents = self.inner.agents.lock().await;
        let handle = agents
            .get(agent)
            .ok_or_else(|| BrokerError::UnknownAgent(agent.to_string()))?;
        let count = self.inner.store.queue_depth(agent)?;
        handle.control.flush.store(count, Ordering::SeqCst);
        handle.wake.notify_one();
        drop(agents);
        let count = count as u64;
        self.inner.store.append_event(EventKind::AgentFlushed {
            name: agent.to_string(),
            count,
        })?;
        Ok(count)
    }
}
