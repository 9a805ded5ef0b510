//! The facade: the [`Broker`] handle every entry point (HTTP API, CLI,
//! MCP through the API) goes through. It assembles the components at start
//! and hands each call to the one that owns it; it decides nothing itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use courier_core::event::EventKind;
use courier_core::{DeliveryId, NewMessage};
use courier_store::{SendReceipt, Store, StoreOptions};
use courier_terminal::host::RemoteSession;

use crate::agents::ops::{AgentOps, Dead};
use crate::agents::{AgentStatus, PersonInput, Registry};
use crate::auth::issued::IssuedTokens;
use crate::bus::EventBus;
use crate::config::{BrokerConfig, Durability};
use crate::delivery::{Stuck, Watchdog};
use crate::error::{BrokerError, Fault};
use crate::federation::Federation;
use crate::federation::local::Local;
use crate::lifecycle::Lifecycle;
use crate::metrics::Metrics;
use crate::services::Services;
use crate::shutdown::Shutdown;
use crate::spec::AgentSpec;
use crate::state_dir::StateDir;
use crate::terminals::{AgentTerminal, Hosting, TerminalOpener};

/// A shared handle to the running broker.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    lifecycle: Lifecycle,
    /// Observer tokens the owner issued (their hashes).
    issued: IssuedTokens,
    watchdog: Arc<Watchdog>,
    started: Instant,
    _state_dir: Option<StateDir>,
}

/// The store a configuration asks for: the state directory's file when
/// durable, else in memory.
fn open_store(config: &BrokerConfig, state_dir: Option<&StateDir>) -> Result<Store, BrokerError> {
    let options = StoreOptions {
        queue_cap: config.queue_cap,
        max_body_bytes: config.max_body_bytes,
        ..StoreOptions::default()
    };
    Ok(match (&config.durability, state_dir) {
        (Durability::Durable { .. }, Some(dir)) => Store::open(dir.private_db_path()?, options)?,
        _ => Store::open_in_memory(options)?,
    })
}

/// Session hosts, when the broker is durable and has the program for them.
fn hosting(
    config: &BrokerConfig,
    state_dir: Option<&StateDir>,
) -> Result<Option<Hosting>, BrokerError> {
    let (Durability::Durable { .. }, Some(dir), Some(program)) =
        (&config.durability, state_dir, &config.session_host)
    else {
        return Ok(None);
    };
    Hosting::new(
        dir.path(),
        program.clone(),
        config.orphan_timeout,
        config.stream_buffer_chunks,
    )
    .map(Some)
    .map_err(|source| {
        Fault::SessionsDir {
            dir: dir.path().to_path_buf(),
            source,
        }
        .into()
    })
}

impl Broker {
    /// Opens the store, resolves deliveries left in flight by the previous
    /// run, and starts the background tasks. The persisted agents come back
    /// with [`Broker::resume_agents`], once the API listens.
    pub async fn start(config: BrokerConfig) -> Result<Broker, BrokerError> {
        let state_dir = config
            .state_dir()
            .map(|dir| StateDir::acquire(dir))
            .transpose()?;
        let store = open_store(&config, state_dir.as_ref())?;
        let bus = EventBus::start(&store).await?;
        let store = Arc::new(store);
        let issued = IssuedTokens::load(store.clone()).await?;
        let hosting = hosting(&config, state_dir.as_ref())?;
        let survivors: HashMap<String, RemoteSession> = match &hosting {
            Some(hosting) => crate::terminals::reattach::reattach_all(hosting, &store).await?,
            None => HashMap::new(),
        };
        let requeued = crate::delivery::recovery::resolve_in_flight(&store, &survivors).await?;
        let pending = store.pending_count_async().await? as u64;
        store
            .append_event_async(EventKind::BrokerStarted {
                version: env!("CARGO_PKG_VERSION").to_string(),
                pending,
            })
            .await?;
        tracing::info!(pending, requeued, "broker started");
        let terminals = TerminalOpener::new(hosting, config.stream_buffer_chunks, survivors);
        let services = Services {
            config: Arc::new(config),
            store,
            bus,
            metrics: Arc::new(Metrics::default()),
            shutdown: Shutdown::new(),
        };
        let registry = Arc::new(Registry::default());
        let (lifecycle, restarts) =
            Lifecycle::new(services.clone(), registry.clone(), Arc::new(terminals));
        let watchdog = Arc::new(Watchdog::default());
        tokio::spawn(crate::lifecycle::restart::serve(
            lifecycle.clone(),
            restarts,
        ));
        tokio::spawn(crate::delivery::watchdog::run(
            services.clone(),
            registry,
            watchdog.clone(),
        ));
        let (retention, every) = (services.config.retention, services.config.prune_every);
        tokio::spawn(crate::pruner::run(services.clone(), retention, every));
        Ok(Broker {
            inner: Arc::new(Inner {
                services,
                lifecycle,
                issued,
                watchdog,
                started: Instant::now(),
                _state_dir: state_dir,
            }),
        })
    }

