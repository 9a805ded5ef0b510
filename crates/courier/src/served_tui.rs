//! `courier served-tui` (internal): what runs in the terminal of an agent
//! whose CLI serves its protocol to its TUI (Codex: `codex app-server
//! --listen unix://…` and `codex --remote unix://…`). It starts the server
//! (its output to `<socket>.log`; it ends with this process), waits until
//! the socket accepts a connection, then becomes the TUI joined to it. A
//! server that never listens is said on the terminal and the TUI runs on
//! its own: the broker then types its messages (an `agent_channel` event).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Args;

/// `courier served-tui`'s arguments.
#[derive(Debug, Args)]
pub struct ServedTuiArgs {
    /// The Unix socket the server listens on.
    #[arg(long)]
    pub socket: std::path::PathBuf,
    /// The server's program.
    #[arg(long)]
    pub server: String,
    /// One argument of the server (repeatable, in order).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// One argument that joins the TUI to the server (repeatable, in order).
    #[arg(long = "remote-arg", allow_hyphen_values = true)]
    pub remote_args: Vec<String>,
    /// The TUI's program and arguments.
    #[arg(last = true, required = true)]
    pub tui: Vec<String>,
}

/// How long the server has to listen (Codex's app server: about a second).
const LISTEN_WAIT: Duration = Duration::from_secs(20);

pub fn run(args: &ServedTuiArgs) -> ExitCode {
    let Some((tui, tui_args)) = args.tui.split_first() else {
        eprintln!("courier served-tui: no TUI command after --");
        return ExitCode::from(2);
    };
    let mut command = Command::new(tui);
    command.args(tui_args);
    match start_server(args) {
        Ok(()) => {
            command.args(&args.remote_args);
        }
        Err(why) => eprintln!(
            "courier: {why}; starting {tui} without its server (messages will be typed into it)"
        ),
    }
    let err = command.exec();
    eprintln!("courier: cannot start {tui}: {err}");
    ExitCode::from(127)
}

/// Starts the server and waits until its socket accepts a connection.
fn start_server(args: &ServedTuiArgs) -> Result<(), String> {
    let _ = std::fs::remove_file(&args.socket);
    let log_path = args.socket.with_extension("log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let stderr = log
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let mut server = Command::new(&args.server);
    server
        .args(&args.server_args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr);
    // SAFETY: prctl is async-signal-safe; the server ends when this
    // process (the TUI, after exec) does.
    unsafe {
        server.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = server
        .spawn()
        .map_err(|e| format!("cannot start the server {}: {e}", args.server))?;
    wait_listening(&args.socket, &mut child, &log_path)
}

fn wait_listening(socket: &Path, child: &mut Child, log: &Path) -> Result<(), String> {
    let deadline = Instant::now() + LISTEN_WAIT;
    loop {
        if std::os::unix::net::UnixStream::connect(socket).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "the server exited ({status}) before it listened; see {}",
                log.display()
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the server did not listen on {} within {} s; see {}",
                socket.display(),
                LISTEN_WAIT.as_secs(),
                log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
