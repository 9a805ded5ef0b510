//! Starting session hosts and finding them again after a restart.
//!
//! Each agent of a durable broker runs under `courier session-host` (see
//! `courier_terminal::host`): a process in its own session, so neither a
//! Ctrl-C for the broker nor the broker's death reaches the agent. Hosts
//! listen in `<state dir>/sessions/<agent>.sock` (directory 0700: whoever can
//! connect can type into the agent). A restarted broker connects to each
//! socket of an agent it knows and takes the session over; a host nobody
//! comes back to ends its agent after the orphan timeout.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use courier_terminal::host::RemoteSession;
use courier_terminal::{SpawnSpec, TerminalError};
use tokio::io::AsyncWriteExt;

/// Longest socket path a Unix socket address holds (`sun_path`, with its NUL).
const MAX_SOCKET_PATH: usize = 107;

#[derive(Debug, Clone)]
pub struct Hosting {
    dir: PathBuf,
    program: PathBuf,
    orphan_timeout: Duration,
    /// Output chunks a live viewer of a hosted agent may fall behind.
    output_chunks: usize,
}

fn host_error(agent: &str, socket: &Path, detail: impl std::fmt::Display) -> TerminalError {
    TerminalError::Host {
        agent: agent.to_string(),
        socket: socket.to_path_buf(),
        detail: detail.to_string(),
    }
}

impl Hosting {
    /// Hosts started as `program session-host …`, sockets under `state_dir`;
    /// live viewers of their agents may fall `output_chunks` chunks behind.
    pub fn new(
        state_dir: &Path,
        program: PathBuf,
        orphan_timeout: Duration,
        output_chunks: usize,
    ) -> std::io::Result<Self> {
        let dir = state_dir.join("sessions");
        std::fs::create_dir_all(&dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(Hosting {
            dir,
            program,
            orphan_timeout,
            output_chunks,
        })
    }

    pub fn socket(&self, agent: &str) -> PathBuf {
        self.dir.join(format!("{agent}.sock"))
    }

    /// Whether `agent`'s socket path fits a Unix socket address.
    pub fn fits(&self, agent: &str) -> bool {
        self.socket(agent).as_os_str().len() <= MAX_SOCKET_PATH
    }

    /// Starts a host for `spec` and connects to it.
    pub async fn spawn(&self, spec: &SpawnSpec) -> Result<RemoteSession, TerminalError> {
        let agent = spec.agent.as_str();
        let socket = self.socket(agent);
        let log_path = self.dir.join(format!("{agent}.log"));
        let child = self.start_host(spec, &socket, &log_path).await?;
        self.connect_when_serving(spec, &socket, &log_path, child)
            .await
    }

    /// The host process for `spec`, in a session of its own, handed the spec
    /// on its stdin; its stderr goes to `log_path`.
    async fn start_host(
        &self,
        spec: &SpawnSpec,
        socket: &Path,
        log_path: &Path,
    ) -> Result<tokio::process::Child, TerminalError> {
        let agent = spec.agent.as_str();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(log_path)
            .map_err(|e| {
                host_error(
                    agent,
                    socket,
                    format!("cannot open {}: {e}", log_path.display()),
                )
            })?;
        let json = serde_json::to_vec(spec).map_err(|e| host_error(agent, socket, e))?;
        let mut command = tokio::process::Command::new(&self.program);
        command
            .arg("session-host")
            .arg("--socket")
            .arg(socket)
            .arg("--orphan-timeout-ms")
            .arg(self.orphan_timeout.as_millis().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(false);
        // SAFETY: setsid is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| {
            host_error(
                agent,
                socket,
                format!("cannot start {}: {e}", self.program.display()),
            )
        })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(&json).await.map_err(|e| {
                host_error(agent, socket, format!("cannot hand over the spec: {e}"))
            })?;
        }
        Ok(child)
    }

    /// Connects to the host's socket once it serves (at most 15 s); a host
    /// that ends first is reported with the tail of its log.
    async fn connect_when_serving(
        &self,
        spec: &SpawnSpec,
        socket: &Path,
        log_path: &Path,
        mut child: tokio::process::Child,
    ) -> Result<RemoteSession, TerminalError> {
        let agent = spec.agent.as_str();
        // Reap it when it ends while this broker runs (no zombie).
        let (exited_tx, mut exited) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = exited_tx.send(status);
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match RemoteSession::connect_with_output(socket, self.output_chunks).await {
                Ok(session) => return Ok(session),
                Err(e) => {
                    if let Ok(status) = exited.try_recv() {
                        let tail = std::fs::read_to_string(log_path).unwrap_or_default();
                        let tail: String = tail
                            .lines()
                            .rev()
                            .take(5)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect::<Vec<_>>()
                            .join("\n");
                        // It started, then ended before serving: what it
                        // could not start is the spawn's program or
                        // directory (its log says which), as when a
                        // broker without hosts spawns it itself.
                        return Err(TerminalError::Spawn {
                            agent: agent.to_string(),
                            command: spec.program.clone(),
                            reason: format!(
                                "the session host ended ({status:?}) before serving: {tail}"
                            ),
                        });
                    }
                    if Instant::now() > deadline {
                        return Err(host_error(
                            agent,
                            socket,
                            format!("not serving after 15 s: {e}"),
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }

    /// The host of `agent` left by an earlier broker, if one still serves.
    pub async fn reattach(&self, agent: &str) -> Option<RemoteSession> {
        let socket = self.socket(agent);
        if !socket.exists() {
            return None;
        }
        let connect = RemoteSession::connect_with_output(&socket, self.output_chunks);
        match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(session)) => Some(session),
            Ok(Err(e)) => {
                tracing::info!(agent, error = %e, "no live session host; the agent starts anew");
                None
            }
            Err(_) => {
                tracing::warn!(
                    agent,
                    "the session host did not answer; the agent starts anew"
                );
                None
            }
        }
    }

    /// Waits (at most `bound`) until no host listens on `agent`'s socket
    /// any more: the host of a program that ended removes it on its way
    /// out, and a new host refuses a socket another one still serves.
    pub async fn wait_free(&self, agent: &str, bound: Duration) {
        let socket = self.socket(agent);
        let deadline = Instant::now() + bound;
        while socket.exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Agent names with a socket in the sessions directory.
    pub fn sockets(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".sock"))
                    .map(str::to_string)
            })
            .collect()
    }
}
