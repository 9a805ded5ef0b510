//! The broker side: [`RemoteSession`] talks to a session host over its
//! socket and keeps its own copy of the screen (the host's screen at
//! connect time, then every output byte), so readiness and verification
//! read it exactly as they read a local [`crate::Session`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::UnixStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::frame::{Frame, Hello, read_frame, write_frame};
use crate::error::TerminalError;
use crate::output::{DEFAULT_OUTPUT_CHUNKS, OutputFanout, OutputWatch};
use crate::pty::SpawnSpec;
use crate::screen::{ScreenState, Snapshot};
use crate::terminal::{ExitInfo, Terminal};

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<(), String>>>>>;

/// A session served by a host process.
pub struct RemoteSession {
    id: String,
    pid: u32,
    adopter: Option<u32>,
    spec: SpawnSpec,
    socket: PathBuf,
    attached_at: Instant,
    uptime_at_attach: Duration,
    state: Arc<RemoteState>,
    out: mpsc::UnboundedSender<Frame>,
    pending: Pending,
    next_id: AtomicU64,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    enter_timing: Mutex<crate::enter_timing::EnterTiming>,
}

struct RemoteState {
    screen: Mutex<ScreenState>,
    /// Output for live viewers, published while `screen` is held.
    output: OutputFanout,
    changes: watch::Sender<u64>,
    exit: watch::Sender<Option<ExitInfo>>,
}

