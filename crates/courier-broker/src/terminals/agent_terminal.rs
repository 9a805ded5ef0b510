//! An agent's terminal as the broker holds it: a PTY of its own process
//! ([`Session`], for ephemeral brokers and tests) or one served by a session
//! host ([`RemoteSession`]), which outlives a crash of the broker so the next
//! one can reattach and settle in-flight deliveries from the screen.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use courier_terminal::host::RemoteSession;
use courier_terminal::{ExitInfo, OutputWatch, Session, Snapshot, Terminal, TerminalError};
use tokio::sync::{broadcast, watch};

use crate::native::{HeadlessProcess, NativeSession};

pub enum AgentTerminal {
    Local(Session),
    /// Boxed: a remote session carries its spawn spec and screen handles.
    Hosted(Box<RemoteSession>),
    /// A headless agent: its CLI on pipes, spoken to in its own protocol
    /// (no PTY; its stderr is its screen).
    Headless(Box<HeadlessProcess>),
}

impl AgentTerminal {
    /// Whether the program lives in a session host (and survives the broker).
    pub fn is_hosted(&self) -> bool {
        matches!(self, AgentTerminal::Hosted(_))
    }

    /// The protocol client of a headless agent.
    pub fn native(&self) -> Option<&Arc<NativeSession>> {
        match self {
            AgentTerminal::Headless(process) => Some(process.native()),
            _ => None,
        }
    }
}

macro_rules! each {
    ($self:ident, $t:ident => $e:expr) => {
        match $self {
            AgentTerminal::Local($t) => $e,
            AgentTerminal::Hosted($t) => $e,
            AgentTerminal::Headless($t) => $e,
        }
    };
}

impl Terminal for AgentTerminal {
    fn id(&self) -> &str {
        each!(self, t => t.id())
    }

    fn agent(&self) -> &str {
        each!(self, t => t.agent())
    }

    fn pid(&self) -> u32 {
        each!(self, t => t.pid())
    }

    fn adopter(&self) -> Option<u32> {
        each!(self, t => t.adopter())
    }

    fn spawned_at(&self) -> Instant {
        each!(self, t => t.spawned_at())
    }

    fn snapshot(&self, scrollback_rows: usize) -> Snapshot {
        each!(self, t => t.snapshot(scrollback_rows))
    }

    fn formatted(&self) -> String {
        each!(self, t => t.formatted())
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        each!(self, t => t.subscribe())
    }

    fn subscribe_output(&self) -> broadcast::Receiver<Bytes> {
        each!(self, t => t.subscribe_output())
    }

    fn watch_output(&self) -> OutputWatch {
        each!(self, t => t.watch_output())
    }

    fn exit_status(&self) -> Option<ExitInfo> {
        each!(self, t => t.exit_status())
    }

    async fn write(&self, bytes: &[u8]) -> Result<(), TerminalError> {
        each!(self, t => t.write(bytes).await)
    }

    fn resize(&self, rows: u16, cols: u16) -> Result<(), TerminalError> {
        each!(self, t => t.resize(rows, cols))
    }

    async fn wait_exit(&self) -> ExitInfo {
        each!(self, t => t.wait_exit().await)
    }

    fn enter_timing(&self) -> &std::sync::Mutex<courier_terminal::enter_timing::EnterTiming> {
        each!(self, t => t.enter_timing())
    }

    async fn kill(&self) -> Option<ExitInfo> {
        each!(self, t => t.kill().await)
    }
}