    fn services(&self) -> &Services {
        &self.inner.services
    }

    fn lifecycle(&self) -> &Lifecycle {
        &self.inner.lifecycle
    }

    fn registry(&self) -> &Registry {
        &self.inner.lifecycle.registry
    }

    /// Spawns the persisted agents again (after a restart). Called once the
    /// API is listening, so agents get its URL.
    pub async fn resume_agents(&self) -> Result<(), BrokerError> {
        crate::lifecycle::spawn::respawn_persisted(self.lifecycle()).await
    }

    /// Joins the configured workspace (if any): called once the agents
    /// resumed, so the directory learns this host's agents as they are.
    pub async fn join_workspace(&self) -> Result<(), BrokerError> {
        let Some(config) = self.config().federation.clone() else {
            return Ok(());
        };
        let local = Local {
            services: self.services().clone(),
            registry: self.lifecycle().registry.clone(),
        };
        let federation = Federation::start(&local, config).await?;
        let _ = self.lifecycle().federation.set(federation);
        Ok(())
    }

    /// The workspace this broker joined, if any.
    pub fn federation(&self) -> Option<&Federation> {
        self.lifecycle().federation()
    }

    /// Sets the URL agents are told to use (`COURIER_URL`).
    pub fn set_public_url(&self, url: &str) {
        let _ = self.lifecycle().public_url.set(url.to_string());
    }

    /// The agent a token belongs to, if it is an agent's token.
    pub fn agent_for_token(&self, token: &str) -> Option<String> {
        self.lifecycle().identities.agent_for_token(token)
    }

    /// The tokens the owner issued (observers).
    pub fn issued_tokens(&self) -> &IssuedTokens {
        &self.inner.issued
    }

    pub fn store(&self) -> &Store {
        &self.services().store
    }

    /// The store, owned: for tasks that outlive a borrow of the broker.
    pub fn store_handle(&self) -> Arc<Store> {
        self.services().store.clone()
    }

    pub fn bus(&self) -> &EventBus {
        &self.services().bus
    }

    pub fn metrics(&self) -> &Metrics {
        &self.services().metrics
    }

    pub fn shutdown_signal(&self) -> &Shutdown {
        &self.services().shutdown
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.services().config
    }

    /// Deliveries the watchdog holds stuck right now.
    pub fn stuck(&self) -> Vec<Stuck> {
        self.inner.watchdog.stuck()
    }

