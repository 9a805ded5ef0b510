//! The writes of [`Store`] (the reads are in `queries.rs`). Writes go to the
//! writer thread (group commit) and return once their batch is durably
//! committed. Each has an `_async` form (what async code calls: it awaits
//! the answer without blocking the caller's thread) and a blocking form
//! built on the same request (the CLI and tests).

use std::future::Future;
use std::sync::Arc;

use courier_core::{
    Acl, Delivery, DeliveryChannel, DeliveryId, DeliveryMode, Event, EventKind, Message,
    NewMessage, Transition,
};

use crate::options::{PrunePolicy, PruneReport};
use crate::store::{Result, Store};
use crate::types::{AgentRecord, SendOutcome, SendReceipt, Subscription};
use crate::writer::Ctx;
use crate::{ops, prune, reads};

impl Store {
    /// Stores a message and one queued delivery per recipient, acknowledged
    /// once durable. See [`SendReceipt`] for duplicates and evictions.
    ///
    /// Errors: the message breaks a rule ([`crate::StoreError::Refused`]:
    /// invalid, too large, DM to an unknown agent, ...) or storage failed.
    pub fn send(&self, message: NewMessage) -> Result<SendReceipt> {
        self.call(move |ctx| ops::send::send(ctx, message, &Acl::allow_all()))
            .wait()
            .and_then(sent)
    }

    /// Async form of [`Store::send`].
    pub async fn send_async(&self, message: NewMessage) -> Result<SendReceipt> {
        self.call(move |ctx| ops::send::send(ctx, message, &Acl::allow_all()))
            .wait_async()
            .await
            .and_then(sent)
    }

    /// A send judged by `acl` (core decides) in the same transaction as
    /// its fan-out: recipients the rules refuse get no delivery, and a send
    /// refused as a whole stores nothing but its `message_refused` event.
    pub async fn send_under_async(
        &self,
        message: NewMessage,
        acl: Arc<Acl>,
    ) -> Result<SendOutcome> {
        self.call(move |ctx| ops::send::send(ctx, message, &acl))
            .wait_async()
            .await
    }

    /// Blocking form of [`Store::send_under_async`].
    pub fn send_under(&self, message: NewMessage, acl: Arc<Acl>) -> Result<SendOutcome> {
        self.call(move |ctx| ops::send::send(ctx, message, &acl))
            .wait()
    }

    /// Applies `transition` (decided by core) and returns the delivery and
    /// every event written (including a `delivery_dropped` if going back to
    /// the queue evicted others).
    pub fn transition(
        &self,
        id: &DeliveryId,
        transition: Transition,
    ) -> Result<(Delivery, Vec<Event>)> {
        let id = id.clone();
        self.call(move |ctx| ops::transition::transition(ctx, &id, transition))
            .wait()
    }

    /// Async form of [`Store::transition`].
    pub async fn transition_async(
        &self,
        id: &DeliveryId,
        transition: Transition,
    ) -> Result<(Delivery, Vec<Event>)> {
        let id = id.clone();
        self.call(move |ctx| ops::transition::transition(ctx, &id, transition))
            .wait_async()
            .await
    }

    /// Takes the oldest queued delivery of `agent` and makes it `injecting`
    /// into `session` (typed into its terminal: channel `pty`), atomically.
    /// `None` when its queue is empty.
    pub fn claim_next(&self, agent: &str, session: &str) -> Result<Option<(Delivery, Message)>> {
        let (agent, session) = (agent.to_string(), session.to_string());
        self.call(move |ctx| {
            ops::transition::claim_next(ctx, &agent, session, DeliveryChannel::Pty)
        })
        .wait()
    }

    /// Async form of [`Store::claim_next`], through `channel` (`pty`, or
    /// `native` for a headless agent).
    pub async fn claim_next_async(
        &self,
        agent: &str,
        session: &str,
        channel: DeliveryChannel,
    ) -> Result<Option<(Delivery, Message)>> {
        let (agent, session) = (agent.to_string(), session.to_string());
        self.call(move |ctx| ops::transition::claim_next(ctx, &agent, session, channel))
            .wait_async()
            .await
    }

    /// Puts a dropped or dead delivery back at the end of its agent's queue
    /// (respecting the cap).
    pub fn replay(&self, id: &DeliveryId) -> Result<(Delivery, Vec<Event>)> {
        self.transition(id, Transition::Replay)
    }

    /// Async form of [`Store::replay`].
    pub async fn replay_async(&self, id: &DeliveryId) -> Result<(Delivery, Vec<Event>)> {
        self.transition_async(id, Transition::Replay).await
    }

