//! The host side: one program in a PTY (a [`Session`]) served on a Unix
//! socket, so that it outlives the broker that started it.
//!
//! One client at a time (a new connection replaces the old one: it is the
//! broker after a restart). Each client first gets a [`Hello`] with the
//! screen as it is, then every output byte from that moment on. Input is
//! written in the order it came, each write answered. Without a client for
//! `orphan_timeout` (the broker died and never came back) the host ends the
//! program, so an agent cannot outlive Courier forever.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::frame::{Frame, Hello, read_frame, write_frame};
use crate::error::TerminalError;
use crate::pty::SpawnSpec;
use crate::session::Session;
use crate::terminal::{ExitInfo, Terminal};

#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Where to listen; created with mode 0600 (whoever can connect can
    /// type into the agent).
    pub socket: PathBuf,
    /// How long the program may run with no client before the host ends it.
    pub orphan_timeout: Duration,
    /// This process's pid when it adopts the orphans of the program's
    /// session ([`super::adopter::adopt_orphans`], for a process that hosts
    /// this one program and nothing else): the host then reaps them, and
    /// tells clients so they find the terminal's reader below it.
    pub adopter: Option<u32>,
}

/// Why [`serve`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostEnd {
    /// The program ended by itself.
    Exited(ExitInfo),
    /// A client asked for it to end.
    Killed(Option<ExitInfo>),
    /// No client came back in time.
    Orphaned(Option<ExitInfo>),
}

fn host_error(spec: &SpawnSpec, socket: &Path, detail: impl std::fmt::Display) -> TerminalError {
    TerminalError::Host {
        agent: spec.agent.clone(),
        socket: socket.to_path_buf(),
        detail: detail.to_string(),
    }
}

/// Binds `socket`, refusing one a live host still answers on, and clearing
/// one left by a host that is gone.
async fn bind(spec: &SpawnSpec, socket: &Path) -> Result<UnixListener, TerminalError> {
    if socket.exists() {
        if UnixStream::connect(socket).await.is_ok() {
            return Err(host_error(spec, socket, "another host is serving it"));
        }
        std::fs::remove_file(socket).map_err(|e| host_error(spec, socket, e))?;
    }
    let listener = UnixListener::bind(socket).map_err(|e| host_error(spec, socket, e))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| host_error(spec, socket, e))?;
    Ok(listener)
}

