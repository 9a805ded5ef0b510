//! `courier mcp` driven by a real MCP client: the Python `mcp` package
//! (installed by scripts/test.sh in target/pyenv) runs
//! crates/courier-mcp/tests/mcp_client.py against a real `courier up`.
//! The script spawns two shell agents, takes one's own token from
//! /proc/<pid>/environ, starts `courier mcp` as that agent over stdio and
//! calls every tool; see the script for the checks.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_courier");
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn imports_mcp(python: &str) -> bool {
    Command::new(python)
        .args(["-c", "import mcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `$COURIER_TEST_PYTHON`, else the venv scripts/test.sh makes, else a
/// `python3` that has `mcp`; never a silent pass without one.
fn python() -> String {
    if let Some(p) = std::env::var_os("COURIER_TEST_PYTHON").filter(|p| !p.is_empty()) {
        return p.to_string_lossy().into_owned();
    }
    let venv = workspace_root().join("target/pyenv/bin/python");
    if venv.exists() && imports_mcp(&venv.to_string_lossy()) {
        return venv.to_string_lossy().into_owned();
    }
    if imports_mcp("python3") {
        return "python3".to_string();
    }
    panic!(
        "this test needs Python with the `mcp` package: run scripts/test.sh (it creates \
         target/pyenv with `mcp` and sets COURIER_TEST_PYTHON), or set COURIER_TEST_PYTHON \
         to a python that can `import mcp`"
    );
}

/// A `courier up --ephemeral` on a temp state dir, stopped on drop.
struct Broker {
    child: Child,
    dir: tempfile::TempDir,
    url: String,
    token: String,
}

impl Broker {
    fn start() -> Broker {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = File::create(dir.path().join("broker.log")).expect("broker log");
        let mut cmd = Command::new(EXE);
        for var in [
            "COURIER_STATE_DIR",
            "COURIER_URL",
            "COURIER_TOKEN",
            "COURIER_AGENT",
            "COURIER_LISTEN",
        ] {
            cmd.env_remove(var);
        }
        let child = cmd
            .args(["up", "--ephemeral", "--state-dir"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start courier up");
        let connection = dir.path().join("connection.json");
        let start = Instant::now();
        let info: serde_json::Value = loop {
            let parsed = std::fs::read_to_string(&connection)
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok());
            if let Some(info) = parsed {
                break info;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no connection.json after 20 s; broker log:\n{}",
                std::fs::read_to_string(dir.path().join("broker.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let url = info["url"].as_str().expect("url").to_string();
        let token = info["token"].as_str().expect("token").to_string();
        Broker {
            child,
            dir,
            url,
            token,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // SIGTERM lets it release its agents' process groups; then be sure.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_mcp_client_uses_every_tool_as_its_own_agent() {
    let python = python();
    let broker = Broker::start();
    let script = workspace_root().join("crates/courier-mcp/tests/mcp_client.py");
    let out_path = broker.dir.path().join("client.out");
    let out = File::create(&out_path).expect("client output file");
    let err = out.try_clone().expect("client output file");
    let mut client = Command::new(&python)
        .arg(&script)
        .env("COURIER_BIN", EXE)
        .env("BROKER_URL", &broker.url)
        .env("OWNER_TOKEN", &broker.token)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} {}: {e}", script.display()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = client.try_wait().expect("wait for the MCP client") {
            break Some(status);
        }
        if start.elapsed() > SCRIPT_TIMEOUT {
            let _ = client.kill();
            let _ = client.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    let log = || std::fs::read_to_string(broker.dir.path().join("broker.log")).unwrap_or_default();
    match status {
        Some(s) if s.success() => {
            assert!(
                output.contains("all MCP checks passed"),
                "the client exited 0 without finishing:\n{output}"
            );
        }
        Some(s) => panic!(
            "MCP client failed ({s}):\n{output}\n--- broker log ---\n{}",
            log()
        ),
        None => panic!(
            "MCP client timed out after {SCRIPT_TIMEOUT:?}:\n{output}\n--- broker log ---\n{}",
            log()
        ),
    }
}