    /// Marks deliveries of `agent` read (`delivery_read` each): the given
    /// ids, or every delivered, unread one when `ids` is `None`. Others'
    /// deliveries, undelivered and already-read ones are skipped. Returns
    /// the deliveries marked.
    pub async fn mark_read_async(
        &self,
        agent: &str,
        ids: Option<Vec<DeliveryId>>,
    ) -> Result<Vec<Delivery>> {
        let agent = agent.to_string();
        self.call(move |ctx| ops::read::mark_read(ctx, &agent, ids))
            .wait_async()
            .await
    }

    /// Blocking form of [`Store::mark_read_async`].
    pub fn mark_read(&self, agent: &str, ids: Option<Vec<DeliveryId>>) -> Result<Vec<Delivery>> {
        let agent = agent.to_string();
        self.call(move |ctx| ops::read::mark_read(ctx, &agent, ids))
            .wait()
    }

    /// Takes up to `limit` oldest queued deliveries of `agent` for `channel`
    /// (e.g. a hook), atomically: each becomes `read` through that channel
    /// and is never typed into the terminal.
    pub async fn claim_for_async(
        &self,
        agent: &str,
        channel: DeliveryChannel,
        limit: usize,
    ) -> Result<Vec<(Delivery, Message)>> {
        let agent = agent.to_string();
        self.call(move |ctx| ops::read::claim_for(ctx, &agent, channel, limit))
            .wait_async()
            .await
    }

    /// Blocking form of [`Store::claim_for_async`].
    pub fn claim_for(
        &self,
        agent: &str,
        channel: DeliveryChannel,
        limit: usize,
    ) -> Result<Vec<(Delivery, Message)>> {
        let agent = agent.to_string();
        self.call(move |ctx| ops::read::claim_for(ctx, &agent, channel, limit))
            .wait()
    }

    /// Sets a registered agent's delivery mode, durably (`agent_mode`).
    pub fn set_mode(&self, agent: &str, mode: DeliveryMode) -> Result<AgentRecord> {
        let agent = agent.to_string();
        self.call(move |ctx| ops::read::set_mode(ctx, &agent, mode))
            .wait()
    }

    /// Async form of [`Store::set_mode`].
    pub async fn set_mode_async(&self, agent: &str, mode: DeliveryMode) -> Result<AgentRecord> {
        let agent = agent.to_string();
        self.call(move |ctx| ops::read::set_mode(ctx, &agent, mode))
            .wait_async()
            .await
    }

    /// Appends an agent, broker or host lifecycle event (`agent_*`, `broker_*`, `host_*`).
    pub fn append_event(&self, kind: EventKind) -> Result<Event> {
        self.call(move |ctx| ops::agents::append_event(ctx, kind))
            .wait()
    }

    /// Async form of [`Store::append_event`].
    pub async fn append_event_async(&self, kind: EventKind) -> Result<Event> {
        self.call(move |ctx| ops::agents::append_event(ctx, kind))
            .wait_async()
            .await
    }

