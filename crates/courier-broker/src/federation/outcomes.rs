//! What became of forwarded deliveries, flowing back to their senders.
//!
//! - The publisher reads this host's own event log from a cursor kept in
//!   the store, and publishes every event about a delivery another host
//!   forwarded here (`delivery_received`, injecting, injected, verified,
//!   read, dropped, dead, ...) to that host's outcome subject, a batch of
//!   them per NATS message; and every `message_replied` about a message
//!   another host sent (found by its deliveries' `origin_host`), with the
//!   reply as stored here. The cursor moves only once JetStream holds the
//!   batch (and is recorded in the store at most every second while busy),
//!   so after a crash the rest is published again (the receiver applies
//!   each event once, by `seq`).
//! - The consumer applies other hosts' events to the copies of deliveries
//!   this host forwarded (core's `remote::follow`) and records their
//!   replies (once each, by the reply's `seq` in that host's log), commits,
//!   then acks.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::{self, AckKind};
use courier_core::{DeliveryId, Event, EventKind, Reply};
use courier_store::{RemoteOutcome, ReplyKey, Store};
use tokio::sync::broadcast::error::TryRecvError;

use super::consume::{self, Source};
use super::local::Local;
use super::membership::Federation;
use super::util::{backoff, pause};
use super::wire::OutcomeWire;
use crate::error::federation::FederationError;

const CURSOR: &str = "outcomes";
/// How often a busy publisher records its cursor.
const SAVE_CURSOR_EVERY: Duration = Duration::from_secs(1);
/// Events read from the log per batch.
const BATCH: usize = 512;
/// Outcomes in one NATS message (well under its 1 MB payload limit).
const PER_MESSAGE: usize = 256;
/// Known origins kept in memory (a miss costs one store read).
const ORIGINS_KEPT: usize = 100_000;

/// Where the publisher starts: where it stopped, or, at the first join,
/// the end of the log (nothing before it was forwarded here). Called
/// before the inbox consumer starts, so no receipt falls before it.
pub async fn start_cursor(store: &Store) -> Result<u64, FederationError> {
    let failed = FederationError::store;
    match store
        .cursor_async(CURSOR)
        .await
        .map_err(failed("read the outcome cursor"))?
    {
        Some(seq) => Ok(seq),
        None => {
            let last = store
                .last_seq_async()
                .await
                .map_err(failed("read the last event"))?;
            store
                .set_cursor_async(CURSOR, last)
                .await
                .map_err(failed("record the outcome cursor"))?;
            Ok(last)
        }
    }
}

pub async fn run_publisher(local: Local, federation: Federation, mut cursor: u64) {
    let store = local.store_handle();
    let mut bus = local.bus().subscribe();
    let mut origins: HashMap<DeliveryId, Option<String>> = HashMap::new();
    let mut failures = 0;
    let mut saved = Saved {
        seq: cursor,
        at: Instant::now(),
    };
    loop {
        // Everything the bus announced so far is in the log read below.
        while matches!(bus.try_recv(), Ok(_) | Err(TryRecvError::Lagged(_))) {}
        let events = match store.events_after_async(cursor, BATCH).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the event log for outcomes");
                if !pause(&local, Duration::from_secs(1)).await {
                    return;
                }
                continue;
            }
        };
        let Some(last) = events.last().map(|e| e.seq) else {
            saved.save(&store, cursor).await; // idle: the cursor catches up
            tokio::select! {
                _ = bus.recv() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = local.shutdown_signal().wait() => {
                    saved.save(&store, cursor).await;
                    return;
                }
            }
            continue;
        };
        match publish(&federation, &store, &mut origins, &events).await {
            Ok(()) => {
                failures = 0;
                cursor = last;
                if saved.at.elapsed() >= SAVE_CURSOR_EVERY {
                    saved.save(&store, cursor).await;
                }
            }
            Err(e) => {
                failures += 1;
                if failures == 1 || failures % 30 == 0 {
                    tracing::warn!(error = %e, "outcomes not published yet; retrying");
                }
                if !pause(&local, backoff(failures, Duration::from_secs(2))).await {
                    return;
                }
            }
        }
    }
}

/// The cursor as the store last recorded it. Recorded at most every
/// [`SAVE_CURSOR_EVERY`] while busy (and whenever idle): each record is a
/// commit, and one per published batch doubled this host's writes. After a
/// crash the events since the record are published again, which costs
/// nothing but the bytes: the sender applies each event once.
struct Saved {
    seq: u64,
    at: Instant,
}

impl Saved {
    async fn save(&mut self, store: &Store, cursor: u64) {
        if cursor == self.seq {
            return;
        }
        match store.set_cursor_async(CURSOR, cursor).await {
            Ok(()) => {
                self.seq = cursor;
                self.at = Instant::now();
            }
            Err(e) => tracing::warn!(error = %e, "cannot record the outcome cursor"),
        }
    }
}

