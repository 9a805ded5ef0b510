//! A person's keystrokes into one agent's terminal: each remembered (so
//! the agent's delivery loop holds deliveries for the typing window, see
//! `typing.rs`) and then written exactly as typed.

use std::sync::Arc;

use courier_core::time::{Clock, SystemClock};
use courier_terminal::{Terminal, TerminalError};
use tokio::sync::Notify;

use super::control::AgentControl;
use crate::terminals::AgentTerminal;

/// A person's way into one agent's terminal.
#[derive(Clone)]
pub struct PersonInput {
    session: Arc<AgentTerminal>,
    control: Arc<AgentControl>,
    wake: Arc<Notify>,
}

impl PersonInput {
    /// Remembers the keystroke, so the agent's delivery loop holds at once,
    /// then writes `bytes` as they are.
    pub async fn write(&self, bytes: &[u8]) -> Result<(), TerminalError> {
        if self.session.native().is_some() {
            // No terminal, so nothing typed to hold deliveries for.
            return self.session.write(bytes).await;
        }
        self.control.typing.typed(SystemClock.now());
        self.wake.notify_one();
        self.session.write(bytes).await
    }

    /// The agent's terminal (to watch it, or resize it).
    pub fn terminal(&self) -> &Arc<AgentTerminal> {
        &self.session
    }
}

impl PersonInput {
    pub fn new(
        session: Arc<AgentTerminal>,
        control: Arc<AgentControl>,
        wake: Arc<Notify>,
    ) -> PersonInput {
        PersonInput {
            session,
            control,
            wake,
        }
    }
}
