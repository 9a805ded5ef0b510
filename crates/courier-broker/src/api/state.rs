//! What every handler of the API shares: the broker, the owner's token,
//! the dashboard's sessions, where the API is bound, and the revocations
//! that end open streams.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;

use super::host_check::Access;
use crate::auth::sessions::{UiSessions, session_cookie_name};
use crate::broker::Broker;

#[derive(Clone)]
pub struct AppState {
    pub broker: Broker,
    token: Arc<str>,
    sessions: Arc<UiSessions>,
    pub(crate) access: Arc<Access>,
    revocations: Arc<Revocations>,
}

impl AppState {
    /// The state of an API served at `bound` with the owner's `token`.
    pub fn new(broker: Broker, token: &str, bound: SocketAddr) -> AppState {
        let access = Access::new(bound, &broker.config().allow_hosts);
        AppState {
            broker,
            token: Arc::from(token),
            sessions: Arc::new(UiSessions::default()),
            access: Arc::new(access),
            revocations: Arc::new(Revocations::default()),
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The dashboard's login codes and sessions.
    pub fn sessions(&self) -> &UiSessions {
        &self.sessions
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The name of this broker's session cookie (see [`session_cookie_name`]).
    pub fn cookie_name(&self) -> String {
        session_cookie_name(self.access.bound.port())
    }

    /// Open streams of a revoked credential end through this.
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }
}

/// Bumped whenever a credential is revoked or a session ends, so open
/// streams look at theirs at once.
#[derive(Debug)]
pub struct Revocations(watch::Sender<u64>);

impl Default for Revocations {
    fn default() -> Self {
        Revocations(watch::channel(0).0)
    }
}

impl Revocations {
    /// A receiver that changes at every revocation.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }

    pub fn notify(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}
