//! What the lifecycle works with: the shared services, the registry of
//! running agents, where terminals come from, the agents' operating records
//! and identities, the API's URL (given to agents), the workspace (if this
//! broker joined one), and the queue of restart requests.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use crate::agents::ops::OpsBoard;
use crate::agents::registry::Registry;
use crate::auth::identities::AgentIdentities;
use crate::error::BrokerError;
use crate::federation::Federation;
use crate::services::Services;
use crate::terminals::TerminalOpener;

/// A supervisor's request to start the next generation of an agent whose
/// process ended; answered with whether it started (`Ok(false)`: nothing to
/// restart: released, replaced, or the broker is stopping).
pub struct RestartRequest {
    pub name: String,
    /// The session of the generation that ended: a restart applies only if
    /// it is still the current one.
    pub session: String,
    pub attempt: u32,
    pub reply: oneshot::Sender<Result<bool, BrokerError>>,
}

/// The lifecycle's parts (cheap to clone: every field is shared).
#[derive(Clone)]
pub struct Lifecycle {
    pub services: Services,
    pub registry: Arc<Registry>,
    pub terminals: Arc<TerminalOpener>,
    pub ops: Arc<OpsBoard>,
    pub identities: Arc<AgentIdentities>,
    /// The API's URL, given to agents as `COURIER_URL`.
    pub public_url: Arc<OnceLock<String>>,
    /// The workspace this broker joined (`courier up --nats`), if any.
    pub federation: Arc<OnceLock<Federation>>,
    restarts: mpsc::UnboundedSender<RestartRequest>,
}

impl Lifecycle {
    /// The lifecycle, and the queue its restarter (`restart::serve`) reads.
    pub fn new(
        services: Services,
        registry: Arc<Registry>,
        terminals: Arc<TerminalOpener>,
    ) -> (Lifecycle, mpsc::UnboundedReceiver<RestartRequest>) {
        let (restarts, requests) = mpsc::unbounded_channel();
        let lifecycle = Lifecycle {
            services,
            registry,
            terminals,
            ops: Arc::new(OpsBoard::default()),
            identities: Arc::new(AgentIdentities::default()),
            public_url: Arc::new(OnceLock::new()),
            federation: Arc::new(OnceLock::new()),
            restarts,
        };
        (lifecycle, requests)
    }

    /// The workspace this broker joined, if any.
    pub fn federation(&self) -> Option<&Federation> {
        self.federation.get()
    }

    /// Asks the restarter to start the next generation of `name` (whose
    /// generation on `session` ended) and waits for the answer.
    pub async fn request_restart(
        &self,
        name: &str,
        session: &str,
        attempt: u32,
    ) -> Result<bool, BrokerError> {
        let (reply, answer) = oneshot::channel();
        let request = RestartRequest {
            name: name.to_string(),
            session: session.to_string(),
            attempt,
            reply,
        };
        if self.restarts.send(request).is_err() {
            return Ok(false); // the restarter ended: the broker is stopping
        }
        answer.await.unwrap_or(Ok(false))
    }

    /// Lets go of `name`'s token (hash and plain) and its operating record.
    pub fn forget_identity(&self, name: &str) {
        self.identities.forget(name);
        self.ops.forget(name);
    }
}
