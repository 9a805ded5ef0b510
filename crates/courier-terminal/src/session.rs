//! [`Session`]: one program in a PTY owned by this process, behind the
//! [`Terminal`] interface.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use portable_pty::{MasterPty, PtySize};
use tokio::sync::{broadcast, oneshot, watch};

use crate::error::TerminalError;
use crate::output::{DEFAULT_OUTPUT_CHUNKS, OutputWatch};
use crate::pty::{self, Shared, SpawnSpec, WriteJob};
use crate::screen::Snapshot;
use crate::terminal::{ExitInfo, Terminal};

/// A program running in a PTY. Dropping it ends the program and everything
/// it started (in a background thread).
pub struct Session {
    id: String,
    pid: u32,
    spawned_at: Instant,
    grace: Duration,
    master: Mutex<Box<dyn MasterPty + Send>>,
    writer: mpsc::Sender<WriteJob>,
    shared: Arc<Shared>,
    released: AtomicBool,
    enter_timing: Mutex<crate::enter_timing::EnterTiming>,
}

fn new_session_id(agent: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{agent}-{nanos:x}-{n}")
}

impl Session {
    /// Spawns `spec` in a new PTY, in its own session and process group.
    pub fn spawn(spec: &SpawnSpec) -> Result<Session, TerminalError> {
        Session::spawn_with_output(spec, DEFAULT_OUTPUT_CHUNKS)
    }

    /// [`Session::spawn`], with live viewers allowed to fall `output_chunks`
    /// output chunks behind before they are resynchronised.
    pub fn spawn_with_output(
        spec: &SpawnSpec,
        output_chunks: usize,
    ) -> Result<Session, TerminalError> {
        let id = new_session_id(&spec.agent);
        let span = tracing::info_span!("spawn", agent = %spec.agent, session = %id);
        let _enter = span.enter();
        let spawned_at = Instant::now();
        let parts = pty::spawn(spec, &id, output_chunks)?;
        tracing::info!(pid = parts.pid, command = %spec.command_line(), "agent spawned");
        Ok(Session {
            id,
            pid: parts.pid,
            spawned_at,
            grace: spec.kill_grace,
            master: Mutex::new(parts.master),
            writer: parts.writer,
            shared: parts.shared,
            released: AtomicBool::new(false),
            enter_timing: Mutex::default(),
        })
    }

    fn screen(&self) -> std::sync::MutexGuard<'_, crate::screen::ScreenState> {
        // A panic while holding the lock leaves a usable screen: take it.
        self.shared
            .screen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the screen as escape sequences plus every output byte from
    /// then on (for a session host's client; replaces an earlier tap). The
    /// copy is the full paint, alternate screen included: a client that
    /// attached after a TUI switched to it must know it is there.
    pub fn tap_output(&self) -> (String, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
        let screen = self.screen();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        *self
            .shared
            .tap
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tx);
        (screen.paint(), rx)
    }

    /// The terminal size now.
    pub fn size(&self) -> (u16, u16) {
        self.screen().size()
    }

    fn sweep_blocking(&self) {
        let exit = self.shared.exit.subscribe();
        pty::sweep(self.pid as i32, &self.id, self.grace, &|| {
            exit.borrow().is_some()
        });
    }
}

impl Terminal for Session {
    fn id(&self) -> &str {
        &self.id
    }

    fn agent(&self) -> &str {
        &self.shared.agent
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn spawned_at(&self) -> Instant {
        self.spawned_at
    }

    fn snapshot(&self, scrollback_rows: usize) -> Snapshot {
        self.screen().snapshot(scrollback_rows)
    }

    fn formatted(&self) -> String {
        self.screen().formatted()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    fn subscribe_output(&self) -> broadcast::Receiver<Bytes> {
        self.shared.output.subscribe()
    }

    fn watch_output(&self) -> OutputWatch {
        // Output is fed and published under this lock: nothing falls
        // between the copy and the subscription.
        let screen = self.screen();
        let (rows, cols) = screen.size();
        OutputWatch {
            screen: screen.paint(),
            rows,
            cols,
            output: self.shared.output.subscribe(),
        }
    }

    fn exit_status(&self) -> Option<ExitInfo> {
        *self.shared.exit.borrow()
    }

    async fn write(&self, bytes: &[u8]) -> Result<(), TerminalError> {
        let closed = || TerminalError::WriterClosed {
            agent: self.shared.agent.clone(),
        };
        let (done, result) = oneshot::channel();
        self.writer
            .send(WriteJob {
                bytes: bytes.to_vec(),
                done: Some(done),
            })
            .map_err(|_| closed())?;
        result
            .await
            .map_err(|_| closed())?
            .map_err(|source| TerminalError::Write {
                agent: self.shared.agent.clone(),
                len: bytes.len(),
                source,
            })
    }

    fn resize(&self, rows: u16, cols: u16) -> Result<(), TerminalError> {
        let size = PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        };
        self.screen().resize(rows, cols);
        let master = self
            .master
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        master.resize(size).map_err(|e| TerminalError::Resize {
            agent: self.shared.agent.clone(),
            rows,
            cols,
            reason: e.to_string(),
        })
    }

    async fn wait_exit(&self) -> ExitInfo {
        crate::terminal::wait_for_exit(self.shared.exit.subscribe()).await
    }

    fn enter_timing(&self) -> &Mutex<crate::enter_timing::EnterTiming> {
        &self.enter_timing
    }

    async fn kill(&self) -> Option<ExitInfo> {
        let span = tracing::info_span!("release", agent = %self.shared.agent, session = %self.id);
        let _enter = span.enter();
        self.released.store(true, Ordering::SeqCst);
        let (pid, id, grace) = (self.pid as i32, self.id.clone(), self.grace);
        let exit = self.shared.exit.subscribe();
        let swept = tokio::task::spawn_blocking(move || {
            pty::sweep(pid, &id, grace, &|| exit.borrow().is_some());
        })
        .await;
        if swept.is_err() {
            self.sweep_blocking();
        }
        let info = tokio::time::timeout(Duration::from_secs(5), self.wait_exit())
            .await
            .ok();
        tracing::info!(exit = ?info, "agent released");
        info
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.released.load(Ordering::SeqCst) && self.exit_status().is_some() {
            return;
        }
        let (pid, id, grace) = (self.pid as i32, self.id.clone(), self.grace);
        let exit = self.shared.exit.subscribe();
        let spawned = std::thread::Builder::new()
            .name(format!("courier-pty-release-{pid}"))
            .spawn(move || pty::sweep(pid, &id, grace, &|| exit.borrow().is_some()));
        if spawned.is_err() {
            self.sweep_blocking();
        }
    }
}
