//! The PTY plumbing of a session: opening it, spawning the program as a
//! session leader (portable-pty calls `setsid` and makes the pty its
//! controlling terminal), and the three threads that keep blocking I/O off
//! the async runtime: a reader feeding the screen, a writer draining a
//! queue, and a waiter reaping the program.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, MasterPty, PtySize};
use tokio::sync::{oneshot, watch};

use crate::error::TerminalError;
use crate::output::OutputFanout;
use crate::process_group::{self, COOKIE_VAR};
use crate::screen::{DEFAULT_SCROLLBACK, ScreenState};
use crate::terminal::ExitInfo;

/// What to run, where, and in what terminal.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SpawnSpec {
    /// Agent name, for logs and errors.
    pub agent: String,
    pub program: String,
    pub args: Vec<String>,
    /// Added to (or overriding) the broker's environment.
    pub env: Vec<(String, String)>,
    /// Removed from the environment.
    pub env_remove: Vec<String>,
    /// Working directory (default: the broker's).
    pub cwd: Option<std::path::PathBuf>,
    pub rows: u16,
    pub cols: u16,
    /// Scrollback rows kept by the screen model.
    pub scrollback: usize,
    /// Time between hang-up/terminate and kill when the session ends.
    pub kill_grace: Duration,
}

impl SpawnSpec {
    /// `program` for `agent` in a 120×40 terminal, 200 rows of scrollback.
    pub fn new(agent: impl Into<String>, program: impl Into<String>) -> Self {
        SpawnSpec {
            agent: agent.into(),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            cwd: None,
            rows: 40,
            cols: 120,
            scrollback: DEFAULT_SCROLLBACK,
            kill_grace: Duration::from_millis(500),
        }
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn size(mut self, rows: u16, cols: u16) -> Self {
        self.rows = rows;
        self.cols = cols;
        self
    }

    /// The command line, for messages.
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A queued write; `done` hears the result.
pub struct WriteJob {
    pub bytes: Vec<u8>,
    pub done: Option<oneshot::Sender<std::io::Result<()>>>,
}

/// State shared by the session handle and its threads.
pub struct Shared {
    pub agent: String,
    pub screen: Mutex<ScreenState>,
    /// Where raw output goes besides the screen (a session host's client).
    /// Locked only while `screen` is held, so a screen copy taken together
    /// with a new tap misses no byte and repeats none.
    pub tap: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Vec<u8>>>>,
    /// Raw output for live viewers; published while `screen` is held, for
    /// the same reason as `tap`.
    pub output: OutputFanout,
    pub changes: watch::Sender<u64>,
    pub exit: watch::Sender<Option<ExitInfo>>,
    /// Set once the reader saw the end of the output (every holder of the
    /// pty closed it), so the exit is published after the last bytes.
    pub output_closed: (Mutex<bool>, std::sync::Condvar),
}

impl Shared {
    pub fn bump(&self) {
        self.changes.send_modify(|c| *c = c.wrapping_add(1));
    }
}

/// A spawned program with its threads running.
pub struct Spawned {
    pub pid: u32,
    pub master: Box<dyn MasterPty + Send>,
    pub writer: mpsc::Sender<WriteJob>,
    pub shared: Arc<Shared>,
}

const THREAD_STACK: usize = 256 * 1024;

/// How long the exit waits for the rest of the output once the program
/// ended (only a helper that keeps the pty open makes it wait that long).
const OUTPUT_CLOSE_WAIT: Duration = Duration::from_millis(300);

/// Opens a pty, spawns the program in it, and starts the reader, writer and
/// waiter threads. Live viewers may fall `output_chunks` chunks behind.
pub fn spawn(
    spec: &SpawnSpec,
    session_id: &str,
    output_chunks: usize,
) -> Result<Spawned, TerminalError> {
    let agent = spec.agent.clone();
    let size = PtySize {
        rows: spec.rows,
        cols: spec.cols,
        pixel_width: 0,
        pixel_height: 0,
    };
    let pair = portable_pty::native_pty_system()
        .openpty(size)
        .map_err(|e| TerminalError::OpenPty {
            agent: agent.clone(),
            command: spec.command_line(),
            rows: spec.rows,
            cols: spec.cols,
            reason: e.to_string(),
        })?;
    let mut cmd = CommandBuilder::new(&spec.program);
    cmd.args(&spec.args);
    if cmd.get_env("TERM").is_none() {
        cmd.env("TERM", "xterm-256color");
    }
    for key in &spec.env_remove {
        cmd.env_remove(key);
    }
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    cmd.env(COOKIE_VAR, session_id);
    match &spec.cwd {
        Some(dir) => cmd.cwd(dir),
        None => {
            if let Ok(dir) = std::env::current_dir() {
                cmd.cwd(dir);
            }
        }
    }
    let spawn_err = |reason: String| TerminalError::Spawn {
        agent: agent.clone(),
        command: spec.command_line(),
        reason,
    };
    let child = pair
        .slave
        .spawn_command(cmd)
        .map_err(|e| spawn_err(e.to_string()))?;
    // Only the child keeps the slave open, so the reader sees EOF at exit.
    drop(pair.slave);
    let pid = child
        .process_id()
        .ok_or_else(|| spawn_err("no pid".into()))?;
    // The waiter thread reaps the pid itself (to read the signal number);
    // dropping the std child handle neither waits nor kills.
    drop(child);
    let reader = pair
        .master
        .try_clone_reader()
        .map_err(|e| spawn_err(format!("no reader: {e}")))?;
    let writer = pair
        .master
        .take_writer()
        .map_err(|e| spawn_err(format!("no writer: {e}")))?;

    let shared = Arc::new(Shared {
        agent: agent.clone(),
        screen: Mutex::new(ScreenState::new(spec.rows, spec.cols, spec.scrollback)),
        tap: Mutex::new(None),
        output: OutputFanout::new(output_chunks),
        changes: watch::Sender::new(0),
        exit: watch::Sender::new(None),
        output_closed: (Mutex::new(false), std::sync::Condvar::new()),
    });
    let (tx, rx) = mpsc::channel::<WriteJob>();
    let thread = |what: &'static str| {
        std::thread::Builder::new()
            .name(format!("courier-pty-{what}-{pid}"))
            .stack_size(THREAD_STACK)
    };
    let thread_err = |what: &'static str| {
        let agent = agent.clone();
        move |source| TerminalError::Thread {
            agent,
            what,
            source,
        }
    };
    thread("writer")
        .spawn(move || writer_loop(writer, rx))
        .map_err(thread_err("writer"))?;
    let (s, replies) = (shared.clone(), tx.clone());
    thread("reader")
        .spawn(move || reader_loop(reader, &s, &replies))
        .map_err(thread_err("reader"))?;
    let (s, cookie, grace) = (shared.clone(), session_id.to_string(), spec.kill_grace);
    thread("waiter")
        .spawn(move || waiter_loop(pid, &s, &cookie, grace))
        .map_err(thread_err("waiter"))?;
    Ok(Spawned {
        pid,
        master: pair.master,
        writer: tx,
        shared,
    })
}

