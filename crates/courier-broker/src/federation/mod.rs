//! Federation: brokers of several hosts joined into one workspace over NATS
//! JetStream (`courier up --nats URL`). Without it nothing here runs.
//!
//! Truth stays in each broker's SQLite; NATS only carries what moves
//! between stores, and nothing is acknowledged on NATS alone:
//!
//! ```text
//!  host A (sender)                         NATS                       host B (receiver)
//!  send ─▶ store A (queued) ─▶ forwarder ─▶ inbox.B stream ─▶ inbox ─▶ store B (received, queued) ─▶ ack
//!                                                                     │ agent task types it
//!  store A (forwarded, verified…) ◀─ outcomes ◀─ outcome.A stream ◀─ publisher (B's event log)
//! ```
//!
//! The components, one file each:
//! - [`config`]: the join options and the names of subjects, streams, bucket.
//! - [`wire`]: the JSON payloads.
//! - [`connect`]: the NATS client, the streams and the bucket, the checks at join.
//! - [`directory`]: agent names unique across the workspace (KV create),
//!   this host's entries kept current, the others' mirrored into the store.
//! - [`presence`]: heartbeats; a host that stops answering has its agents
//!   marked away.
//! - [`forwarder`]: deliveries to agents of other hosts, published until
//!   their host's commit comes back.
//! - [`inbox`]: deliveries forwarded here, committed before they are acked.
//! - [`outcomes`]: this host's events about forwarded deliveries, sent back
//!   to their senders; and the events of other hosts applied here.

pub mod config;
mod connect;
mod consume;
mod directory;
pub mod error;
mod forwarder;
mod inbox;
mod outcomes;
mod presence;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use serde_json::{Value, json};
use tokio::sync::{Notify, OnceCell};

use config::Names;
pub use config::{FederationConfig, default_host_id};
pub use connect::{Finding, FindingLevel, probe};
pub use error::FederationError;

use crate::broker::Broker;
use crate::error::{BrokerError, ClientError, Fault};

/// How long a directory operation waits for NATS before giving up.
const DIRECTORY_TIMEOUT: Duration = Duration::from_secs(3);

/// A broker's membership of a workspace.
#[derive(Clone)]
pub struct Federation {
    inner: Arc<Inner>,
}

struct Inner {
    config: FederationConfig,
    names: Names,
    client: async_nats::Client,
    js: jetstream::Context,
    /// The directory bucket, once the setup at join succeeded.
    kv: OnceCell<jetstream::kv::Store>,
    /// Turns true once the join completed (`kv` is set).
    joined: tokio::sync::watch::Sender<bool>,
    /// When joining began: waits for the join end [`JOIN_WAIT`] after it.
    started: std::time::Instant,
    forwarder: forwarder::Forwarder,
    directory: directory::Directory,
    presence: presence::Presence,
    /// Wakes the directory sync (an agent spawned, released, joined…).
    directory_changed: Notify,
}

impl Federation {
    /// Connects (in the background if NATS is not there yet) and starts
    /// every component; returns at once.
    pub async fn start(
        broker: &Broker,
        config: FederationConfig,
    ) -> Result<Federation, BrokerError> {
        config.validate()?;
        let client = connect::client(&config).await?;
        let js = jetstream::new(client.clone());
        let federation = Federation {
            inner: Arc::new(Inner {
                names: config.names(),
                config,
                client,
                js,
                kv: OnceCell::new(),
                joined: tokio::sync::watch::channel(false).0,
                started: std::time::Instant::now(),
                forwarder: forwarder::Forwarder::default(),
                directory: directory::Directory::default(),
                presence: presence::Presence::default(),
                directory_changed: Notify::new(),
            }),
        };
        tokio::spawn(run(broker.clone(), federation.clone()));
        Ok(federation)
    }

    pub fn host(&self) -> &str {
        &self.inner.config.host
    }

    pub(crate) fn names(&self) -> &Names {
        &self.inner.names
    }

    pub(crate) fn js(&self) -> &jetstream::Context {
        &self.inner.js
    }

    pub(crate) fn client(&self) -> &async_nats::Client {
        &self.inner.client
    }

    /// Publishes `value` as JSON to a stream subject with `msg_id` as its
    /// `Nats-Msg-Id` (JetStream drops a second copy within its window).
    pub(crate) async fn publish_json(
        &self,
        subject: String,
        value: &impl serde::Serialize,
        msg_id: &str,
    ) -> Result<jetstream::context::PublishAckFuture, FederationError> {
        let payload = serde_json::to_vec(value).map_err(|source| FederationError::Encode {
            what: "a payload",
            source,
        })?;
        self.js()
            .send_publish(
                subject.clone(),
                jetstream::message::PublishMessage::build()
                    .payload(payload.into())
                    .message_id(msg_id),
            )
            .await
            .map_err(|e| FederationError::Publish {
                subject,
                source: Box::new(e),
            })
    }

    pub(crate) fn kv(&self) -> Option<&jetstream::kv::Store> {
        self.inner.kv.get()
    }

