//! How long a stream may live: the credential it was opened with.
//!
//! A WebSocket or an SSE stream is authenticated once, at its start, and
//! may then run for hours; so revoking its token, the token's expiry, the
//! dashboard session's logout or expiry must end it too, not only refuse
//! the next request. Every stream holds a [`Lease`] and stops (a WebSocket
//! with a close frame, an SSE response by ending) when
//! [`Lease::ended`] resolves: at once on a revocation or logout (they bump
//! [`Revocations`](super::state::Revocations)), and within [`RECHECK`] of an expiry.

use std::sync::Arc;
use std::time::Duration;

use courier_core::time::{Clock, SystemClock};

use super::state::AppState;
use crate::auth::issued::Lookup;

/// How often an open stream looks again at a credential that can expire.
pub const RECHECK: Duration = Duration::from_millis(400);

/// What a stream was opened with, as far as its lifetime goes.
#[derive(Debug, Clone)]
pub enum Lease {
    /// The owner's token or an agent's: they end with the broker.
    Forever,
    /// An issued (observer) token, kept to look it up again.
    Issued(Arc<str>),
    /// A dashboard session, by id.
    Session(String),
}

impl Lease {
    /// Whether the credential still holds now.
    pub fn holds(&self, state: &AppState) -> bool {
        match self {
            Lease::Forever => true,
            Lease::Issued(token) => matches!(
                state
                    .broker
                    .issued_tokens()
                    .lookup(token, SystemClock.now()),
                Lookup::Valid(_)
            ),
            Lease::Session(id) => state.sessions().is_valid(id),
        }
    }

    /// Resolves once the credential no longer holds (never for
    /// [`Lease::Forever`]).
    pub async fn ended(self, state: AppState) {
        if matches!(self, Lease::Forever) {
            return std::future::pending().await;
        }
        let mut changes = state.revocations().subscribe();
        loop {
            if !self.holds(&state) {
                return;
            }
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep(RECHECK).await;
                    }
                }
                _ = tokio::time::sleep(RECHECK) => {}
            }
        }
    }
}