    pub fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }

    /// Commits a send durably, then wakes each recipient's task (see
    /// `delivery/send.rs`).
    pub async fn send(&self, message: NewMessage) -> Result<SendReceipt, BrokerError> {
        let lifecycle = self.lifecycle();
        crate::delivery::send::send(
            self.services(),
            &lifecycle.registry,
            &lifecycle.ops,
            self.federation(),
            message,
        )
        .await
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
        crate::lifecycle::spawn::spawn(self.lifecycle(), spec, spawn_key).await
    }

    /// Ends an agent and its processes; its queued deliveries are dropped
    /// (dead letters, replayable) so none waits silently for nobody.
    pub async fn release(&self, name: &str) -> Result<(), BrokerError> {
        crate::lifecycle::release::release(self.lifecycle(), name).await
    }

    /// Every agent: spec, status (with the framing a message would get
    /// now, from the live reader of its terminal), pid, queue depth
    /// (`None` when the store cannot count it: the listing still answers,
    /// and says it does not know rather than "0 queued").
    pub async fn agents(&self) -> Vec<(AgentSpec, AgentStatus, u32, Option<usize>)> {
        crate::agents::listing::list(self.registry(), self.store()).await
    }

    /// Runs `f` on an agent's session.
    pub async fn with_session<R>(
        &self,
        name: &str,
        f: impl FnOnce(&Arc<AgentTerminal>) -> R,
    ) -> Result<R, BrokerError> {
        self.registry().with_session(name, f).await
    }

    /// The way a person types into agent `name`.
    pub async fn person_input(&self, name: &str) -> Result<PersonInput, BrokerError> {
        self.registry().person_input(name).await
    }

    /// Puts a dead letter back in its agent's queue.
    pub async fn replay(&self, id: &DeliveryId) -> Result<courier_core::Delivery, BrokerError> {
        crate::delivery::requests::replay(self.services(), self.registry(), id).await
    }

    /// Marks deliveries of `agent` read (all delivered, unread ones when
    /// `ids` is `None`). Returns those marked.
    pub async fn mark_read(
        &self,
        agent: &str,
        ids: Option<Vec<DeliveryId>>,
    ) -> Result<Vec<courier_core::Delivery>, BrokerError> {
        crate::delivery::requests::mark_read(self.services(), agent, ids).await
    }

    /// Hands `agent`'s oldest queued deliveries to a hook (see
    /// `delivery/requests.rs`).
    pub async fn claim_for_hook(
        &self,
        agent: &str,
        limit: usize,
    ) -> Result<Vec<(courier_core::Delivery, courier_core::Message)>, BrokerError> {
        crate::delivery::requests::claim_for_hook(self.services(), self.registry(), agent, limit)
            .await
    }

    /// Sets an agent's delivery mode, durably; a running agent follows at once.
    pub async fn set_mode(
        &self,
        agent: &str,
        mode: courier_core::DeliveryMode,
    ) -> Result<(), BrokerError> {
        crate::delivery::requests::set_mode(self.services(), self.registry(), agent, mode).await
    }

    /// Lets every delivery queued for `agent` right now through, whatever
    /// its mode. Returns the count.
    pub async fn flush(&self, agent: &str) -> Result<u64, BrokerError> {
        crate::delivery::requests::flush(self.services(), self.registry(), agent).await
    }

    /// Sends `name` its interrupt keys; returns the keys as a person names
    /// them (`esc`, `ctrl-c`).
    pub async fn interrupt(
        &self,
        name: &str,
    ) -> Result<String, crate::lifecycle::interrupt::InterruptRefused> {
        crate::lifecycle::interrupt::interrupt(self.lifecycle(), name).await
    }

    /// Records that `name` is done, with `result`.
    pub async fn report_done(&self, name: &str, result: Option<String>) -> Result<(), BrokerError> {
        crate::lifecycle::done::report_done(self.lifecycle(), name, result).await
    }

    /// A copy of `name`'s operating entry (dead, restarting, done), for the
    /// state its listings show.
    pub fn ops_of(&self, name: &str) -> Option<AgentOps> {
        self.lifecycle().ops.get(name)
    }

    /// Whether `name` is dead.
    pub fn is_dead(&self, name: &str) -> bool {
        self.lifecycle().ops.is_dead(name)
    }

    /// Dead agents (for `/healthz` and `/v1/status`).
    pub fn dead_agents(&self) -> Vec<(String, Dead)> {
        self.lifecycle().ops.dead()
    }

    /// Graceful stop: no new sends, in-flight deliveries finish within the
    /// grace period, every agent's process group ends, pending deliveries stay
    /// in the store for the next start.
    pub async fn stop(&self) {
        let services = self.services();
        services.shutdown.trigger();
        if let Some(federation) = self.federation() {
            federation.leave().await;
        }
        let mut agents = self.registry().take_all().await;
        // All at once: the grace bounds the whole stop, not each agent.
        let grace = services.config.shutdown_grace;
        futures_util::future::join_all(agents.values_mut().map(|a| a.stop(grace))).await;
        futures_util::future::join_all(agents.values_mut().map(|a| a.kill())).await;
        let pending = match services.store.pending_count_async().await {
            Ok(pending) => pending as u64,
            Err(e) => {
                // Not "nothing pending": whatever is pending stays in the
                // store, and no broker_stopping event claims a count.
                tracing::warn!(error = %e, pending = "unknown", "broker stopped; cannot count the pending deliveries (they stay in the store)");
                return;
            }
        };
        if let Err(e) = services
            .store
            .append_event_async(EventKind::BrokerStopping { pending })
            .await
        {
            tracing::warn!(error = %e, pending, "broker_stopping not recorded");
        }
        log_stopped(&services.config.durability, pending);
    }
}

/// What a stop leaves pending, said the way the durability means it.
fn log_stopped(durability: &Durability, pending: u64) {
    match (durability, pending) {
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
