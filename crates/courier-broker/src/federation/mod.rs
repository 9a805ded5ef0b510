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

mod connect;
mod consume;
mod directory;
mod directory_cache;

mod forward_queue;
mod forwarder;
mod inbox;
pub mod local;
pub mod membership;
mod outcomes;
mod peers;
mod presence;
mod util;
mod wire;

use std::time::Duration;

use courier_protocol::status::FederationStatus;

pub use crate::config::federation::{FederationConfig, default_host_id};
pub use crate::error::federation::FederationError;
pub use connect::{Finding, FindingLevel, probe};
pub use membership::Federation;
pub use util::JOIN_WAIT;

use self::local::Local;
use self::util::pause;
use crate::error::{BrokerError, ClientError, Fault};

/// The entry points the broker calls (the state and its accessors are in
/// `membership.rs`).
impl Federation {
    /// Connects (in the background if NATS is not there yet) and starts
    /// every component; returns at once.
    pub async fn start(local: &Local, config: FederationConfig) -> Result<Federation, BrokerError> {
        config.validate().map_err(FederationError::Config)?;
        let client = connect::client(&config).await?;
        let federation = Federation::new(config, client);
        tokio::spawn(run(local.clone(), federation.clone()));
        Ok(federation)
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
    /// Frees `name` in the directory (its agent was released here, or
    /// never started).
    pub async fn release(&self, name: &str) {
        directory::release(self, name).await;
        self.directory_changed();
    }
    /// Graceful leave: this host's agents are marked away and the others
    /// are told at once (bounded: a stop never waits on NATS for long).
    pub async fn leave(&self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), presence::leave(self)).await;
    }
    /// `GET /v1/federation`.
    pub fn status(&self, pending_forwards: usize) -> FederationStatus {
        FederationStatus {
            connected: Some(self.is_connected()),
            enabled: true,
            host: Some(self.inner.config.host.clone()),
            joined: Some(self.kv().is_some()),
            peers: Some(presence::peers(self)),
            pending_forwards: Some(pending_forwards),
            url: Some(connect::redacted(&self.inner.config.url)),
            workspace: Some(self.inner.config.workspace.clone()),
        }
    }
}

/// Sets the workspace up (retrying until NATS answers), then runs every
/// component until the broker stops.
async fn run(local: Local, federation: Federation) {
    let kv = connect::setup_until_ready(&local, &federation).await;
    let Some(kv) = kv else { return };
    let cursor = loop {
        match outcomes::start_cursor(local.store()).await {
            Ok(cursor) => break cursor,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outcome cursor; retrying");
                if !pause(&local, Duration::from_secs(1)).await {
                    return;
                }
            }
        }
    };
    federation.set_joined(kv);
    tracing::info!(
        workspace = %federation.inner.config.workspace,
        host = %federation.inner.config.host,
        "joined the workspace"
    );
    tokio::spawn(directory::run(local.clone(), federation.clone()));
    tokio::spawn(presence::run(local.clone(), federation.clone()));
    tokio::spawn(forwarder::run(local.clone(), federation.clone()));
    tokio::spawn(inbox::run(local.clone(), federation.clone()));
    tokio::spawn(outcomes::run_publisher(
        local.clone(),
        federation.clone(),
        cursor,
    ));
    tokio::spawn(outcomes::run_consumer(local, federation));
}
