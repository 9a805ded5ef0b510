//! The broker: the store, the running agents, the event bus, and the
//! operations every entry point (HTTP API, CLI, later MCP) goes through.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use courier_core::delivery::Transition;
use courier_core::event::EventKind;
use courier_core::recipient::{validate_agent_name, validate_channel_name};
use courier_core::{CoreError, DeliveryId, DeliveryMode, DeliveryState, NewMessage};
use courier_store::{AgentRecord, SendOutcome, SendReceipt, Store, StoreOptions};
use courier_terminal::host::RemoteSession;
use courier_terminal::{Session, SpawnSpec, Terminal};
use tokio::sync::Mutex;

use crate::agent::{AgentHandle, AgentStatus};
use crate::agent_spec::AgentSpec;
use crate::agent_terminal::AgentTerminal;
use crate::bus::EventBus;
use crate::config::{BrokerConfig, Durability};
use crate::error::{BrokerError, ClientError};
use crate::hosting::Hosting;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::state_dir::StateDir;

/// A shared handle to the running broker.
#[derive(Clone)]
pub struct Broker {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: BrokerConfig,
    pub(crate) store: Arc<Store>,
    bus: EventBus,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) shutdown: Shutdown,
    pub(crate) agents: Mutex<BTreeMap<String, AgentHandle>>,
    pub(crate) watchdog: crate::watchdog::Watchdog,
    /// Restart policies, restarts, dead and done agents, interrupt keys.
    pub(crate) ops: crate::agent_ops::OpsBoard,
    /// SHA-256 of agent tokens → agent names: an agent may act only as
    /// itself. Only the hash is kept; a token is looked up by its hash.
    pub(crate) identities: std::sync::Mutex<HashMap<String, String>>,
    /// Agent name → its token, in memory only: a restart hands the new
    /// process the same COURIER_TOKEN (its session host holds it anyway).
    pub(crate) agent_tokens: std::sync::Mutex<HashMap<String, String>>,
    /// Observer tokens the owner issued (their hashes).
    issued: crate::issued::IssuedTokens,
    /// Names being spawned right now, so two concurrent spawns of one name
    /// cannot both start a process (the agents map learns a name only once
    /// its process runs).
    spawning: std::sync::Mutex<HashSet<String>>,
    /// Starts agents under session hosts (durable brokers), if set.
    pub(crate) hosting: Option<Hosting>,
    /// Sessions a previous broker left running, until their agents resume.
    survivors: std::sync::Mutex<HashMap<String, RemoteSession>>,
    /// The API's URL, given to agents as `COURIER_URL`.
    pub(crate) public_url: OnceLock<String>,
    /// The workspace this broker joined (`courier up --nats`), if any.
    federation: OnceLock<crate::federation::Federation>,
    started: Instant,
    _state_dir: Option<StateDir>,
}

impl Broker {
    /// Opens the store, resolves deliveries left in flight by the previous
    /// run, and spawns the persisted agents again.
    pub async fn start(config: BrokerConfig) -> Result<Broker, BrokerError> {
        let state_dir = match config.state_dir() {
            Some(dir) => Some(StateDir::acquire(dir)?),
            None => None,
        };
        let options = StoreOptions {
            queue_cap: config.queue_cap,
            max_body_bytes: config.max_body_bytes,
            ..StoreOptions::default()
        };
        let store = match (&config.durability, &state_dir) {
            (Durability::Durable { .. }, Some(dir)) => {
                Store::open(dir.private_db_path()?, options)?
            }
            _ => Store::open_in_memory(options)?,
        };
        let bus = EventBus::start(&store)?;
        let store = Arc::new(store);
        let issued = crate::issued::IssuedTokens::load(store.clone())?;
        let hosting = match (&config.durability, &state_dir, &config.session_host) {
            (Durability::Durable { .. }, Some(dir), Some(program)) => Some(
                Hosting::new(
                    dir.path(),
                    program.clone(),
                    config.orphan_timeout,
                    config.stream_buffer_chunks,
                )
                .map_err(|source| crate::error::Fault::SessionsDir {
                    dir: dir.path().to_path_buf(),
                    source,
                })?,
            ),
            _ => None,
        };
        let survivors = match &hosting {
            Some(hosting) => crate::recovery::reattach_all(hosting, &store).await?,
            None => HashMap::new(),
        };
        let requeued = crate::recovery::resolve_in_flight(&store, &survivors)?;
        let pending = store.pending_count()? as u64;
        store.append_event(EventKind::BrokerStarted {
            version: env!("CARGO_PKG_VERSION").to_string(),
            pending,
        })?;
        tracing::info!(pending, requeued, "broker started");
        let broker = Broker {
            inner: Arc::new(Inner {
                config,
                store,
                issued,
                bus,
                metrics: Arc::new(Metrics::default()),
                shutdown: Shutdown::new(),
                agents: Mutex::new(BTreeMap::new()),
                identities: std::sync::Mutex::new(HashMap::new()),
                agent_tokens: std::sync::Mutex::new(HashMap::new()),
                spawning: std::sync::Mutex::new(HashSet::new()),
                hosting,
                survivors: std::sync::Mutex::new(survivors),
                public_url: OnceLock::new(),
                federation: OnceLock::new(),
                started: Instant::now(),
                _state_dir: state_dir,
                watchdog: crate::watchdog::Watchdog::default(),
                ops: crate::agent_ops::OpsBoard::default(),
            }),
        };
        tokio::spawn(crate::watchdog::run(broker.clone()));
        let (retention, every) = (broker.config().retention, broker.config().prune_every);
        tokio::spawn(crate::pruner::run(broker.clone(), retention, every));
        Ok(broker)
    }

