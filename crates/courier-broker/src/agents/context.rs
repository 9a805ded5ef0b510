//! Everything one generation of an agent's tasks (its screen watcher and
//! its delivery loop) share.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use courier_core::Reply;
use courier_core::event::EventKind;
use courier_store::Store;
use courier_terminal::DeliverOptions;
use tokio::sync::{Notify, watch};

use super::control::AgentControl;
use super::served_link::ServedLink;
use super::status::AgentStatus;
use crate::launch::framing_policy::FramingPolicy;
use crate::metrics::Metrics;
use crate::native::NativeSession;
use crate::shutdown::Shutdown;
use crate::spec::AgentSpec;
use crate::terminals::AgentTerminal;

/// Everything an agent task needs.
pub struct AgentContext {
    pub spec: AgentSpec,
    pub session: Arc<AgentTerminal>,
    pub store: Arc<Store>,
    pub options: DeliverOptions,
    pub metrics: Arc<Metrics>,
    pub shutdown: Shutdown,
    pub wake: Arc<Notify>,
    pub status: watch::Sender<AgentStatus>,
    pub control: Arc<AgentControl>,
    /// (dialog pattern, keys) the preset allows the broker to answer.
    pub dialog_answers: Vec<(regex::Regex, String)>,
    /// How each message is framed (per delivery, from what reads the
    /// terminal, unless fixed at spawn).
    pub framing: Arc<FramingPolicy>,
    /// The session survived the previous broker: settle what that broker
    /// left in flight on it before typing anything else.
    pub resumed: bool,
    /// The protocol its TUI shares, when it is a served agent.
    pub served: Arc<ServedLink>,
}

impl AgentContext {
    /// The agent's working directory, as its protocol's handshake names
    /// it: the spawn's, else the broker's.
    pub fn workdir(&self) -> String {
        self.spec
            .cwd
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| std::path::PathBuf::from("/"))
            .display()
            .to_string()
    }

    /// The protocol that carries the next delivery: a headless agent's,
    /// or the one its TUI shares while the broker is joined to it.
    pub fn native(&self) -> Option<Arc<NativeSession>> {
        match self.session.native() {
            Some(native) => Some(native.clone()),
            None => self.served.session(),
        }
    }

    /// Records an event of this agent; a store that cannot take it is
    /// logged (the agent keeps running).
    pub async fn record(&self, kind: EventKind) {
        if let Err(e) = self.store.append_event_async(kind).await {
            tracing::warn!(error = %e, "cannot record agent event");
        }
    }

    /// Records an event without waiting for its commit (a conversation's
    /// prompt, tool calls and reply, on the native path): it commits with
    /// the next write in order, at the latest with the delivery's outcome,
    /// which is awaited. A store that cannot take it is logged.
    pub fn record_queued(&self, kind: EventKind) {
        logged_if_lost(
            self.store.append_event_queued(kind),
            "cannot record agent event".into(),
        );
    }

    /// Records `reply` without waiting for its commit, queued like
    /// [`AgentContext::record_queued`].
    pub fn record_reply_queued(&self, reply: Reply) {
        let what = format!("cannot record the reply to {}", reply.reply_to);
        logged_if_lost(self.store.record_reply_queued(reply), what.into());
    }
}

/// Awaits a queued store write in a task of its own, logging `what` if
/// the store could not take it (nobody else waits for it).
fn logged_if_lost<T>(
    commit: impl Future<Output = Result<T, courier_store::StoreError>> + Send + 'static,
    what: Cow<'static, str>,
) {
    tokio::spawn(async move {
        if let Err(e) = commit.await {
            tracing::warn!(error = %e, "{what}");
        }
    });
}
