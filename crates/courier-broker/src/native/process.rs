//! A headless agent's process: its CLI run with pipes and no PTY, in a
//! process group of its own, its stdin/stdout given to its protocol's client and
//! its stderr drawn on a screen (what `courier screen` and an
//! `agent_crashed` event show of it).
//!
//! It is the broker's [`Terminal`] handle of the agent, so its supervisor,
//! restart policy, exit events and release are those of a PTY agent; what
//! needs a terminal (typed input, a resize) is refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use courier_core::NativeProtocol;
use courier_terminal::process_group::COOKIE_VAR;
use courier_terminal::screen::ScreenState;
use courier_terminal::{ExitInfo, OutputWatch, Snapshot, SpawnSpec, Terminal, TerminalError};
use tokio::io::AsyncReadExt;
use tokio::process::{ChildStderr, Command};
use tokio::sync::{broadcast, watch};

use super::session::NativeSession;

/// Output chunks a late viewer of the stderr screen may lag behind.
const OUTPUT_CHUNKS: usize = 256;

/// One headless agent process and its protocol client.
pub struct HeadlessProcess {
    id: String,
    agent: String,
    pid: u32,
    spawned_at: Instant,
    grace: std::time::Duration,
    screen: Arc<std::sync::Mutex<ScreenState>>,
    changes: watch::Sender<u64>,
    output: broadcast::Sender<Bytes>,
    exit: watch::Receiver<Option<ExitInfo>>,
    enter_timing: std::sync::Mutex<courier_terminal::enter_timing::EnterTiming>,
    native: Arc<NativeSession>,
}

fn new_id(agent: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{agent}-headless-{nanos:x}-{n}")
}

impl HeadlessProcess {
    /// Starts `spec`'s program with pipes, in its own process group, and
    /// a client of `protocol` on them.
    pub fn spawn(
        spec: &SpawnSpec,
        protocol: NativeProtocol,
    ) -> Result<HeadlessProcess, TerminalError> {
        let id = new_id(&spec.agent);
        let failed = |reason: String| TerminalError::Spawn {
            agent: spec.agent.clone(),
            command: spec.program.clone(),
            reason,
        };
        let mut child = command(spec, &id)
            .spawn()
            .map_err(|e| failed(e.to_string()))?;
        let pid = child
            .id()
            .ok_or_else(|| failed("it exited at once".into()))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(failed("its pipes were not opened".into()));
        };
        let screen = Arc::new(std::sync::Mutex::new(ScreenState::new(
            spec.rows,
            spec.cols,
            spec.scrollback,
        )));
        let changes = watch::channel(0).0;
        let output = broadcast::channel(OUTPUT_CHUNKS).0;
        tokio::spawn(draw_stderr(
            stderr,
            screen.clone(),
            changes.clone(),
            output.clone(),
        ));
        let (exit_tx, exit) = watch::channel(None);
        tokio::spawn(reap(child, exit_tx, changes.clone()));
        Ok(HeadlessProcess {
            id,
            agent: spec.agent.clone(),
            pid,
            spawned_at: Instant::now(),
            grace: spec.kill_grace,
            screen,
            changes,
            output,
            exit,
            enter_timing: std::sync::Mutex::default(),
            native: Arc::new(NativeSession::new(
                protocol,
                Box::new(stdin),
                Box::new(stdout),
            )),
        })
    }

    /// The protocol client on its stdio.
    pub fn native(&self) -> &Arc<NativeSession> {
        &self.native
    }

    fn screen(&self) -> std::sync::MutexGuard<'_, ScreenState> {
        // A panic while drawing leaves a screen that is still whole.
        self.screen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn no_terminal(&self) -> TerminalError {
        TerminalError::NoTerminal {
            agent: self.agent.clone(),
        }
    }
}

/// The command of `spec` with pipes, in a process group of its own, with
/// the cookie that finds its descendants at release.
fn command(spec: &SpawnSpec, id: &str) -> Command {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    for key in &spec.env_remove {
        cmd.env_remove(key);
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    cmd.env(COOKIE_VAR, id);
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    cmd
}

/// Waits for the process and publishes how it ended.
async fn reap(
    mut child: tokio::process::Child,
    exit: watch::Sender<Option<ExitInfo>>,
    changes: watch::Sender<u64>,
) {
    use std::os::unix::process::ExitStatusExt;
    let info = match child.wait().await {
        Ok(status) => ExitInfo {
            code: status.code(),
            signal: status.signal(),
        },
        Err(_) => ExitInfo {
            code: None,
            signal: None,
        },
    };
    exit.send_replace(Some(info));
    changes.send_modify(|n| *n += 1);
}

/// Draws the agent's stderr on its screen, as a terminal would show it.
async fn draw_stderr(
    mut stderr: ChildStderr,
    screen: Arc<std::sync::Mutex<ScreenState>>,
    changes: watch::Sender<u64>,
    output: broadcast::Sender<Bytes>,
) {
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // A pipe's newlines are a terminal's CR LF.
        let chunk = String::from_utf8_lossy(&buf[..n]).replace('\n', "\r\n");
        {
            let mut screen = screen.lock().unwrap_or_else(|e| e.into_inner());
            screen.feed(chunk.as_bytes(), Instant::now());
            let _ = output.send(Bytes::from(chunk));
        }
        changes.send_modify(|n| *n += 1);
    }
}

impl Terminal for HeadlessProcess {
    fn id(&self) -> &str {
        &self.id
    }

    fn agent(&self) -> &str {
        &self.agent
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
        self.changes.subscribe()
    }

    fn subscribe_output(&self) -> broadcast::Receiver<Bytes> {
        self.output.subscribe()
    }

    fn watch_output(&self) -> OutputWatch {
        let screen = self.screen();
        let (rows, cols) = screen.size();
        OutputWatch {
            screen: screen.paint(),
            rows,
            cols,
            output: self.output.subscribe(),
        }
    }

    fn exit_status(&self) -> Option<ExitInfo> {
        *self.exit.borrow()
    }

    async fn write(&self, _bytes: &[u8]) -> Result<(), TerminalError> {
        Err(self.no_terminal())
    }

    fn resize(&self, _rows: u16, _cols: u16) -> Result<(), TerminalError> {
        Ok(())
    }

    async fn wait_exit(&self) -> ExitInfo {
        let mut exit = self.exit.clone();
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

    async fn kill(&self) -> Option<ExitInfo> {
        let (pid, id, grace) = (self.pid as i32, self.id.clone(), self.grace);
        let exit = self.exit.clone();
        let _ = tokio::task::spawn_blocking(move || {
            courier_terminal::pty::sweep(pid, &id, grace, &|| exit.borrow().is_some());
        })
        .await;
        let waited = tokio::time::timeout(grace * 2, self.wait_exit()).await;
        waited.ok()
    }

    fn enter_timing(&self) -> &std::sync::Mutex<courier_terminal::enter_timing::EnterTiming> {
        &self.enter_timing
    }
}