    /// Spawns the persisted agents again (after a restart). Called once the
    /// API is listening, so agents get its URL.
    pub async fn resume_agents(&self) -> Result<(), BrokerError> {
        let broker = self;
        for record in broker.inner.store.agents()? {
            match serde_json::from_value::<AgentSpec>(record.spec.clone()) {
                Ok(spec) => {
                    if let Err(e) = broker.start_agent(spec, record.mode).await {
                        tracing::warn!(agent = %record.name, error = %e, "cannot respawn agent");
                    }
                }
                Err(e) => {
                    tracing::warn!(agent = %record.name, error = %e, "stored agent spec unreadable")
                }
            }
        }
        // A surviving session whose agent could not resume has no owner.
        let orphans: Vec<RemoteSession> = std::mem::take(&mut *self.survivors())
            .into_values()
            .collect();
        for orphan in orphans {
            tracing::warn!(agent = %orphan.agent(), "ending a surviving session that did not resume");
            orphan.kill().await;
        }
        Ok(())
    }

    /// Joins the configured workspace (if any): called once the agents
    /// resumed, so the directory learns this host's agents as they are.
    pub async fn join_workspace(&self) -> Result<(), BrokerError> {
        let Some(config) = self.inner.config.federation.clone() else {
            return Ok(());
        };
        let federation = crate::federation::Federation::start(self, config).await?;
        let _ = self.inner.federation.set(federation);
        Ok(())
    }

    /// The workspace this broker joined, if any.
    pub fn federation(&self) -> Option<&crate::federation::Federation> {
        self.inner.federation.get()
    }

    /// Wakes the delivery loops of these agents (those of this host).
    pub(crate) async fn wake_agents(&self, names: &[String]) {
        let agents = self.inner.agents.lock().await;
        for name in names {
            if let Some(agent) = agents.get(name) {
                agent.wake.notify_one();
            }
        }
    }

    pub(crate) fn survivors(&self) -> std::sync::MutexGuard<'_, HashMap<String, RemoteSession>> {
        self.inner
            .survivors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new terminal for `spec`: under a session host when this broker has
    /// them (so the agent outlives a crash), else a PTY of this process.
    pub(crate) async fn new_terminal(
        &self,
        spec: &SpawnSpec,
    ) -> Result<AgentTerminal, BrokerError> {
        let chunks = self.inner.config.stream_buffer_chunks;
        match &self.inner.hosting {
            Some(hosting) if hosting.fits(&spec.agent) => {
                Ok(AgentTerminal::Hosted(Box::new(hosting.spawn(spec).await?)))
            }
            Some(hosting) => {
                tracing::warn!(
                    agent = %spec.agent,
                    socket = %hosting.socket(&spec.agent).display(),
                    "socket path too long for a session host; this agent will not survive a broker crash"
                );
                Ok(AgentTerminal::Local(Session::spawn_with_output(
                    spec, chunks,
                )?))
            }
            None => Ok(AgentTerminal::Local(Session::spawn_with_output(
                spec, chunks,
            )?)),
        }
    }

    /// Sets the URL agents are told to use (`COURIER_URL`).
    pub fn set_public_url(&self, url: &str) {
        let _ = self.inner.public_url.set(url.to_string());
    }

