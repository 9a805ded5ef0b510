//! `courier mcp` driven by a real MCP client: the Python `mcp` package
//! (installed by scripts/test.sh in target/pyenv) runs
//! crates/courier-mcp/tests/mcp_client.py against a real `courier up`.
//! The script spawns its agents, takes their own tokens from
//! /proc/<pid>/environ, starts `courier mcp` as them over stdio and calls
//! every tool; see the script for the checks. This test then reads the
//! broker's event log itself, so the claims the script relies on (a
//! delivery read_inbox claimed was never typed in; modes were persisted
//! as set) are checked against the broker's own record, not the tool's.

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

/// The value of a `fact NAME=VALUE` line the script printed.
fn fact<'a>(output: &'a str, name: &str) -> &'a str {
    let prefix = format!("fact {name}=");
    output
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("the client printed no {prefix}…:\n{output}"))
}

/// Every event so far, page by page.
fn events(broker: &Broker) -> Vec<serde_json::Value> {
    let http = reqwest::blocking::Client::new();
    let mut all: Vec<serde_json::Value> = Vec::new();
    loop {
        let since = all.last().and_then(|e| e["seq"].as_u64()).unwrap_or(0);
        let page: serde_json::Value = http
            .get(format!("{}/v1/events?since={since}&limit=1000", broker.url))
            .bearer_auth(&broker.token)
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .expect("GET /v1/events");
        let events = page["events"].as_array().cloned().unwrap_or_default();
        if events.is_empty() {
            return all;
        }
        all.extend(events);
    }
}

fn check_event_log(broker: &Broker, output: &str) {
    let log = events(broker);
    let claimed = fact(output, "claimed_delivery");
    let of_claimed: Vec<&str> = log
        .iter()
        .filter(|e| e["delivery_id"] == claimed)
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(
        !of_claimed.contains(&"delivery_injecting") && !of_claimed.contains(&"delivery_injected"),
        "the delivery read_inbox claimed was also typed in: {of_claimed:?}"
    );
    let read: Vec<&serde_json::Value> = log
        .iter()
        .filter(|e| e["type"] == "delivery_read" && e["delivery_id"] == claimed)
        .collect();
    assert_eq!(read.len(), 1, "one read receipt for {claimed}: {read:?}");
    assert_eq!(read[0]["channel"], "hook", "{read:?}");
    assert_eq!(read[0]["agent"], "carol", "{read:?}");
    // Each mode change is persisted with its event, in the order set.
    let modes: Vec<&str> = log
        .iter()
        .filter(|e| e["type"] == "agent_mode" && e["name"] == "alice")
        .filter_map(|e| e["mode"].as_str())
        .collect();
    assert_eq!(
        modes,
        ["manual", "immediate", "idle"],
        "alice's agent_mode events"
    );
    let flushed: Vec<&serde_json::Value> = log
        .iter()
        .filter(|e| e["type"] == "agent_flushed" && e["name"] == "alice")
        .collect();
    assert_eq!(flushed.len(), 1, "{flushed:?}");
    assert_eq!(flushed[0]["count"], 1, "{flushed:?}");
    // report_done: one agent_done with the result, as alice.
    let done: Vec<&serde_json::Value> = log.iter().filter(|e| e["type"] == "agent_done").collect();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["name"], "alice", "{done:?}");
    assert_eq!(done[0]["result"], "mcp checks under way", "{done:?}");
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
            check_event_log(&broker, &output);
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
