//! Sending side: deliveries to agents of other hosts.
//!
//! A delivery to a remote agent is committed here first, like any other
//! (`queued`). The forwarder publishes it on the workspace's inbox stream,
//! subject of the agent's host, with the delivery id as `Nats-Msg-Id`, and
//! publishes it again (same id) with backoff until that host's commit comes
//! back as an outcome (`delivery_received`, which makes it `forwarded`
//! here). Nothing here is durable: after a restart every queued remote
//! delivery is simply published again, and the receiver recognises the
//! ones it already has.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_nats::jetstream::context::PublishAckFuture;
use courier_core::{Delivery, DeliveryId, Message};
use courier_store::InboundDelivery;

use super::{Federation, backoff};
use crate::broker::Broker;

/// How often pending forwards are looked at without a wake.
const SWEEP_EVERY: Duration = Duration::from_millis(500);
/// The longest wait before publishing an unanswered forward again.
const MAX_REPUBLISH: Duration = Duration::from_secs(30);
/// The first wait: longer than a commit round trip on a healthy link.
const FIRST_REPUBLISH: Duration = Duration::from_secs(2);
/// Pending forwards read per sweep.
const BATCH: usize = 1024;

#[derive(Default)]
pub struct Forwarder {
    wake: tokio::sync::Notify,
    /// Published and not answered yet: when, and how many times.
    sent: Mutex<HashMap<DeliveryId, (Instant, u32)>>,
}

impl Forwarder {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DeliveryId, (Instant, u32)>> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `id` should be published now (never, or its wait is over);
    /// records the publish.
    fn due(&self, id: &DeliveryId) -> bool {
        let mut sent = self.lock();
        let now = Instant::now();
        match sent.get_mut(id) {
            None => {
                sent.insert(id.clone(), (now, 0));
                true
            }
            Some((at, times)) => {
                let wait = FIRST_REPUBLISH
                    .saturating_mul(1 << (*times).min(8))
                    .min(MAX_REPUBLISH);
                if now.duration_since(*at) >= wait {
                    *at = now;
                    *times += 1;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// A publish failed: try again at the next sweep.
    fn failed(&self, id: &DeliveryId) {
        self.lock().remove(id);
    }

    /// Forgets answered deliveries (no longer pending).
    fn retain(&self, pending: &HashSet<DeliveryId>) {
        self.lock().retain(|id, _| pending.contains(id));
    }
}

pub async fn run(broker: Broker, federation: Federation) {
    let forwarder = &federation.inner.forwarder;
    let mut failures = 0;
    loop {
        tokio::select! {
            _ = forwarder.wake.notified() => {}
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = broker.shutdown_signal().wait() => return,
        }
        match sweep(&broker, &federation).await {
            Ok(()) => failures = 0,
            Err(e) => {
                failures += 1;
                tracing::debug!(error = %e, "forwarding deferred");
                if !super::pause(&broker, backoff(failures, Duration::from_secs(2))).await {
                    return;
                }
            }
        }
    }
}

async fn sweep(broker: &Broker, federation: &Federation) -> Result<(), String> {
    let store = broker.store();
    let pending = store.pending_forwards(BATCH).map_err(|e| e.to_string())?;
    let forwarder = &federation.inner.forwarder;
    if pending.len() < BATCH {
        forwarder.retain(&pending.iter().map(|d| d.id.clone()).collect());
    }
    if pending.is_empty() || !federation.is_connected() {
        return Ok(());
    }
    let hosts: HashMap<String, String> = store
        .remote_agents()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|a| (a.name, a.host))
        .collect();
    let mut acks: Vec<(DeliveryId, PublishAckFuture)> = Vec::new();
    for delivery in pending {
        let Some(host) = hosts.get(&delivery.agent) else {
            continue;
        };
        if !forwarder.due(&delivery.id) {
            continue;
        }
        let Some(message) = store
            .message_only(&delivery.message_id)
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        match publish(federation, host, &delivery, message).await {
            Ok(ack) => acks.push((delivery.id, ack)),
            Err(e) => {
                forwarder.failed(&delivery.id);
                return Err(e);
            }
        }
    }
    // The stream's ack says NATS holds it; only the receiver's commit
    // (an outcome) ends the forward. A missing ack means publish again.
    if !acks.is_empty() {
        let federation = federation.clone();
        tokio::spawn(async move {
            for (id, ack) in acks {
                if let Err(e) = ack.await {
                    tracing::debug!(delivery = %id, error = %e, "forward not acknowledged by JetStream; publishing again");
                    federation.inner.forwarder.failed(&id);
                    federation.wake_forwarder();
                }
            }
        });
    }
    Ok(())
}

async fn publish(
    federation: &Federation,
    host: &str,
    delivery: &Delivery,
    message: Message,
) -> Result<PublishAckFuture, String> {
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