    /// The agent a token belongs to, if it is an agent's token.
    pub fn agent_for_token(&self, token: &str) -> Option<String> {
        let identities = self
            .inner
            .identities
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        identities.get(&crate::token::token_hash(token)).cloned()
    }

    /// The tokens the owner issued (observers).
    pub fn issued_tokens(&self) -> &crate::issued::IssuedTokens {
        &self.inner.issued
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The store, owned, for work moved off the runtime (`spawn_blocking`).
    pub fn store_handle(&self) -> Arc<Store> {
        self.inner.store.clone()
    }

    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn shutdown_signal(&self) -> &Shutdown {
        &self.inner.shutdown
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.inner.config
    }

    /// Deliveries the watchdog holds stuck right now.
    pub fn stuck(&self) -> Vec<crate::watchdog::Stuck> {
        self.inner.watchdog.stuck()
    }

    pub fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }

    /// Commits a send durably, then wakes each recipient's task. Every
    /// entry point sends through here, so the ACL (`--acl`) judges every
    /// send: one refused as a whole is an `acl_denied` error with nothing
    /// stored but its `message_refused` event; recipients of a fan-out the
    /// rules refuse are in the receipt's `refused`.
    pub async fn send(&self, message: NewMessage) -> Result<SendReceipt, BrokerError> {
        if self.inner.shutdown.is_triggered() {
            return Err(BrokerError::shutting_down());
        }
        let acl = self.inner.config.acl.clone();
        let receipt = match self.inner.store.send_under_async(message, acl).await? {
            SendOutcome::Sent(receipt) => receipt,
            SendOutcome::Refused {
                from,
                to,
                rule,
                refused,
                ..
            } => {
                Metrics::inc(&self.inner.metrics.messages_refused);
                tracing::info!(%from, %to, %rule, "the ACL refused a send");
                return Err(BrokerError::from(CoreError::AclDenied {
                    from,
                    to: to.to_string(),
                    rule,
                    refused,
                }));
            }
        };
        let m = &self.inner.metrics;
        if receipt.duplicate {
            Metrics::inc(&m.messages_duplicate);
        } else {
            Metrics::inc(&m.messages_accepted);
            Metrics::add(&m.deliveries_dropped, receipt.dropped.len() as u64);
        }
        if !receipt.duplicate {
            self.drop_for_dead(&receipt);
        }
        let agents = self.inner.agents.lock().await;
        let mut remote = Vec::new();
        for delivery in &receipt.deliveries {
            match agents.get(&delivery.agent) {
                Some(agent) => agent.wake.notify_one(),
                None if delivery.state == DeliveryState::Queued => remote.push(delivery.clone()),
                None => {}
            }
        }
        drop(agents);
        if let (false, Some(federation)) =
            (remote.is_empty() || receipt.duplicate, self.federation())
        {
            federation.forward(&receipt.message, remote);
        }
        Ok(receipt)
    }

    /// Starts an agent, persists its spec, and joins its channels.
    pub async fn spawn(&self, spec: AgentSpec) -> Result<AgentStatus, BrokerError> {
        self.spawn_keyed(spec, None).await
    }