/// Runs `spec` and serves it until it ends, a client kills it, or no client
/// comes back within the orphan timeout. The socket is removed at the end.
pub async fn serve(spec: SpawnSpec, opts: HostOptions) -> Result<HostEnd, TerminalError> {
    let listener = bind(&spec, &opts.socket).await?;
    // A client gets the visible screen only (its own copy keeps the
    // scrollback), so the host keeps none: up to ~1 MB less per agent.
    let mut own = spec.clone();
    own.scrollback = 0;
    let adopter = opts.adopter;
    let session = Arc::new(Session::spawn(&own)?);
    let reaper = adopter.map(|_| tokio::spawn(super::adopter::reap_adopted(session.pid())));
    let started = Instant::now();
    let (kill_tx, mut kill_rx) = mpsc::unbounded_channel::<()>();
    let mut client: Option<tokio::task::JoinHandle<()>> = None;
    let mut orphaned_since = Some(Instant::now());
    let end = loop {
        let orphan_deadline = orphaned_since.map(|t| t + opts.orphan_timeout);
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                if let Some(old) = client.take() {
                    old.abort();
                }
                tracing::info!(agent = %spec.agent, "client attached");
                let hello = hello(&session, &spec, started, adopter);
                client = Some(tokio::spawn(serve_client(
                    stream,
                    session.clone(),
                    hello,
                    kill_tx.clone(),
                )));
                orphaned_since = None;
            }
            info = session.wait_exit() => break HostEnd::Exited(info),
            Some(()) = kill_rx.recv() => break HostEnd::Killed(session.kill().await),
            _ = sleep_until(orphan_deadline) => {
                tracing::warn!(agent = %spec.agent, after = ?opts.orphan_timeout, "no client came back; ending the agent");
                break HostEnd::Orphaned(session.kill().await);
            }
            _ = client_gone(&mut client), if client.is_some() => {
                tracing::info!(agent = %spec.agent, "client detached");
                client = None;
                orphaned_since = Some(Instant::now());
            }
        }
    };
    // Tell a connected client how it ended, then go.
    if let Some(task) = client.take() {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    let _ = std::fs::remove_file(&opts.socket);
    if let Some(reaper) = reaper {
        reaper.abort();
    }
    Ok(end)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn client_gone(client: &mut Option<tokio::task::JoinHandle<()>>) {
    match client {
        Some(task) => {
            let _ = task.await;
        }
        None => std::future::pending().await,
    }
}

fn hello(
    session: &Session,
    spec: &SpawnSpec,
    started: Instant,
    adopter: Option<u32>,
) -> (Hello, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (screen, output) = session.tap_output();
    let (rows, cols) = session.size();
    let hello = Hello {
        session_id: session.id().to_string(),
        pid: session.pid(),
        spec: spec.clone(),
        rows,
        cols,
        screen,
        uptime_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        adopter,
    };
    (hello, output)
}

/// One client: the hello, then output and answers out, input and requests in.
/// Returns when the client goes away or the program has ended.
async fn serve_client(
    stream: UnixStream,
    session: Arc<Session>,
    (hello, mut output): (Hello, mpsc::UnboundedReceiver<Vec<u8>>),
    kill: mpsc::UnboundedSender<()>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Frame>();
    let sender = tokio::spawn(async move {
        if write_frame(&mut writer, &Frame::Hello(Box::new(hello)))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let frame = tokio::select! {
                // Output first: an answer to a write must not overtake the
                // echo it caused.
                biased;
                Some(bytes) = output.recv() => Frame::Output(bytes),
                Some(frame) = out_rx.recv() => frame,
                else => return,
            };
            let last = matches!(frame, Frame::Exit(_));
            if write_frame(&mut writer, &frame).await.is_err() || last {
                return;
            }
        }
    });
    // Writes in arrival order, off the reading loop, so a blocked write
    // cannot hold up a kill.
    let (input_tx, mut input_rx) = mpsc::unbounded_channel::<(u64, Vec<u8>)>();
    let (input_session, input_out) = (session.clone(), out_tx.clone());
    let writer_task = tokio::spawn(async move {
        while let Some((id, bytes)) = input_rx.recv().await {
            let error = input_session
                .write(&bytes)
                .await
                .err()
                .map(|e| e.to_string());
            let _ = input_out.send(Frame::Written { id, error });
        }
    });
    let exit_session = session.clone();
    let exit_out = out_tx.clone();
    let exit_task = tokio::spawn(async move {
        let info = exit_session.wait_exit().await;
        let _ = exit_out.send(Frame::Exit(info));
    });
    loop {
        let frame = tokio::select! {
            frame = read_frame(&mut reader) => frame,
            // Nothing more to read for a program that is gone.
            _ = session.wait_exit() => break,
        };
        match frame {
            Ok(Some(Frame::Input { id, bytes })) => {
                let _ = input_tx.send((id, bytes));
            }
            Ok(Some(Frame::Resize { rows, cols })) => {
                if let Err(e) = session.resize(rows, cols) {
                    tracing::warn!(error = %e, "resize failed");
                }
            }
            Ok(Some(Frame::Kill)) => {
                let _ = kill.send(());
            }
            Ok(Some(other)) => tracing::debug!(frame = ?other, "ignoring a host-to-client frame"),
            Ok(None) | Err(_) => break,
        }
    }
    drop(input_tx);
    if session.exit_status().is_some() {
        // Let the exit frame out before the connection closes.
        let _ = tokio::time::timeout(Duration::from_secs(2), exit_task).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), sender).await;
    } else {
        exit_task.abort();
        sender.abort();
    }
    writer_task.abort();
}
