//! Sending side: deliveries to agents of other hosts.
//!
//! A delivery to a remote agent is committed here first, like any other
//! (`queued`). The forwarder publishes it on the workspace's inbox stream,
//! subject of the agent's host, with the delivery id as `Nats-Msg-Id`, and
//! publishes it again (same id) with backoff until that host answers (any
//! outcome of it: `delivery_received` makes it `forwarded` here).
//!
//! - Fast path: a send hands its fresh deliveries over in memory
//!   ([`Forwarder::hand_over`]); they are published at once, with no store
//!   read.
//! - Sweep: the store's queued remote deliveries are read only when one may
//!   need publishing again (a wait is over), when asked (start, a new remote
//!   agent, a lost publish), never while NATS is away. After a restart the
//!   first sweep publishes every pending forward again; the receiver
//!   recognises the ones it already has.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::context::PublishAckFuture;
use courier_core::{Delivery, DeliveryId, Message};
use courier_store::{InboundDelivery, Store};

use super::local::Local;
use super::membership::Federation;
use super::util::{backoff, locked};
use crate::error::federation::FederationError;

/// How often the forwarder looks whether a sweep is due without a wake.
const TICK: Duration = Duration::from_millis(500);
/// Pending forwards read per sweep (one page of the backlog).
const BATCH: usize = 1024;
pub async fn run(local: Local, federation: Federation) {
    let forwarder = &federation.inner.forwarder;
    forwarder.wake(); // a restart publishes what was pending
    let mut failures = 0;
    loop {
        tokio::select! {
            _ = forwarder.wake.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
            _ = local.shutdown_signal().wait() => return,
        }
        if !federation.is_connected() {
            // Kept for when NATS is back: the fresh ones are in the store.
            locked(&forwarder.fresh).clear();
            forwarder.ask_sweep();
            continue;
        }
        let mut fresh = std::mem::take(&mut *locked(&forwarder.fresh));
        fresh.retain(|(d, _)| forwarder.due(&d.id));
        let mut result = publish_all(&federation, fresh).await;
        if result.is_ok() && forwarder.sweep_due() {
            result = sweep(&local, &federation).await;
        }
        match result {
            Ok(()) => failures = 0,
            Err(e) => {
                failures += 1;
                forwarder.ask_sweep();
                tracing::debug!(error = %e, "forwarding deferred");
                if !super::util::pause(&local, backoff(failures, Duration::from_secs(2))).await {
                    return;
                }
            }
        }
    }
}

/// Reads the next page of the store's pending forwards and publishes the
/// due ones; a longer backlog is read on at the next turn (see
/// [`Forwarder::page_read`]), so every pending forward is looked at, not
/// only the oldest page.
async fn sweep(local: &Local, federation: &Federation) -> Result<(), FederationError> {
    let forwarder = &federation.inner.forwarder;
    let page = local
        .store()
        .pending_forwards_async(forwarder.sweep_from(), BATCH)
        .await
        .map_err(FederationError::store("read the pending forwards"))?;
    forwarder.page_read(page.deliveries.iter().map(|d| &d.id), page.next);
    let due: Vec<Delivery> = page
        .deliveries
        .into_iter()
        .filter(|d| forwarder.due(&d.id))
        .collect();
    if due.is_empty() {
        return Ok(());
    }
    let with_messages = with_messages(local.store(), due).await?;
    publish_all(federation, with_messages).await
}

async fn with_messages(
    store: &Store,
    due: Vec<Delivery>,
) -> Result<Vec<(Delivery, Message)>, FederationError> {
    let mut messages: HashMap<courier_core::MessageId, Message> = HashMap::new();
    let mut out = Vec::with_capacity(due.len());
    for delivery in due {
        let message = match messages.get(&delivery.message_id) {
            Some(m) => m.clone(),
            None => match store
                .message_only_async(&delivery.message_id)
                .await
                .map_err(FederationError::store("read a forwarded message"))?
            {
                Some(m) => {
                    messages.insert(m.id.clone(), m.clone());
                    m
                }
                None => continue, // pruned meanwhile
            },
        };
        out.push((delivery, message));
    }
    Ok(out)
}

/// Publishes each forward (each one due, see [`Forwarder::due`]) to its
/// agent's host; the acks are awaited apart.
async fn publish_all(
    federation: &Federation,
    forwards: Vec<(Delivery, Message)>,
) -> Result<(), FederationError> {
    if forwards.is_empty() {
        return Ok(());
    }
    let forwarder = &federation.inner.forwarder;
    let mut acks: Vec<(DeliveryId, PublishAckFuture)> = Vec::with_capacity(forwards.len());
    let mut forwards = forwards.into_iter();
    let mut failure = None;
    for (delivery, message) in forwards.by_ref() {
        let Some(host) = federation.host_of(&delivery.agent) else {
            forwarder.failed(&delivery.id); // the directory catches up; swept again
            continue;
        };
        match publish(federation, &host, &delivery, message).await {
            Ok(ack) => acks.push((delivery.id, ack)),
            Err(e) => {
                forwarder.failed(&delivery.id);
                failure = Some(e);
                break;
            }
        }
    }
    for (delivery, _) in forwards {
        forwarder.failed(&delivery.id);
    }
    // The stream's ack says NATS holds it; only the receiver's answer (an
    // outcome) ends the forward. A missing ack means publish again.
    if !acks.is_empty() {
        let federation = federation.clone();
        tokio::spawn(async move {
            for (id, ack) in acks {
                if let Err(e) = ack.await {
                    tracing::debug!(delivery = %id, error = %e, "forward not acknowledged by JetStream; publishing again");
                    federation.inner.forwarder.failed(&id);
                    federation.inner.forwarder.wake.notify_one();
                }
            }
        });
    }
    failure.map_or(Ok(()), Err)
}

async fn publish(
    federation: &Federation,
    host: &str,
    delivery: &Delivery,
    message: Message,
) -> Result<PublishAckFuture, FederationError> {
    let inbound = InboundDelivery {
        delivery_id: delivery.id.clone(),
        agent: delivery.agent.clone(),
        message,
        origin_host: federation.host().to_string(),
    };
    federation
        .publish_json(
            federation.names().inbox(host),
            &inbound,
            delivery.id.as_str(),
        )
        .await
}
