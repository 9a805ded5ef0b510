//! Receiving side: deliveries other hosts forwarded to this host's agents.
//! Each batch is committed to the store (a copy already there is
//! recognised by its delivery id) and only then acked, so JetStream forgets
//! a forward only once this host holds it durably. The commit's
//! `delivery_received` event goes back to the sender as an outcome.

use async_nats::jetstream;
use async_nats::jetstream::AckKind;
use courier_store::{Inbound, InboundDelivery};

use super::Federation;
use super::consume::{self, Source};
use crate::broker::Broker;

pub async fn run(broker: Broker, federation: Federation) {
    let names = federation.names();
    let source = Source {
        stream: names.inbox_stream(),
        durable: names.inbox_consumer(),
        subject: names.inbox(federation.host()),
    };
    let handler_broker = broker.clone();
    consume::run(broker, federation, source, move |batch| {
        let broker = handler_broker.clone();
        async move { commit(&broker, batch).await }
    })
    .await;
}

async fn commit(broker: &Broker, batch: Vec<jetstream::Message>) -> Result<(), String> {
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
    let answers = broker
        .store()
        .accept_inbound_async(inbound)
        .await
        .map_err(|e| format!("cannot commit forwarded deliveries: {e}"))?;
    for message in &messages {
        if let Err(e) = message.ack().await {
            tracing::debug!(error = %e, "ack lost; the copy that comes again is recognised");
        }
    }
    let duplicates = answers.iter().filter(|a| **a == Inbound::Duplicate).count();
    if duplicates > 0 {
        tracing::debug!(duplicates, "forwarded deliveries already committed here");
    }
    broker.wake_agents(&agents).await;
    Ok(())
}