fn writer_loop(mut writer: Box<dyn Write + Send>, jobs: mpsc::Receiver<WriteJob>) {
    while let Ok(job) = jobs.recv() {
        let result = writer.write_all(&job.bytes).and_then(|()| writer.flush());
        let failed = result.is_err();
        if let Some(done) = job.done {
            let _ = done.send(result);
        }
        if failed {
            break;
        }
    }
}

/// Answers the terminal queries programs block on: cursor position (DSR 6)
/// and primary device attributes.
fn replies(chunk: &[u8], cursor: (u16, u16)) -> Vec<u8> {
    let has = |pat: &[u8]| chunk.windows(pat.len()).any(|w| w == pat);
    let mut out = Vec::new();
    if has(b"\x1b[6n") {
        out.extend(format!("\x1b[{};{}R", cursor.0 + 1, cursor.1 + 1).into_bytes());
    }
    if has(b"\x1b[c") || has(b"\x1b[0c") {
        out.extend_from_slice(b"\x1b[?1;2c");
    }
    out
}

fn reader_loop(mut reader: Box<dyn Read + Send>, shared: &Shared, writer: &mpsc::Sender<WriteJob>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let reply = {
            let Ok(mut screen) = shared.screen.lock() else {
                break;
            };
            screen.feed(chunk, Instant::now());
            let mut tap = shared
                .tap
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if tap
                .as_ref()
                .is_some_and(|t| t.send(chunk.to_vec()).is_err())
            {
                *tap = None;
            }
            shared.output.publish(chunk);
            replies(chunk, screen.cursor())
        };
        if !reply.is_empty() {
            let _ = writer.send(WriteJob {
                bytes: reply,
                done: None,
            });
        }
        shared.bump();
    }
    tracing::debug!(agent = %shared.agent, "pty output closed");
    let (closed, signal) = &shared.output_closed;
    *closed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
    signal.notify_all();
    shared.bump();
}