    /// Appends an event without waiting for its commit: it is queued
    /// behind every write asked for before it and commits with the next
    /// batch, so a write awaited after it is committed only once it is.
    /// What the returned future says (awaited or not) is how that went.
    pub fn append_event_queued(
        &self,
        kind: EventKind,
    ) -> impl Future<Output = Result<Event>> + Send + 'static {
        self.call(move |ctx| ops::agents::append_event(ctx, kind))
            .wait_async()
    }

    /// [`Store::record_reply`] without waiting for its commit, queued like
    /// [`Store::append_event_queued`].
    pub fn record_reply_queued(
        &self,
        reply: courier_core::Reply,
    ) -> impl Future<Output = Result<Option<Event>>> + Send + 'static {
        self.call(move |ctx| ops::reply::record_reply(ctx, reply))
            .wait_async()
    }

    /// Records a reply to a message (its `reply_to` link, kept across
    /// restarts) and its `message_replied` event; `None` when the message
    /// answered is not stored.
    pub fn record_reply(&self, reply: courier_core::Reply) -> Result<Option<Event>> {
        self.call(move |ctx| ops::reply::record_reply(ctx, reply))
            .wait()
    }

    /// Async form of [`Store::record_reply`].
    pub async fn record_reply_async(&self, reply: courier_core::Reply) -> Result<Option<Event>> {
        self.call(move |ctx| ops::reply::record_reply(ctx, reply))
            .wait_async()
            .await
    }

    /// Registers or updates an agent (its `created_at` is kept on update).
    pub fn upsert_agent(&self, record: AgentRecord) -> Result<AgentRecord> {
        self.call(move |ctx| ops::agents::upsert_agent(ctx, record))
            .wait()
    }

    /// Async form of [`Store::upsert_agent`].
    pub async fn upsert_agent_async(&self, record: AgentRecord) -> Result<AgentRecord> {
        self.call(move |ctx| ops::agents::upsert_agent(ctx, record))
            .wait_async()
            .await
    }

    /// Registers or updates an agent, joins it to `channels` and sends it
    /// its initial `task`, all in one transaction (see `ops/spawn.rs`).
    pub async fn register_agent_async(
        &self,
        record: AgentRecord,
        channels: Vec<String>,
        task: Option<NewMessage>,
    ) -> Result<(AgentRecord, Option<SendReceipt>)> {
        self.call(move |ctx| ops::spawn::register(ctx, record, channels, task))
            .wait_async()
            .await
    }

    /// Removes an agent and its channel memberships; its deliveries stay.
    pub fn remove_agent(&self, name: &str) -> Result<bool> {
        let name = name.to_string();
        self.call(move |ctx| ops::agents::remove_agent(ctx, &name))
            .wait()
    }

    /// Async form of [`Store::remove_agent`].
    pub async fn remove_agent_async(&self, name: &str) -> Result<bool> {
        let name = name.to_string();
        self.call(move |ctx| ops::agents::remove_agent(ctx, &name))
            .wait_async()
            .await
    }

    /// Adds a registered agent to `channel` (`#` optional); `channel_joined`.
    pub fn join(&self, channel: &str, agent: &str) -> Result<bool> {
        let (channel, agent) = (channel.to_string(), agent.to_string());
        self.call(move |ctx| ops::agents::join(ctx, &channel, &agent))
            .wait()
    }

    /// Async form of [`Store::join`].
    pub async fn join_async(&self, channel: &str, agent: &str) -> Result<bool> {
        let (channel, agent) = (channel.to_string(), agent.to_string());
        self.call(move |ctx| ops::agents::join(ctx, &channel, &agent))
            .wait_async()
            .await
    }

    /// Removes `agent` from `channel`; `channel_left`.
    pub fn leave(&self, channel: &str, agent: &str) -> Result<bool> {
        let (channel, agent) = (channel.to_string(), agent.to_string());
        self.call(move |ctx| ops::agents::leave(ctx, &channel, &agent))
            .wait()
    }

    /// Async form of [`Store::leave`].
    pub async fn leave_async(&self, channel: &str, agent: &str) -> Result<bool> {
        let (channel, agent) = (channel.to_string(), agent.to_string());
        self.call(move |ctx| ops::agents::leave(ctx, &channel, &agent))
            .wait_async()
            .await
    }

    /// Deletes old rows, at most `policy.max_rows` per call (see `prune.rs`).
    pub fn prune(&self, policy: PrunePolicy) -> Result<PruneReport> {
        self.call(move |ctx| prune::prune(ctx, policy)).wait()
    }

    /// Async form of [`Store::prune`].
    pub async fn prune_async(&self, policy: PrunePolicy) -> Result<PruneReport> {
        self.call(move |ctx| prune::prune(ctx, policy))
            .wait_async()
            .await
    }

    /// A live stream of committed events.
    ///
    /// The writer thread registers the subscription between two commits and
    /// sends each later batch's events, in `seq` order, right after its
    /// COMMIT (before answering its callers). `after_seq` is the last `seq`
    /// committed before the stream starts, so a client that has seen up to
    /// `n` reads [`Store::events_after`]`(n, ..)` up to `after_seq`, then
    /// the stream: no gap, no repeat. The channel is unbounded (the writer
    /// never waits on a slow reader); drop the receiver to unsubscribe.
    pub fn subscribe(&self) -> Result<Subscription> {
        self.call(subscribe).wait()
    }

    /// Async form of [`Store::subscribe`].
    pub async fn subscribe_async(&self) -> Result<Subscription> {
        self.call(subscribe).wait_async().await
    }
}

/// Registers a subscriber between two commits (see [`Store::subscribe`]).
fn subscribe(ctx: &mut Ctx<'_>) -> Result<Subscription> {
    let after_seq = reads::last_seq(ctx.conn, ctx.path)?;
    let (tx, events) = crossbeam_channel::unbounded();
    ctx.subscribe(after_seq, tx);
    Ok(Subscription { after_seq, events })
}

/// A send under [`Acl::allow_all`] is never refused; were it ever, the
/// refusal is an error rather than a receipt for nothing.
fn sent(outcome: SendOutcome) -> Result<SendReceipt> {
    match outcome {
        SendOutcome::Sent(receipt) => Ok(receipt),
        SendOutcome::Refused {
            from,
            to,
            rule,
            refused,
            ..
        } => Err(crate::StoreError::Refused(
            courier_core::CoreError::AclDenied {
                from,
                to: to.to_string(),
                rule,
                refused,
            },
        )),
    }
}
