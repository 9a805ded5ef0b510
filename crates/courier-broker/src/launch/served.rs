//! Native delivery with the TUI kept: the CLI's headless mode served on a
//! private Unix socket and its TUI joined to it, both in the agent's
//! terminal. `courier served-tui` (in the PTY) starts the server, waits
//! until it listens, then becomes the TUI; the broker joins the same
//! server as a second client (`native::websocket`).
//!
//! The socket is `<state dir>/sessions/served/<agent>.sock` (or a private
//! directory under the temp dir for a broker without a state dir): the same
//! path after a restart of the broker, so the next one joins the server the
//! surviving TUI still uses.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use courier_core::NativeProtocol;
use courier_presets::{SOCKET_VAR, ServedSettings};

use crate::error::BrokerError;

/// Longest socket path a Unix socket address holds (`sun_path`, with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The served protocol an agent's broker joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// Where the server listens.
    pub socket: PathBuf,
    /// What it speaks.
    pub protocol: NativeProtocol,
}

/// The directory for served sockets, made private (0700: whoever connects
/// can start turns in the agent).
fn socket_dir(state_dir: Option<&Path>) -> Result<PathBuf, BrokerError> {
    let dir = match state_dir {
        Some(state) => state.join("sessions").join("served"),
        // SAFETY: getuid cannot fail.
        None => std::env::temp_dir().join(format!("courier-served-{}", unsafe { libc::getuid() })),
    };
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| BrokerError::launch("make the served sockets' directory", e))?;
    Ok(dir)
}

/// Where `agent`'s served protocol listens.
pub fn socket_for(state_dir: Option<&Path>, agent: &str) -> Result<PathBuf, BrokerError> {
    let socket = socket_dir(state_dir)?.join(format!("{agent}.sock"));
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(BrokerError::invalid(
            "name",
            format!(
                "the served socket {} is longer than a Unix socket address allows ({MAX_SOCKET_PATH} bytes); use a shorter agent name or state directory",
                socket.display()
            ),
        ));
    }
    Ok(socket)
}

/// `args` with the socket's path in place of `{socket}`.
pub fn with_socket(args: &[String], socket: &Path) -> Vec<String> {
    let path = socket.display().to_string();
    args.iter().map(|a| a.replace(SOCKET_VAR, &path)).collect()
}

/// The program and arguments run in the PTY: `courier served-tui`, which
/// starts `server` (listening on `socket`), then runs the TUI joined to it
/// (or, when the server never listens, the TUI alone: keystrokes then).
pub fn launcher_args(
    socket: &Path,
    server: (&str, &[String]),
    tui: (&str, &[String]),
    settings: &ServedSettings,
) -> Vec<String> {
    let mut args = vec![
        "served-tui".to_string(),
        "--socket".to_string(),
        socket.display().to_string(),
        "--server".to_string(),
        server.0.to_string(),
    ];
    for arg in server.1 {
        args.push(format!("--server-arg={arg}"));
    }
    for arg in with_socket(&settings.remote_args, socket) {
        args.push(format!("--remote-arg={arg}"));
    }
    args.push("--".to_string());
    args.push(tui.0.to_string());
    args.extend(tui.1.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launcher_gets_both_commands_with_the_socket_filled_in() {
        let settings = ServedSettings {
            server_args: vec!["--listen".into(), "unix://{socket}".into()],
            remote_args: vec!["--remote".into(), "unix://{socket}".into()],
        };
        let socket = Path::new("/s/a.sock");
        let server_args = [
            vec!["app-server".to_string()],
            with_socket(&settings.server_args, socket),
        ]
        .concat();
        let args = launcher_args(
            socket,
            ("/bin/codex", &server_args),
            ("/bin/codex", &["-c".to_string(), "x=1".to_string()]),
            &settings,
        );
        assert_eq!(
            args,
            [
                "served-tui",
                "--socket",
                "/s/a.sock",
                "--server",
                "/bin/codex",
                "--server-arg=app-server",
                "--server-arg=--listen",
                "--server-arg=unix:///s/a.sock",
                "--remote-arg=--remote",
                "--remote-arg=unix:///s/a.sock",
                "--",
                "/bin/codex",
                "-c",
                "x=1"
            ]
        );
    }

    #[test]
    fn a_socket_path_too_long_for_an_address_is_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        let long = "a".repeat(120);
        let err = socket_for(Some(tmp.path()), &long).expect_err("too long");
        assert!(err.to_string().contains("longer than"), "{err}");
        let ok = socket_for(Some(tmp.path()), "alice").expect("fits");
        assert!(ok.ends_with("sessions/served/alice.sock"));
    }
}