fn wait_pid(pid: i32) -> ExitInfo {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes only into `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r == -1 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return ExitInfo {
                code: None,
                signal: None,
            };
        }
    }
    if libc::WIFSIGNALED(status) {
        ExitInfo {
            code: None,
            signal: Some(libc::WTERMSIG(status)),
        }
    } else {
        ExitInfo {
            code: Some(libc::WEXITSTATUS(status)),
            signal: None,
        }
    }
}

fn waiter_loop(pid: u32, shared: &Shared, cookie: &str, grace: Duration) {
    let pid = pid as i32;
    let info = wait_pid(pid);
    tracing::info!(agent = %shared.agent, pid, %info, "agent process ended");
    // What the program wrote last (an error before it died, say) is read
    // before anyone hears of the exit, so a viewer or a session host's
    // client gets it first. A helper still holding the pty is not waited
    // for beyond a short bound (the sweep below ends it).
    let (closed, signal) = &shared.output_closed;
    let closed = closed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // The guard comes back with the result either way; dropping it unlocks.
    drop(signal.wait_timeout_while(closed, OUTPUT_CLOSE_WAIT, |closed| !*closed));
    shared.exit.send_replace(Some(info));
    shared.bump();
    // The program is gone; so must be whatever it left behind.
    sweep(pid, cookie, grace, &|| true);
}

/// Hang-up + terminate the group and every member, wait up to `grace` for
/// them (and the leader, per `leader_gone`) to go, then kill what is left.
pub fn sweep(leader: i32, cookie: &str, grace: Duration, leader_gone: &dyn Fn() -> bool) {
    let mut targets = process_group::members(leader, cookie);
    if targets.is_empty() && leader_gone() {
        process_group::signal_group(leader, libc::SIGKILL);
        return;
    }
    for sig in [libc::SIGHUP, libc::SIGTERM] {
        process_group::signal_group(leader, sig);
        targets
            .iter()
            .for_each(|p| process_group::signal_pid(*p, sig));
        if !leader_gone() {
            process_group::signal_pid(leader, sig);
        }
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if leader_gone() && targets.iter().all(|p| process_group::is_gone(*p)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    targets.extend(process_group::members(leader, cookie));
    process_group::signal_group(leader, libc::SIGKILL);
    targets
        .iter()
        .filter(|p| !process_group::is_gone(**p))
        .for_each(|p| process_group::signal_pid(*p, libc::SIGKILL));
    if !leader_gone() {
        process_group::signal_pid(leader, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_cursor_and_attribute_queries() {
        assert_eq!(replies(b"x\x1b[6ny", (2, 4)), b"\x1b[3;5R");
        assert_eq!(replies(b"\x1b[c", (0, 0)), b"\x1b[?1;2c");
        assert!(replies(b"plain", (0, 0)).is_empty());
    }

    #[test]
    fn spec_builds_a_command_line() {
        let spec = SpawnSpec::new("a", "bash")
            .args(["--norc", "-i"])
            .size(10, 20);
        assert_eq!(spec.command_line(), "bash --norc -i");
        assert_eq!((spec.rows, spec.cols), (10, 20));
    }
}
