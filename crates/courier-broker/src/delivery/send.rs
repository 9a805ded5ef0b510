//! Accepting a message: committed durably under the ACL, then each
//! recipient's delivery loop woken (or the delivery forwarded to the host
//! its agent lives on). Every entry point sends through here.

use courier_core::{CoreError, DeliveryState, NewMessage};
use courier_store::{SendOutcome, SendReceipt};

use super::ended::drop_for_dead;
use crate::agents::ops::OpsBoard;
use crate::agents::registry::Registry;
use crate::error::BrokerError;
use crate::federation::Federation;
use crate::metrics::Metrics;
use crate::services::Services;

/// Commits a send durably, then wakes each recipient's task. The ACL
/// (`--acl`) judges every send: one refused as a whole is an `acl_denied`
/// error with nothing stored but its `message_refused` event; recipients
/// of a fan-out the rules refuse are in the receipt's `refused`.
pub async fn send(
    services: &Services,
    registry: &Registry,
    ops: &OpsBoard,
    federation: Option<&Federation>,
    message: NewMessage,
) -> Result<SendReceipt, BrokerError> {
    if services.shutdown.is_triggered() {
        return Err(BrokerError::shutting_down());
    }
    let acl = services.config.acl.clone();
    let receipt = match services.store.send_under_async(message, acl).await? {
        SendOutcome::Sent(receipt) => receipt,
        SendOutcome::Refused {
            from,
            to,
            rule,
            refused,
            ..
        } => {
            Metrics::inc(&services.metrics.messages_refused);
            tracing::info!(%from, %to, %rule, "the ACL refused a send");
            return Err(BrokerError::from(CoreError::AclDenied {
                from,
                to: to.to_string(),
                rule,
                refused,
            }));
        }
    };
    let m = &services.metrics;
    if receipt.duplicate {
        Metrics::inc(&m.messages_duplicate);
    } else {
        Metrics::inc(&m.messages_accepted);
        Metrics::add(&m.deliveries_dropped, receipt.dropped.len() as u64);
        drop_for_dead(&services.store, ops, &receipt).await;
    }
    let agents = registry.lock().await;
    let mut remote = Vec::new();
    for delivery in &receipt.deliveries {
        match agents.get(&delivery.agent) {
            Some(agent) => agent.wake.notify_one(),
            None if delivery.state == DeliveryState::Queued => remote.push(delivery.clone()),
            None => {}
        }
    }
    drop(agents);
    if let (false, Some(federation)) = (remote.is_empty() || receipt.duplicate, federation) {
        federation.forward(&receipt.message, remote);
    }
    Ok(receipt)
}