    /// [`Broker::spawn`], with its initial task (if any) committed in the
    /// same transaction as the agent, keyed by `spawn_key` (the request's
    /// `Idempotency-Key`; else unique to this spawn).
    pub async fn spawn_keyed(
        &self,
        spec: AgentSpec,
        spawn_key: Option<String>,
    ) -> Result<AgentStatus, BrokerError> {
        validate_agent_name(&spec.name)?;
        match (&spec.preset, spec.command.is_empty()) {
            (None, true) => {
                return Err(ClientError::InvalidCombination {
                    fields: &["command", "preset"],
                    problem: "give a command or a preset (claude, codex, gemini, opencode, aider, shell)",
                }
                .into());
            }
            (Some(_), false) => {
                return Err(ClientError::InvalidCombination {
                    fields: &["command", "preset"],
                    problem: "give either a command or a preset, not both",
                }
                .into());
            }
            _ => {}
        }
        // Reserve the name first, then look at the running agents: a second
        // spawn either finds the reservation or, once it is gone, the agent.
        let Some(_reserved) = NameReservation::take(&self.inner.spawning, &spec.name) else {
            return Err(BrokerError::agent_exists(spec.name));
        };
        if self.inner.agents.lock().await.contains_key(&spec.name) {
            return Err(BrokerError::agent_exists(spec.name));
        }
        let mut spec = spec;
        spec.channels = spec
            .channels
            .iter()
            .map(|c| validate_channel_name(c))
            .collect::<Result<_, _>>()?;
        for channel in &spec.channels {
            crate::acl_file::judge_join(&self.inner.config.acl, &spec.name, channel)?;
        }
        let value = serde_json::to_value(&spec).map_err(|source| crate::error::Fault::Encode {
            what: "the agent spec",
            source,
        })?;
        let task = match &spec.task {
            Some(text) => {
                let key = match spawn_key {
                    Some(key) => key,
                    None => crate::token::new_token()
                        .map_err(|e| BrokerError::no_randomness("the spawn key", e))?,
                };
                let message = crate::spawn_extras::task_message(&spec.name, text, &key);
                message.validate(self.inner.config.max_body_bytes)?;
                Some(message)
            }
            None => None,
        };
        // In a workspace the name must be free on every host.
        if let Some(federation) = self.federation() {
            federation.claim(&spec.name, &spec.channels).await?;
        }
        // Start first: a spec that cannot start (CLI not installed) is not
        // persisted, so a restart does not retry it forever.
        let status = match self
            .start_agent(spec.clone(), DeliveryMode::default())
            .await
        {
            Ok(status) => status,
            Err(e) => {
                if let Some(federation) = self.federation() {
                    federation.release(&spec.name).await;
                }
                return Err(e);
            }
        };
        // The agent, its channels and its task in one commit: a crash
        // after it keeps all three, before it none.
        let persisted = self
            .inner
            .store
            .register_agent_async(
                AgentRecord::new(&spec.name, value),
                spec.channels.clone(),
                task,
            )
            .await;
        if let Err(e) = persisted {
            if let Some(mut handle) = self.inner.agents.lock().await.remove(&spec.name) {
                handle.kill().await;
            }
            self.inner.ops.forget(&spec.name);
            if let Some(federation) = self.federation() {
                federation.release(&spec.name).await;
            }
            return Err(e.into());
        }
        if let Some(agent) = self.inner.agents.lock().await.get(&spec.name) {
            agent.wake.notify_one();
        }
        Ok(status)
    }

    async fn start_agent(
        &self,
        spec: AgentSpec,
        mode: DeliveryMode,
    ) -> Result<AgentStatus, BrokerError> {
        let survivor = self.survivors().remove(&spec.name);
        let name = spec.name.clone();
        let (mut handle, supervisor) = self
            .launch_generation(
                spec,
                mode,
                crate::generation::Generation::Start {
                    survivor: survivor.map(Box::new),
                },
            )
            .await?;
        let status = handle.status.borrow().clone();
        let mut agents = self.inner.agents.lock().await;
        // Supervised once it is in the map, so a restart finds it there.
        handle.attach_task(tokio::spawn(supervisor.run()));
        agents.insert(name, handle);
        Ok(status)
    }

    /// Ends an agent and its processes; its queued deliveries are dropped
    /// (dead letters, replayable) so none waits silently for nobody.
    pub async fn release(&self, name: &str) -> Result<(), BrokerError> {
        let handle = self.inner.agents.lock().await.remove(name);
        let known = self.inner.store.agent(name)?.is_some();
        if handle.is_none() && !known {
            return Err(BrokerError::unknown_agent(name));
        }
        if let Some(mut handle) = handle {
            handle.kill().await;
        }
        self.forget_identity(name);
        for delivery in self.inner.store.pending()? {
            if delivery.agent == name {
                self.end_pending(&delivery, "agent_released");
            }
        }
        self.inner.store.remove_agent(name)?;
        self.inner.store.append_event(EventKind::AgentReleased {
            name: name.to_string(),
        })?;
        if let Some(federation) = self.federation() {
            federation.release(name).await;
        }
        Ok(())
    }

