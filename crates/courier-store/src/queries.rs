//! The reads of [`Store`]. Each has an `_async` form, answered by the read
//! pool (the writer thread for an in-memory store) on a `oneshot` without
//! blocking the caller's thread: what async code calls. The blocking form
//! waits for the same request: for the CLI and tests only.
//!
//! Reads of federation and tokens are next to their types
//! (`federation.rs`, `tokens.rs`).

use std::collections::BTreeMap;

use courier_core::{Delivery, DeliveryId, Event, Message, MessageId};

use crate::reads;
use crate::store::{Result, Store};
use crate::types::AgentRecord;

impl Store {
    /// Every registered agent, by name.
    pub async fn agents_async(&self) -> Result<Vec<AgentRecord>> {
        self.read_async("reading agents", reads::agents).await
    }

    /// Blocking form of [`Store::agents_async`].
    pub fn agents(&self) -> Result<Vec<AgentRecord>> {
        self.read("reading agents", reads::agents)
    }

    /// The registered agent called `name`, if any.
    pub async fn agent_async(&self, name: &str) -> Result<Option<AgentRecord>> {
        let name = name.to_string();
        self.read_async("reading an agent", move |c, p| reads::agent(c, p, &name))
            .await
    }

    /// Blocking form of [`Store::agent_async`].
    pub fn agent(&self, name: &str) -> Result<Option<AgentRecord>> {
        let name = name.to_string();
        self.read("reading an agent", move |c, p| reads::agent(c, p, &name))
    }

    /// Every channel (without `#`) with its members, sorted.
    pub async fn channels_async(&self) -> Result<Vec<(String, Vec<String>)>> {
        self.read_async("reading channels", reads::channels).await
    }

    /// Blocking form of [`Store::channels_async`].
    pub fn channels(&self) -> Result<Vec<(String, Vec<String>)>> {
        self.read("reading channels", reads::channels)
    }

    /// A message and its deliveries (sorted by agent).
    pub async fn message_async(&self, id: &MessageId) -> Result<Option<(Message, Vec<Delivery>)>> {
        let id = id.clone();
        self.read_async("reading a message", move |c, p| reads::message(c, p, &id))
            .await
    }

    /// Blocking form of [`Store::message_async`].
    pub fn message(&self, id: &MessageId) -> Result<Option<(Message, Vec<Delivery>)>> {
        let id = id.clone();
        self.read("reading a message", move |c, p| reads::message(c, p, &id))
    }

    /// The replies to message `id` (its `reply_to` links), oldest first.
    pub async fn replies_async(&self, id: &MessageId) -> Result<Vec<courier_core::Reply>> {
        let id = id.clone();
        self.read_async("reading replies", move |c, p| reads::replies(c, p, &id))
            .await
    }

    /// Blocking form of [`Store::replies_async`].
    pub fn replies(&self, id: &MessageId) -> Result<Vec<courier_core::Reply>> {
        let id = id.clone();
        self.read("reading replies", move |c, p| reads::replies(c, p, &id))
    }

    /// A message without its deliveries.
    pub async fn message_only_async(&self, id: &MessageId) -> Result<Option<Message>> {
        let id = id.clone();
        self.read_async("reading a message", move |c, p| {
            reads::message_only(c, p, &id)
        })
        .await
    }

    /// Blocking form of [`Store::message_only_async`].
    pub fn message_only(&self, id: &MessageId) -> Result<Option<Message>> {
        let id = id.clone();
        self.read("reading a message", move |c, p| {
            reads::message_only(c, p, &id)
        })
    }

    /// One delivery, if it exists.
    pub async fn delivery_async(&self, id: &DeliveryId) -> Result<Option<Delivery>> {
        let id = id.clone();
        self.read_async("reading a delivery", move |c, p| reads::delivery(c, p, &id))
            .await
    }

    /// Blocking form of [`Store::delivery_async`].
    pub fn delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>> {
        let id = id.clone();
        self.read("reading a delivery", move |c, p| reads::delivery(c, p, &id))
    }

    /// Up to `limit` events with `seq > after`, in order.
    pub async fn events_after_async(&self, after: u64, limit: usize) -> Result<Vec<Event>> {
        self.read_async("reading events", move |c, p| {
            reads::events_after(c, p, after, limit)
        })
        .await
    }