/// Publishes the events of `events` about deliveries of other hosts, one
/// NATS message per origin host and chunk, and waits until JetStream holds
/// every one.
async fn publish(
    federation: &Federation,
    store: &Store,
    origins: &mut HashMap<DeliveryId, Option<String>>,
    events: &[Event],
) -> Result<(), FederationError> {
    if origins.len() > ORIGINS_KEPT {
        origins.clear();
    }
    let mut by_origin: BTreeMap<String, Vec<RemoteOutcome>> = BTreeMap::new();
    for event in events {
        // The sender recorded its own; every other delivery event goes back.
        if matches!(event.kind, EventKind::DeliveryQueued { .. }) {
            continue;
        }
        if let EventKind::MessageReplied { .. } = &event.kind {
            if let Some((origin, reply)) = reply_to_send_back(store, event).await? {
                by_origin
                    .entry(origin)
                    .or_default()
                    .push(RemoteOutcome::replied(event.seq, reply));
            }
            continue;
        }
        for id in event.kind.delivery_ids() {
            let origin = match origins.get(id) {
                Some(origin) => origin.clone(),
                None => {
                    let origin = match &event.kind {
                        EventKind::DeliveryReceived { from_host, .. } => Some(from_host.clone()),
                        _ => store
                            .delivery_async(id)
                            .await
                            .map_err(FederationError::store("read a delivery's origin"))?
                            .and_then(|d| d.origin_host),
                    };
                    origins.insert(id.clone(), origin.clone());
                    origin
                }
            };
            let Some(origin) = origin else { continue };
            by_origin
                .entry(origin)
                .or_default()
                .push(RemoteOutcome::logged(event.seq, event.kind.clone()));
        }
    }
    let mut acks = Vec::new();
    for (origin, outcomes) in by_origin {
        for chunk in outcomes.chunks(PER_MESSAGE) {
            acks.push(send(federation, &origin, chunk.to_vec()).await?);
        }
    }
    for ack in acks {
        ack.await.map_err(|e| FederationError::Ack {
            source: Box::new(e),
        })?;
    }
    Ok(())
}

/// The reply a `message_replied` of this log names, and the host it goes
/// back to, when the message it answers came from another host.
///
/// The text is read from this host's `replies` here rather than carried in
/// the event: the event log and every stream that follows it (SSE, the
/// dashboard, `courier events`) would otherwise hold each reply's text a
/// second time — a headless reply's is already in its
/// `conversation_reply`, a message reply's is that message's body — and
/// old stored events hold no text at all. The row is found exactly by what
/// the event names and the event's time, which is the reply's
/// `created_at` (one commit wrote both).
async fn reply_to_send_back(
    store: &Store,
    event: &Event,
) -> Result<Option<(String, Reply)>, FederationError> {
    let EventKind::MessageReplied {
        message_id,
        from,
        via,
        reply_id,
    } = &event.kind
    else {
        return Ok(None);
    };
    let key = ReplyKey {
        reply_to: message_id.clone(),
        from: from.clone(),
        via: *via,
        reply_id: reply_id.clone(),
        at: event.time,
    };
    let found = store
        .reply_to_send_back_async(key)
        .await
        .map_err(FederationError::store("read a reply to send back"))?;
    Ok(found)
}

/// Publishes one outcome to `origin` and waits for JetStream to hold it.
pub async fn publish_one(
    federation: &Federation,
    origin: &str,
    outcome: RemoteOutcome,
) -> Result<(), FederationError> {
    send(federation, origin, vec![outcome])
        .await?
        .await
        .map_err(|e| FederationError::Ack {
            source: Box::new(e),
        })?;
    Ok(())
}

async fn send(
    federation: &Federation,
    origin: &str,
    outcomes: Vec<RemoteOutcome>,
) -> Result<PublishAckFuture, FederationError> {
    let me = federation.host();
    // JetStream drops a second copy of an id within its window: a batch
    // published again after a crash is one (the receiver would skip its
    // events anyway), and so is a snapshot of a state already sent.
    let msg_id = match (outcomes.first(), outcomes.last()) {
        (Some(first), _) if first.snapshot => {
            let id = first.event.delivery_ids().first().map(|id| id.to_string());
            format!(
                "{me}:snapshot:{}:{}",
                first.event.name(),
                id.unwrap_or_default()
            )
        }
        (Some(first), Some(last)) => format!("{me}:{}-{}:{}", first.seq, last.seq, outcomes.len()),
        _ => return Err(FederationError::NothingToPublish),
    };
    let wire = OutcomeWire {
        host: me.to_string(),
        outcomes,
    };
    federation
        .publish_json(federation.names().outcome(origin), &wire, &msg_id)
        .await
}

pub async fn run_consumer(local: Local, federation: Federation) {
    let names = federation.names();
    let source = Source {
        stream: names.outcome_stream(),
        durable: names.outcome_consumer(),
        subject: names.outcome(federation.host()),
    };
    let store = local.store_handle();
    let handler_federation = federation.clone();
    consume::run(local, federation, source, move |batch| {
        let (store, federation) = (store.clone(), handler_federation.clone());
        async move { apply(&store, &federation, batch).await }
    })
    .await;
}

async fn apply(
    store: &Store,
    federation: &Federation,
    batch: Vec<jetstream::Message>,
) -> Result<(), FederationError> {
    // Consecutive outcomes of one host, in arrival order.
    let mut groups: Vec<(String, Vec<RemoteOutcome>)> = Vec::new();
    let mut messages = Vec::with_capacity(batch.len());
    for message in batch {
        match serde_json::from_slice::<OutcomeWire>(&message.payload) {
            Ok(wire) => {
                match groups.last_mut() {
                    Some((host, outcomes)) if *host == wire.host => outcomes.extend(wire.outcomes),
                    _ => groups.push((wire.host, wire.outcomes)),
                }
                messages.push(message);
            }
            Err(e) => {
                tracing::warn!(subject = %message.subject, error = %e, "unreadable outcome; discarded");
                let _ = message.ack_with(AckKind::Term).await;
            }
        }
    }
    for (host, outcomes) in groups {
        let ids: Vec<DeliveryId> = outcomes
            .iter()
            .flat_map(|o| o.event.delivery_ids().into_iter().cloned())
            .collect();
        store
            .apply_outcomes_async(host, outcomes)
            .await
            .map_err(FederationError::store("apply outcomes"))?;
        // Any outcome says its host holds the delivery: no more forwards.
        federation.inner.forwarder.answered(&ids);
    }
    for message in &messages {
        let _ = message.ack().await;
    }
    Ok(())
}