    /// Ends one pending delivery of an agent that is gone for good
    /// (`cause`: `agent_released`, `agent_dead`), so none waits for nobody:
    /// one that may have been submitted (`injected`) is unverified, never
    /// typed again; any other becomes a dead letter (`dropped`,
    /// replayable), passing through the queue if it was being typed.
    pub(crate) fn end_pending(&self, delivery: &courier_core::Delivery, cause: &str) {
        let store = &self.inner.store;
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

    /// Every agent: spec, status (with the framing a message would get
    /// now, from the live reader of its terminal), pid, queue depth
    /// (`None` when the store cannot count it: the listing still answers,
    /// and says it does not know rather than "0 queued").
    pub async fn agents(&self) -> Vec<(AgentSpec, AgentStatus, u32, Option<usize>)> {
        let listed: Vec<_> = {
            let agents = self.inner.agents.lock().await;
            agents
                .values()
                .map(|a| {
                    let depth = match self.inner.store.queue_depth(&a.spec.name) {
                        Ok(depth) => Some(depth),
                        Err(e) => {
                            tracing::warn!(agent = %a.spec.name, error = %e, "cannot count the agent's queue; listed as unknown");
                            None
                        }
                    };
                    (
                        a.spec.clone(),
                        a.status.borrow().clone(),
                        a.session.pid(),
                        depth,
                        a.framing.clone(),
                    )
                })
                .collect()
        };
        // One scan of /proc for all of them, off the async threads.
        let policies: Vec<_> = listed
            .iter()
            .map(|(.., pid, _, f)| (f.clone(), *pid))
            .collect();
        let decisions = tokio::task::spawn_blocking(move || {
            crate::framing_policy::FramingPolicy::decide_each(&policies)
        })
        .await
        .unwrap_or_default();
        let mut decisions = decisions.into_iter();
        listed
            .into_iter()
            .map(|(spec, mut status, pid, depth, _)| {
                let decision = decisions.next();
                if status.exited.is_none() {
                    status.framing = decision;
                }
                (spec, status, pid, depth)
            })
            .collect()
    }

    /// Runs `f` on an agent's session.
    pub async fn with_session<R>(
        &self,
        name: &str,
        f: impl FnOnce(&Arc<AgentTerminal>) -> R,
    ) -> Result<R, BrokerError> {
        let agents = self.inner.agents.lock().await;
        let agent = agents
            .get(name)
            .ok_or_else(|| BrokerError::unknown_agent(name))?;
        Ok(f(&agent.session))
    }

    pub async fn replay(&self, id: &DeliveryId) -> Result<courier_core::Delivery, BrokerError> {
        if let Some(host) = self.inner.store.delivery(id)?.and_then(|d| d.forwarded_to) {
            return Err(ClientError::OnOtherHost {
                id: id.clone(),
                host,
            }
            .into());
        }
        let (delivery, _) = self.inner.store.replay_async(id).await?;
        if let Some(agent) = self.inner.agents.lock().await.get(&delivery.agent) {
            agent.wake.notify_one();
        }
        Ok(delivery)
    }

    /// Graceful stop: no new sends, in-flight deliveries finish within the
    /// grace period, every agent's process group ends, pending deliveries stay
    /// in the store for the next start.
    pub async fn stop(&self) {
        self.inner.shutdown.trigger();
        if let Some(federation) = self.federation() {
            federation.leave().await;
        }
        let grace = self.inner.config.shutdown_grace;
        let mut agents = std::mem::take(&mut *self.inner.agents.lock().await);
        // All at once: the grace bounds the whole stop, not each agent.
        futures_util::future::join_all(agents.values_mut().map(|a| a.stop(grace))).await;
        futures_util::future::join_all(agents.values_mut().map(|a| a.kill())).await;
        let pending = match self.inner.store.pending_count() {
            Ok(pending) => pending as u64,
            Err(e) => {
                // Not "nothing pending": whatever is pending stays in the
                // store, and no broker_stopping event claims a count.
                tracing::warn!(error = %e, "broker stopped; cannot count the pending deliveries (they stay in the store)");
                return;
            }
        };
        if let Err(e) = self
            .inner
            .store
            .append_event(EventKind::BrokerStopping { pending })
        {
            tracing::warn!(error = %e, pending, "broker_stopping not recorded");
        }
        match (&self.inner.config.durability, pending) {
            (_, 0) => tracing::info!("broker stopped; nothing pending"),
            (Durability::Durable { .. }, n) => {
                tracing::warn!(
                    pending = n,
                    "broker stopped with pending deliveries; they are kept and redelivered on the next start"
                )
            }
            (Durability::Ephemeral { .. }, n) => {
                tracing::warn!(
                    pending = n,
                    "ephemeral broker stopped: {n} pending deliveries are lost"
                )
            }
        }
    }
}

/// A name held while its agent is being spawned; released on drop.
struct NameReservation<'a> {
    names: &'a std::sync::Mutex<HashSet<String>>,
    name: String,
}

impl<'a> NameReservation<'a> {
    /// `None` when another spawn holds the name.
    fn take(names: &'a std::sync::Mutex<HashSet<String>>, name: &str) -> Option<Self> {
        let mut held = names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.insert(name.to_string()).then(|| NameReservation {
            names,
            name: name.to_string(),
        })
    }
}

impl Drop for NameReservation<'_> {
    fn drop(&mut self) {
        self.names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.name);
    }
}
