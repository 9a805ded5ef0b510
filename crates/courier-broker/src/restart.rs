//! Starting an agent again under its restart policy, and declaring it
//! dead when the policy gives up.
//!
//! A restarted agent keeps its name, token (so `COURIER_TOKEN` in files a
//! preset wrote stays valid), delivery mode and queue: its queued
//! deliveries simply wait for the new process to be ready. A dead agent's
//! pending deliveries become dead letters (`dropped`, reason `agent_dead`,
//! replayable), and so does any later send to it, until it is released and
//! spawned again or the broker restarts (which gives it a fresh start).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use courier_core::event::EventKind;
use courier_store::SendReceipt;
use courier_terminal::Terminal;

use crate::agent_ops::Dead;
use crate::broker::Broker;
use crate::error::BrokerError;
use crate::generation::Generation;

/// How long a restart waits for the ended session's host to let go of
/// the agent's socket.
const HOST_GONE_BOUND: Duration = Duration::from_secs(5);

impl Broker {
    /// Starts `name` again if the generation running `session` is still
    /// the current one. `Ok(false)`: nothing to restart (released,
    /// replaced, or the broker is stopping).
    ///
    /// Boxed, and `Send` by its signature: a generation's supervisor calls
    /// it, and it starts the next generation's supervisor, so the compiler
    /// could not infer it through the cycle.
    pub(crate) fn restart_agent<'a>(
        &'a self,
        name: &'a str,
        session: &'a str,
        attempt: u32,
    ) -> Pin<Box<dyn Future<Output = Result<bool, BrokerError>> + Send + 'a>> {
        Box::pin(self.restart_inner(name, session, attempt))
    }

    async fn restart_inner(
        &self,
        name: &str,
        session: &str,
        attempt: u32,
    ) -> Result<bool, BrokerError> {
        let current = |agents: &std::collections::BTreeMap<String, crate::agent::AgentHandle>| {
            agents
                .get(name)
                .filter(|a| a.session.id() == session)
                .map(|a| (a.spec.clone(), *a.control.mode.borrow()))
        };
        if self.inner.shutdown.is_triggered() {
            return Ok(false);
        }
        let Some((spec, mode)) = current(&*self.inner.agents.lock().await) else {
            return Ok(false);
        };
        let token = self
            .inner
            .agent_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned();
        let Some(token) = token else {
            return Ok(false);
        };
        if let Some(hosting) = &self.inner.hosting {
            hosting.wait_free(name, HOST_GONE_BOUND).await;
        }
        tracing::info!(agent = name, attempt, "restarting the agent");
        let (mut handle, supervisor) = self
            .launch_generation(spec, mode, Generation::Restart { token, attempt })
            .await?;
        let mut agents = self.inner.agents.lock().await;
        if self.inner.shutdown.is_triggered() || current(&agents).is_none() {
            // Released or stopped while it started: end what was started,
            // and let its identity and entry go with it (unless another
            // spawn of the same name holds them now).
            if !agents.contains_key(name) {
                self.forget_identity(name);
            }
            drop(agents);
            handle.kill().await;
            return Ok(false);
        }
        self.inner.ops.update(name, |o| o.restarts += 1);
        handle.attach_task(tokio::spawn(supervisor.run()));
        agents.insert(name.to_string(), handle);
        Ok(true)
    }

    /// Lets go of `name`'s token (hash and plain) and its operating state.
    pub(crate) fn forget_identity(&self, name: &str) {
        self.inner
            .identities
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, agent| agent != name);
        self.inner
            .agent_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
        self.inner.ops.forget(name);
    }

    /// Marks `name` dead (`agent_dead`) and makes its pending deliveries
    /// dead letters: nothing waits for an agent that will not come back.
    pub(crate) async fn declare_dead(
        &self,
        name: &str,
        restarts: u32,
        window_s: u64,
        reason: String,
    ) {
        tracing::warn!(agent = name, restarts, %reason, "agent dead: its restart policy gave up");
        let known = self.inner.ops.update(name, |o| {
            o.restarting = None;
            o.dead = Some(Dead {
                since: crate::crash::now(),
                restarts,
                reason: reason.clone(),
            });
        });
        if known.is_none() {
            return; // released meanwhile
        }
        let kind = EventKind::AgentDead {
            name: name.to_string(),
            restarts,
            window_s,
            reason,
        };
        if let Err(e) = self.inner.store.append_event_async(kind).await {
            tracing::warn!(error = %e, "cannot record agent_dead");
        }
        self.end_pending_of(name);
    }

    /// Whether `name` is dead.
    pub fn is_dead(&self, name: &str) -> bool {
        self.inner.ops.get(name).is_some_and(|o| o.dead.is_some())
    }

    /// Dead agents (for `/healthz` and `/v1/status`).
    pub fn dead_agents(&self) -> Vec<(String, Dead)> {
        self.inner.ops.dead()
    }

    /// A send's deliveries to dead agents become dead letters at once.
    pub(crate) fn drop_for_dead(&self, receipt: &SendReceipt) {
        for delivery in &receipt.deliveries {
            if self.is_dead(&delivery.agent) {
                self.end_pending(delivery, "agent_dead");
            }
        }
    }

    fn end_pending_of(&self, name: &str) {
        match self.inner.store.pending() {
            Ok(pending) => {
                for delivery in pending.iter().filter(|d| d.agent == name) {
                    self.end_pending(delivery, "agent_dead");
                }
            }
            Err(e) => {
                tracing::warn!(agent = name, error = %e, "cannot read a dead agent's pending deliveries")
            }
        }
    }
}
