//! Helpers shared by the end-to-end tests: locating the fake agent, spawning
//! sessions that are always released, framing messages, reading transcripts.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use courier_core::framing::frame;
use courier_core::{MessageId, Recipient};
use courier_terminal::host::RemoteSession;
use courier_terminal::{ReadinessConfig, Session, SpawnSpec, Terminal, wait_ready};

/// `target/<profile>/courier-fake-agent`, built once if missing.
pub fn fake_agent() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let mut candidates = Vec::new();
        for dir in exe.ancestors().skip(1).take(3) {
            candidates.push(dir.join("courier-fake-agent"));
        }
        if let Some(found) = candidates.iter().find(|p| p.is_file()) {
            return found.clone();
        }
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "courier-fake-agent"])
            .status()
            .expect("run cargo build -p courier-fake-agent");
        assert!(status.success(), "building courier-fake-agent failed");
        candidates
            .into_iter()
            .find(|p| p.is_file())
            .expect("courier-fake-agent next to the test executable after building it")
    })
    .clone()
}

/// A session that is killed (with its whole tree) when dropped at the end
/// of a test, even a failing one.
pub struct Agent {
    pub session: Session,
    pub dir: tempfile::TempDir,
}

impl std::ops::Deref for Agent {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

impl Drop for Agent {
    /// Even when a test fails before `kill`, nothing it started survives:
    /// kill the group and every member synchronously, before the test
    /// process can exit.
    fn drop(&mut self) {
        use courier_terminal::process_group::{members, signal_group, signal_pid};
        let pid = self.session.pid() as i32;
        for m in members(pid, self.session.id()) {
            signal_pid(m, libc::SIGKILL);
        }
        if self.session.exit_status().is_none() {
            signal_pid(pid, libc::SIGKILL);
        }
        signal_group(pid, libc::SIGKILL);
    }
}

impl Agent {
    pub fn transcript_path(&self) -> PathBuf {
        self.dir.path().join("transcript.jsonl")
    }

    /// The submitted texts, in order.
    pub fn transcript(&self) -> Vec<String> {
        read_transcript(&self.transcript_path())
    }

    pub fn screen(&self) -> String {
        self.session.snapshot(0).text()
    }
}

pub fn read_transcript(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("transcript line is JSON");
            v["text"].as_str().expect("text field").to_string()
        })
        .collect()
}

/// Spawns the fake agent with a transcript and `args`.
pub fn spawn_fake(args: &[&str]) -> Agent {
    let dir = tempfile::tempdir().expect("temp dir");
    let transcript = dir.path().join("transcript.jsonl");
    let mut full = vec!["--transcript".to_string(), transcript.display().to_string()];
    full.extend(args.iter().map(|s| s.to_string()));
    let spec = SpawnSpec::new("fake", fake_agent().display().to_string())
        .args(full)
        .cwd(dir.path())
        .size(24, 80);
    Agent {
        session: Session::spawn(&spec).expect("spawn fake agent"),
        dir,
    }
}

pub fn spawn_cmd(agent: &str, program: &str, args: &[&str], env: &[(&str, &str)]) -> Agent {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spec = SpawnSpec::new(agent, program)
        .args(args.iter().copied())
        .cwd(dir.path())
        .size(24, 80);
    for (k, v) in env {
        spec = spec.env(*k, *v);
    }
    Agent {
        session: Session::spawn(&spec).expect("spawn"),
        dir,
    }
}

/// A framed message, as the broker would type it.
pub fn framed(id: &str, body: &str) -> String {
    frame(
        "alice",
        &Recipient::Agent("bob".into()),
        &MessageId::new(id),
        None,
        body,
    )
}

/// Generous bound: tests are fast when things work, never flaky when slow.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub async fn ready(agent: &Agent, cfg: &ReadinessConfig) -> courier_terminal::ReadyBy {
    match wait_ready(&agent.session, cfg, Instant::now() + PATIENCE).await {
        Ok(by) => by,
        Err(why) => panic!("not ready: {why}\nscreen:\n{}", agent.screen()),
    }
}

/// Waits until `cond` holds on the transcript (bounded).
pub async fn transcript_until(agent: &Agent, cond: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let t = agent.transcript();
        if cond(&t) || Instant::now() > deadline {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether process `pid` is gone (or a zombie).
pub fn gone(pid: i32) -> bool {
    courier_terminal::process_group::is_gone(pid)
}

/// The session the host at `socket` serves, once it listens: tried every
/// 10 ms for `within`, then a panic. `output_chunks` as
/// `RemoteSession::connect_with_output` takes it (`DEFAULT_OUTPUT_CHUNKS`
/// is what `RemoteSession::connect` uses).
pub async fn connect_host(socket: &Path, output_chunks: usize, within: Duration) -> RemoteSession {
    let deadline = Instant::now() + within;
    loop {
        match RemoteSession::connect_with_output(socket, output_chunks).await {
            Ok(s) => return s,
            Err(e) if Instant::now() > deadline => {
                panic!("cannot connect to the host at {}: {e}", socket.display())
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}