    /// Blocking form of [`Store::events_after_async`].
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>> {
        self.read("reading events", move |c, p| {
            reads::events_after(c, p, after, limit)
        })
    }

    /// Up to `limit` conversation events of headless agent `name` (its
    /// prompts, replies, tool calls and errors) with `seq > after`, in order.
    pub async fn conversation_after_async(
        &self,
        name: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>> {
        let name = name.to_string();
        self.read_async("reading a conversation", move |c, p| {
            reads::conversation_after(c, p, &name, after, limit)
        })
        .await
    }

    /// The last `seq` assigned (0 for an empty log; kept after pruning).
    pub async fn last_seq_async(&self) -> Result<u64> {
        self.read_async("reading the last seq", reads::last_seq)
            .await
    }

    /// Blocking form of [`Store::last_seq_async`].
    pub fn last_seq(&self) -> Result<u64> {
        self.read("reading the last seq", reads::last_seq)
    }

    /// Every delivery not finished (queued, injecting, injected), by agent
    /// then queue order: what a broker resumes on start.
    pub async fn pending_async(&self) -> Result<Vec<Delivery>> {
        self.read_async("reading pending deliveries", reads::pending)
            .await
    }

    /// Blocking form of [`Store::pending_async`].
    pub fn pending(&self) -> Result<Vec<Delivery>> {
        self.read("reading pending deliveries", reads::pending)
    }

    /// Queued deliveries of `agent` (one indexed lookup, O(log n)).
    pub async fn queue_depth_async(&self, agent: &str) -> Result<usize> {
        let agent = agent.to_string();
        self.read_async("reading a queue depth", move |c, p| {
            reads::queue_depth(c, p, &agent)
        })
        .await
    }

    /// Blocking form of [`Store::queue_depth_async`].
    pub fn queue_depth(&self, agent: &str) -> Result<usize> {
        let agent = agent.to_string();
        self.read("reading a queue depth", move |c, p| {
            reads::queue_depth(c, p, &agent)
        })
    }

    /// Queued deliveries of every agent at once, by name; an agent missing
    /// from the map has none queued. One read for a whole listing, taken
    /// before any lock rather than one `queue_depth` per agent under it.
    pub async fn queue_depths_async(&self) -> Result<BTreeMap<String, usize>> {
        self.read_async("reading queue depths", reads::queue_depths)
            .await
    }

    /// Blocking form of [`Store::queue_depths_async`].
    pub fn queue_depths(&self) -> Result<BTreeMap<String, usize>> {
        self.read("reading queue depths", reads::queue_depths)
    }

    /// Dropped and dead deliveries, least recently changed first.
    pub async fn dead_letters_async(&self, limit: usize) -> Result<Vec<Delivery>> {
        self.read_async("reading dead letters", move |c, p| {
            reads::dead_letters(c, p, limit)
        })
        .await
    }

    /// Blocking form of [`Store::dead_letters_async`].
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<Delivery>> {
        self.read("reading dead letters", move |c, p| {
            reads::dead_letters(c, p, limit)
        })
    }

    /// How many deliveries are queued or in flight, cheaply (per-agent
    /// counters, not a scan of the deliveries).
    pub async fn pending_count_async(&self) -> Result<usize> {
        self.read_async("counting pending deliveries", reads::pending_count)
            .await
    }

    /// Blocking form of [`Store::pending_count_async`].
    pub fn pending_count(&self) -> Result<usize> {
        self.read("counting pending deliveries", reads::pending_count)
    }

    /// The newest `limit` deliveries to `agent` (any state, so unverified
    /// and dropped ones too), with their messages, newest first.
    pub async fn inbox_async(&self, agent: &str, limit: usize) -> Result<Vec<(Delivery, Message)>> {
        let agent = agent.to_string();
        self.read_async("reading an inbox", move |c, p| {
            reads::inbox(c, p, &agent, limit)
        })
        .await
    }

    /// Blocking form of [`Store::inbox_async`].
    pub fn inbox(&self, agent: &str, limit: usize) -> Result<Vec<(Delivery, Message)>> {
        let agent = agent.to_string();
        self.read("reading an inbox", move |c, p| {
            reads::inbox(c, p, &agent, limit)
        })
    }
}
