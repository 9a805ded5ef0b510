//! The narrow interface the broker talks to: one agent's terminal.
//!
//! [`crate::Session`] implements it for a PTY owned by this process; a later
//! host that keeps sessions in a detached process (so agents survive a broker
//! restart) implements the same trait over a socket. Readiness, injection and
//! verification ([`crate::deliver`]) only use this trait.

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::error::TerminalError;
use crate::output::OutputWatch;
use crate::screen::Snapshot;

/// How a session's program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// Exit code, when it exited normally.
    pub code: Option<i32>,
    /// Signal number, when a signal ended it.
    pub signal: Option<i32>,
}

impl std::fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (_, Some(sig)) => write!(f, "killed by signal {sig}"),
            (Some(code), None) => write!(f, "exited with code {code}"),
            (None, None) => f.write_str("exited"),
        }
    }
}

/// One agent's terminal: write, resize, read the screen, watch it, end it.
pub trait Terminal: Send + Sync {
    /// The session id (unique per spawned process).
    fn id(&self) -> &str;
    /// The agent name, for logs and errors.
    fn agent(&self) -> &str;
    /// Pid of the program (also its process group id).
    fn pid(&self) -> u32;
    /// The pid of the process that adopts the orphans of the program's
    /// session (its session host), so that the whole session lies below
    /// it; None when nothing does.
    fn adopter(&self) -> Option<u32> {
        None
    }
    /// When the program was started.
    fn spawned_at(&self) -> Instant;
    /// The screen now, with up to `scrollback_rows` of scrollback.
    fn snapshot(&self, scrollback_rows: usize) -> Snapshot;
    /// The screen with attributes, as escape sequences that redraw it.
    fn formatted(&self) -> String;
    /// A counter that changes on every output chunk and on exit.
    fn subscribe(&self) -> watch::Receiver<u64>;
    /// The program's raw output from now on, chunk by chunk as the session
    /// reads it (a bounded broadcast: a receiver that falls behind gets
    /// `Lagged` and should start again from [`Terminal::watch_output`]).
    fn subscribe_output(&self) -> broadcast::Receiver<Bytes>;
    /// The screen painted as escape sequences plus every output chunk read
    /// after that copy, taken together so no byte is missed or repeated.
    fn watch_output(&self) -> OutputWatch;
    /// How the program ended, once it has.
    fn exit_status(&self) -> Option<ExitInfo>;
    /// Writes bytes to the terminal input without blocking the runtime.
    fn write(&self, bytes: &[u8]) -> impl Future<Output = Result<(), TerminalError>> + Send;
    /// Changes the terminal size (the program gets SIGWINCH).
    fn resize(&self, rows: u16, cols: u16) -> Result<(), TerminalError>;
    /// Waits until the program has ended.
    fn wait_exit(&self) -> impl Future<Output = ExitInfo> + Send;
    /// Ends the program and everything it started (hang-up and terminate,
    /// a short grace, then kill), and returns how it ended.
    fn kill(&self) -> impl Future<Output = Option<ExitInfo>> + Send;
    /// What this program's composer taught about when Enter submits.
    fn enter_timing(&self) -> &std::sync::Mutex<crate::enter_timing::EnterTiming>;
}

/// Waits until `exit` holds an exit; an unknown one if its sender is gone.
pub(crate) async fn wait_for_exit(mut exit: watch::Receiver<Option<ExitInfo>>) -> ExitInfo {
    loop {
        if let Some(info) = *exit.borrow_and_update() {
            return info;
        }
        if exit.changed().await.is_err() {
            return ExitInfo {
                code: None,
                signal: None,
            };
        }
    }
}
