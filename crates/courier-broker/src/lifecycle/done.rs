//! An agent reports that it finished its task, with a result: an event
//! (`agent_done`) and the `done`/`result` fields of its listing, until its
//! process is started again.

use courier_core::event::EventKind;

use courier_core::time::{Clock, SystemClock};

use super::state::Lifecycle;
use crate::agents::ops::Done;
use crate::error::BrokerError;

/// Records that `name` is done, with `result` (at most the largest
/// message body).
pub async fn report_done(
    lifecycle: &Lifecycle,
    name: &str,
    result: Option<String>,
) -> Result<(), BrokerError> {
    let limit = lifecycle.services.config.max_body_bytes;
    if let Some(text) = &result
        && text.len() > limit
    {
        return Err(courier_core::CoreError::BodyTooLarge {
            size: text.len(),
            limit,
        }
        .into());
    }
    if !lifecycle.registry.contains(name).await {
        return Err(BrokerError::unknown_agent(name));
    }
    lifecycle
        .services
        .store
        .append_event_async(EventKind::AgentDone {
            name: name.to_string(),
            result: result.clone(),
        })
        .await?;
    lifecycle.ops.update(name, |o| {
        o.done = Some(Done {
            at: SystemClock.now(),
            result,
        })
    });
    tracing::info!(agent = name, "agent reported done");
    Ok(())
}