impl RemoteState {
    fn screen(&self) -> std::sync::MutexGuard<'_, ScreenState> {
        self.screen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changes.send_modify(|c| *c = c.wrapping_add(1));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RemoteSession {
    /// Connects to the host at `socket`; its screen comes with the hello.
    pub async fn connect(socket: &Path) -> Result<RemoteSession, TerminalError> {
        RemoteSession::connect_with_output(socket, DEFAULT_OUTPUT_CHUNKS).await
    }

    /// [`RemoteSession::connect`], with live viewers allowed to fall
    /// `output_chunks` output chunks behind before they are resynchronised.
    pub async fn connect_with_output(
        socket: &Path,
        output_chunks: usize,
    ) -> Result<RemoteSession, TerminalError> {
        let err = |detail: String| TerminalError::Host {
            agent: String::new(),
            socket: socket.to_path_buf(),
            detail,
        };
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|e| err(format!("cannot connect: {e}")))?;
        let (mut reader, mut writer) = stream.into_split();
        let hello: Hello =
            match tokio::time::timeout(Duration::from_secs(10), read_frame(&mut reader)).await {
                Ok(Ok(Some(Frame::Hello(hello)))) => *hello,
                Ok(Ok(other)) => return Err(err(format!("expected a hello, got {other:?}"))),
                Ok(Err(e)) => return Err(err(format!("reading the hello: {e}"))),
                Err(_) => return Err(err("no hello within 10 s".into())),
            };
        let mut screen = ScreenState::new(hello.rows, hello.cols, hello.spec.scrollback);
        screen.feed(hello.screen.as_bytes(), Instant::now());
        let state = Arc::new(RemoteState {
            screen: Mutex::new(screen),
            output: OutputFanout::new(output_chunks),
            changes: watch::Sender::new(0),
            exit: watch::Sender::new(None),
        });
        let pending: Pending = Arc::default();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Frame>();
        let sender = tokio::spawn(async move {
            while let Some(frame) = out_rx.recv().await {
                if write_frame(&mut writer, &frame).await.is_err() {
                    return;
                }
            }
        });
        let (reader_state, reader_pending) = (state.clone(), pending.clone());
        let agent = hello.spec.agent.clone();
        let receiver = tokio::spawn(async move {
            loop {
                match read_frame(&mut reader).await {
                    Ok(Some(Frame::Output(bytes))) => {
                        {
                            let mut screen = reader_state.screen();
                            screen.feed(&bytes, Instant::now());
                            reader_state.output.publish(&bytes);
                        }
                        reader_state.bump();
                    }
                    Ok(Some(Frame::Written { id, error })) => {
                        if let Some(done) = lock(&reader_pending).remove(&id) {
                            let _ = done.send(error.map_or(Ok(()), Err));
                        }
                    }
                    Ok(Some(Frame::Exit(info))) => {
                        reader_state.exit.send_replace(Some(info));
                        reader_state.bump();
                    }
                    Ok(Some(other)) => {
                        tracing::debug!(frame = ?other, "unexpected frame from the host")
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            // The host is gone: so is the program (it ends with its host).
            if reader_state.exit.borrow().is_none() {
                tracing::warn!(%agent, "session host went away");
                reader_state.exit.send_replace(Some(ExitInfo {
                    code: None,
                    signal: None,
                }));
            }
            for (_, done) in lock(&reader_pending).drain() {
                let _ = done.send(Err("the session host went away".into()));
            }
            reader_state.bump();
        });
        Ok(RemoteSession {
            id: hello.session_id,
            pid: hello.pid,
            adopter: hello.adopter,
            spec: hello.spec,
            socket: socket.to_path_buf(),
            attached_at: Instant::now(),
            uptime_at_attach: Duration::from_millis(hello.uptime_ms),
            state,
            out,
            pending,
            next_id: AtomicU64::new(1),
            enter_timing: Mutex::default(),
            tasks: vec![sender, receiver],
        })
    }

    /// How the program was started (its environment included).
    pub fn spec(&self) -> &SpawnSpec {
        &self.spec
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn closed(&self) -> TerminalError {
        TerminalError::WriterClosed {
            agent: self.spec.agent.clone(),
        }
    }
}

impl Drop for RemoteSession {
    /// Detaches only: the program lives on in its host (ending it is
    /// [`Terminal::kill`]'s job).
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Terminal for RemoteSession {
    fn id(&self) -> &str {
        &self.id
    }

    fn agent(&self) -> &str {
        &self.spec.agent
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn adopter(&self) -> Option<u32> {
        self.adopter
    }

    /// When the program started, as far as this process's clock can say.
    fn spawned_at(&self) -> Instant {
        self.attached_at
            .checked_sub(self.uptime_at_attach)
            .unwrap_or(self.attached_at)
    }

    fn snapshot(&self, scrollback_rows: usize) -> Snapshot {
        self.state.screen().snapshot(scrollback_rows)
    }

    fn formatted(&self) -> String {
        self.state.screen().formatted()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.state.changes.subscribe()
    }

    fn subscribe_output(&self) -> broadcast::Receiver<Bytes> {
        self.state.output.subscribe()
    }

    fn watch_output(&self) -> OutputWatch {
        // The receiver task feeds and publishes under this lock.
        let screen = self.state.screen();
        let (rows, cols) = screen.size();
        OutputWatch {
            screen: screen.paint(),
            rows,
            cols,
            output: self.state.output.subscribe(),
        }
    }

    fn exit_status(&self) -> Option<ExitInfo> {
        *self.state.exit.borrow()
    }

    async fn write(&self, bytes: &[u8]) -> Result<(), TerminalError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (done, result) = oneshot::channel();
        lock(&self.pending).insert(id, done);
        if self.exit_status().is_some() {
            lock(&self.pending).remove(&id);
            return Err(self.closed());
        }
        self.out
            .send(Frame::Input {
                id,
                bytes: bytes.to_vec(),
            })
            .map_err(|_| self.closed())?;
        match result.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(detail)) => Err(TerminalError::Write {
                agent: self.spec.agent.clone(),
                len: bytes.len(),
                source: std::io::Error::other(detail),
            }),
            Err(_) => Err(self.closed()),
        }
    }

    fn resize(&self, rows: u16, cols: u16) -> Result<(), TerminalError> {
        self.state.screen().resize(rows, cols);
        self.out
            .send(Frame::Resize { rows, cols })
            .map_err(|_| TerminalError::Resize {
                agent: self.spec.agent.clone(),
                rows,
                cols,
                reason: "the session host is gone".into(),
            })
    }

    async fn wait_exit(&self) -> ExitInfo {
        crate::terminal::wait_for_exit(self.state.exit.subscribe()).await
    }

    fn enter_timing(&self) -> &Mutex<crate::enter_timing::EnterTiming> {
        &self.enter_timing
    }

    async fn kill(&self) -> Option<ExitInfo> {
        if let Some(info) = self.exit_status() {
            return Some(info);
        }
        let _ = self.out.send(Frame::Kill);
        // The host's own kill takes its grace, then sweeps the group.
        tokio::time::timeout(Duration::from_secs(10), self.wait_exit())
            .await
            .ok()
    }
}
