//! A broker's membership of a workspace: its connection to NATS, the
//! directory bucket once joined, and the in-memory state its tasks share
//! (what the forwarder holds, the directory as last seen, the peers).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use tokio::sync::{Notify, OnceCell};

use super::directory_cache::Directory;
use super::forward_queue::Forwarder;
use super::peers::Presence;
use super::util::JOIN_WAIT;
use crate::config::federation::{FederationConfig, Names};
use crate::error::federation::FederationError;

/// A broker's membership of a workspace.
#[derive(Clone)]
pub struct Federation {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) config: FederationConfig,
    pub(super) names: Names,
    pub(super) client: async_nats::Client,
    pub(super) js: jetstream::Context,
    /// The directory bucket, once the setup at join succeeded.
    pub(super) kv: OnceCell<jetstream::kv::Store>,
    /// Turns true once the join completed (`kv` is set).
    pub(super) joined: tokio::sync::watch::Sender<bool>,
    /// When joining began: waits for the join end [`JOIN_WAIT`] after it.
    pub(super) started: std::time::Instant,
    pub(super) forwarder: Forwarder,
    pub(super) directory: Directory,
    pub(super) presence: Presence,
    /// Wakes the directory sync (an agent spawned, released, joined…).
    pub(super) directory_changed: Notify,
}

impl Federation {
    /// A membership over `client`, not joined yet.
    pub(super) fn new(config: FederationConfig, client: async_nats::Client) -> Federation {
        let js = jetstream::new(client.clone());
        Federation {
            inner: Arc::new(Inner {
                names: config.names(),
                config,
                client,
                js,
                kv: OnceCell::new(),
                joined: tokio::sync::watch::channel(false).0,
                started: std::time::Instant::now(),
                forwarder: Forwarder::default(),
                directory: Directory::default(),
                presence: Presence::default(),
                directory_changed: Notify::new(),
            }),
        }
    }

    /// The join completed: the directory bucket is there.
    pub(super) fn set_joined(&self, kv: jetstream::kv::Store) {
        let _ = self.inner.kv.set(kv);
        self.inner.joined.send_replace(true);
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

    /// The directory should be brought up to date (an agent of this host
    /// was spawned, released, or joined or left a channel).
    pub fn directory_changed(&self) {
        self.inner.directory_changed.notify_one();
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
}
