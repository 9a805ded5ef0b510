//! An agent reports that it finished its task, with a result: an event
//! (`agent_done`) and the `done`/`result` fields of its listing, until its
//! process is started again.

use courier_core::event::EventKind;

use crate::agent_ops::Done;
use crate::broker::Broker;
use crate::error::BrokerError;

impl Broker {
    /// Records that `name` is done, with `result` (at most the largest
    /// message body).
    pub async fn report_done(&self, name: &str, result: Option<String>) -> Result<(), BrokerError> {
        let limit = self.inner.config.max_body_bytes;
        if let Some(text) = &result
            && text.len() > limit
        {
            return Err(courier_core::CoreError::BodyTooLarge {
                size: text.len(),
                limit,
            }
            .into());
        }
        if !self.inner.agents.lock().await.contains_key(name) {
            return Err(BrokerError::UnknownAgent(name.to_string()));
        }
        self.inner
            .store
            .append_event_async(EventKind::AgentDone {
                name: name.to_string(),
                result: result.clone(),
            })
            .await?;
        self.inner.ops.update(name, |o| {
            o.done = Some(Done {
                at: crate::crash::now(),
                result,
            })
        });
        tracing::info!(agent = name, "agent reported done");
        Ok(())
    }

    /// A copy of `name`'s operating entry (dead, restarting, done), for the
    /// state its listings show.
    pub fn ops_of(&self, name: &str) -> Option<crate::agent_ops::AgentOps> {
        self.inner.ops.get(name)
    }
}
