//! Receiving side: deliveries other hosts forwarded to this host's agents.
//! Each batch is committed to the store (a copy already there is
//! recognised by its delivery id) and only then acked, so JetStream forgets
//! a forward only once this host holds it durably. The commit's
//! `delivery_received` event goes back to the sender as an outcome.

use async_nats::jetstream;
use async_nats::jetstream::AckKind;
use courier_core::DeliveryId;
use courier_store::{Inbound, InboundDelivery, RemoteOutcome};

use super::consume::{self, Source};
use super::local::Local;
use super::membership::Federation;
use crate::error::federation::FederationError;

pub async fn run(local: Local, federation: Federation) {
    let names = federation.names();
    let source = Source {
        stream: names.inbox_stream(),
        durable: names.inbox_consumer(),
        subject: names.inbox(federation.host()),
    };
    let (handler_local, handler_federation) = (local.clone(), federation.clone());
    consume::run(local, federation, source, move |batch| {
        let (local, federation) = (handler_local.clone(), handler_federation.clone());
        async move { commit(&local, &federation, batch).await }
    })
    .await;
}

async fn commit(
    local: &Local,
    federation: &Federation,
    batch: Vec<jetstream::Message>,
) -> Result<(), FederationError> {
    let mut inbound = Vec::with_capacity(batch.len());
    let mut messages = Vec::with_capacity(batch.len());
    for message in batch {
        match serde_json::from_slice::<InboundDelivery>(&message.payload) {
            Ok(delivery) => {
                inbound.push(delivery);
                messages.push(message);
            }
            Err(e) => {
                // Not ours to understand (a newer or broken sender): never
                // redelivered for ever, never silently either.
                tracing::warn!(subject = %message.subject, error = %e, "unreadable forwarded delivery; discarded");
                let _ = message.ack_with(AckKind::Term).await;
            }
        }
    }
    if inbound.is_empty() {
        return Ok(());
    }
    let agents: Vec<String> = inbound.iter().map(|d| d.agent.clone()).collect();
    // What a duplicate's answer needs; the batch itself (bodies and all)
    // goes to the store.
    let senders: Vec<(DeliveryId, String)> = inbound
        .iter()
        .map(|d| (d.delivery_id.clone(), d.origin_host.clone()))
        .collect();
    let answers = local
        .store()
        .accept_inbound_async(inbound)
        .await
        .map_err(FederationError::store("commit forwarded deliveries"))?;
    for message in &messages {
        if let Err(e) = message.ack().await {
            tracing::debug!(error = %e, "ack lost; the copy that comes again is recognised");
        }
    }
    local.wake_agents(&agents).await;
    // A copy that came again means its sender has not heard of our commit
    // (slow, or an outcome lost with JetStream's own copy): tell it where
    // the delivery stands now.
    for ((id, origin), answer) in senders.iter().zip(&answers) {
        if *answer == Inbound::Duplicate {
            resend_state(local, federation, id, origin).await;
        }
    }
    Ok(())
}

async fn resend_state(local: &Local, federation: &Federation, id: &DeliveryId, origin: &str) {
    let delivery = match local.store().delivery_async(id).await {
        Ok(Some(delivery)) => delivery,
        Ok(None) => return, // pruned meanwhile: nothing to tell
        Err(e) => {
            tracing::warn!(delivery = %id, error = %e, "cannot read the state of a duplicate forward; the next copy asks again");
            return;
        }
    };
    let event = courier_core::remote::snapshot_event(&delivery, origin);
    let outcome = RemoteOutcome::snapshot(event);
    if let Err(e) = super::outcomes::publish_one(federation, origin, outcome).await {
        tracing::debug!(delivery = %delivery.id, error = %e, "state of a duplicate not sent; the next copy asks again");
    }
}
