//! Where a terminal agent's served protocol stands (Codex's app server
//! that its TUI joined, `launch/served.rs`): joining, joined (deliveries go
//! through it, channel `native`) or gone (they are typed into the
//! terminal). `served_joiner.rs` joins it and keeps it joined.

use std::sync::Arc;

use tokio::sync::watch;

use crate::launch::served::Served;
use crate::native::NativeSession;

/// Where an agent's served protocol stands.
#[derive(Clone, Default)]
pub enum LinkState {
    /// Not a served agent: its terminal is its only channel.
    #[default]
    None,
    /// The first join is under way: deliveries wait for it.
    Joining,
    /// Joined: deliveries go through it.
    Joined(Arc<NativeSession>),
    /// Gone, or never joined: deliveries are typed (why).
    Gone(String),
}

/// The current state of an agent's served protocol, shared by its tasks.
pub struct ServedLink {
    state: watch::Sender<LinkState>,
    /// What to join; `None`: not a served agent.
    pub served: Option<Served>,
}

impl ServedLink {
    pub fn new(served: Option<Served>) -> ServedLink {
        let state = if served.is_some() {
            LinkState::Joining
        } else {
            LinkState::None
        };
        ServedLink {
            state: watch::channel(state).0,
            served,
        }
    }

    /// The session to deliver through, while joined.
    pub fn session(&self) -> Option<Arc<NativeSession>> {
        match &*self.state.borrow() {
            LinkState::Joined(session) => Some(session.clone()),
            _ => None,
        }
    }

    /// Whether deliveries wait for the first join.
    pub fn joining(&self) -> bool {
        matches!(*self.state.borrow(), LinkState::Joining)
    }

    /// Whether the broker had given up on it (deliveries were typed).
    pub fn gone(&self) -> bool {
        matches!(*self.state.borrow(), LinkState::Gone(_))
    }

    pub fn set(&self, state: LinkState) {
        self.state.send_replace(state);
    }
}