    /// The directory's bucket once the join completed, waiting up to
    /// `bound` for it: right after `courier up --nats` a spawn or a send
    /// waits for the join instead of failing while it is under way. Only
    /// then: no wait goes past [`JOIN_WAIT`] after joining began, so with
    /// NATS down for good nothing waits at all.
    pub(crate) async fn joined_within(&self, bound: Duration) -> Option<&jetstream::kv::Store> {
        let left = JOIN_WAIT.saturating_sub(self.inner.started.elapsed());
        let bound = bound.min(left);
        if self.kv().is_none() && !bound.is_zero() {
            let mut joined = self.inner.joined.subscribe();
            let _ = tokio::time::timeout(bound, joined.wait_for(|j| *j)).await;
        }
        self.kv()
    }

    /// [`Federation::joined_within`] for callers outside federation that
    /// only need to wait (a send: it is committed here either way, and
    /// forwarded once the join is done).
    pub async fn wait_joined(&self, bound: Duration) -> bool {
        self.joined_within(bound).await.is_some()
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.inner.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Claims `name` in the workspace directory before an agent of this
    /// host takes it: refused when another host holds it.
    pub async fn claim(&self, name: &str, channels: &[String]) -> Result<(), BrokerError> {
        directory::claim_for_spawn(self, name, channels)
            .await
            .map_err(|e| match e {
                FederationError::NameTaken { name, host } => {
                    ClientError::NameTaken { name, host }.into()
                }
                // Uniqueness across hosts cannot be checked: 503, as
                // before (a spawn waits for the join, then gives up).
                other => Fault::FederationUnavailable(other.to_string()).into(),
            })
    }

    /// The directory should be brought up to date (an agent of this host
    /// was spawned, released, or joined or left a channel).
    pub fn directory_changed(&self) {
        self.inner.directory_changed.notify_one();
    }

    /// Frees `name` in the directory (its agent was released here, or
    /// never started).
    pub async fn release(&self, name: &str) {
        directory::release(self, name).await;
        self.directory_changed();
    }

    /// Deliveries may be waiting to be forwarded that only the store knows
    /// of (the forwarder sweeps it).
    pub fn wake_forwarder(&self) {
        self.inner.forwarder.wake();
    }

    /// Deliveries a send just committed for agents of other hosts: published
    /// at once, without a store read.
    pub fn forward(
        &self,
        message: &courier_core::Message,
        deliveries: Vec<courier_core::Delivery>,
    ) {
        self.inner.forwarder.hand_over(message, deliveries);
    }

    /// The other host holding agent `name` in the directory, if any.
    pub(crate) fn host_of(&self, name: &str) -> Option<String> {
        self.inner
            .directory
            .host_of(name)
            .filter(|host| host != self.host())
    }

    /// Graceful leave: this host's agents are marked away and the others
    /// are told at once (bounded: a stop never waits on NATS for long).
    pub async fn leave(&self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), presence::leave(self)).await;
    }

    /// `GET /v1/federation`.
    pub fn status_json(&self, pending_forwards: usize) -> Value {
        json!({
            "enabled": true,
            "workspace": self.inner.config.workspace,
            "host": self.inner.config.host,
            "url": connect::redacted(&self.inner.config.url),
            "connected": self.is_connected(),
            "joined": self.kv().is_some(),
            "pending_forwards": pending_forwards,
            "peers": presence::peers_json(self),
        })
    }
}

/// Sets the workspace up (retrying until NATS answers), then runs every
/// component until the broker stops.
async fn run(broker: Broker, federation: Federation) {
    let kv = connect::setup_until_ready(&broker, &federation).await;
    let Some(kv) = kv else { return };
    let cursor = loop {
        match outcomes::start_cursor(broker.store()).await {
            Ok(cursor) => break cursor,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outcome cursor; retrying");
                if !pause(&broker, Duration::from_secs(1)).await {
                    return;
                }
            }
        }
    };
    let _ = federation.inner.kv.set(kv);
    federation.inner.joined.send_replace(true);
    tracing::info!(
        workspace = %federation.inner.config.workspace,
        host = %federation.inner.config.host,
        "joined the workspace"
    );
    tokio::spawn(directory::run(broker.clone(), federation.clone()));
    tokio::spawn(presence::run(broker.clone(), federation.clone()));
    tokio::spawn(forwarder::run(broker.clone(), federation.clone()));
    tokio::spawn(inbox::run(broker.clone(), federation.clone()));
    tokio::spawn(outcomes::run_publisher(
        broker.clone(),
        federation.clone(),
        cursor,
    ));
    tokio::spawn(outcomes::run_consumer(broker, federation));
}

/// How long a spawn or a send right after the start waits for the join.
pub const JOIN_WAIT: Duration = Duration::from_secs(5);

/// Waits `delay`, or less if the broker stops; `false` once it stopped.
pub(crate) async fn pause(broker: &Broker, delay: Duration) -> bool {
    tokio::select! {
        _ = broker.shutdown_signal().wait() => false,
        _ = tokio::time::sleep(delay) => !broker.shutdown_signal().is_triggered(),
    }
}

/// Locks one of federation's in-memory maps. A panic while it was held
/// leaves it usable: each is updated in single statements.
fn locked<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The next retry delay: doubling from 100 ms up to `max`.
pub(crate) fn backoff(attempt: u32, max: Duration) -> Duration {
    let ms = 100u64.saturating_mul(1u64 << attempt.min(16));
    Duration::from_millis(ms).min(max)
}
