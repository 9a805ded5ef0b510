//! Helpers for the end-to-end tests: a real `courier up` process on a temp
//! state directory, real HTTP on 127.0.0.1, real fake agents in real PTYs.
//!
//! Every wait polls with a generous deadline ([`DEADLINE`]); nothing asserts
//! on a fixed sleep. Every process a test starts is ended when its [`Broker`]
//! drops (the broker with SIGTERM, then SIGKILL; then any agent process group
//! the test saw that is still alive).

#![allow(dead_code)]

pub mod federation;
pub mod gate;
pub mod headless;
pub mod nats;
pub mod stream;
pub mod viewer;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

/// The binary under test.
pub const EXE: &str = env!("CARGO_BIN_EXE_courier");

/// How long any single wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Polls `f` until it returns `Some`, or panics after [`DEADLINE`].
pub fn wait_for<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    wait_for_within(DEADLINE, what, f)
}

pub fn wait_for_within<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// A command with the environment cleared of anything that would point it
/// at another broker.
pub fn courier_command() -> Command {
    let mut cmd = Command::new(EXE);
    for var in [
        "COURIER_STATE_DIR",
        "COURIER_URL",
        "COURIER_TOKEN",
        "COURIER_AGENT",
        "COURIER_LISTEN",
        "COURIER_QUEUE_CAP",
        "COURIER_MAX_BODY",
        "COURIER_ACL",
        "COURIER_NATS_URL",
        "COURIER_WORKSPACE",
        "COURIER_HOST_ID",
        "COURIER_NATS_CREDS",
        "COURIER_NATS_USER",
        "COURIER_NATS_PASSWORD",
        "COURIER_NATS_TOKEN",
        "COURIER_NATS_TLS_CA",
        "COURIER_NATS_TLS_CERT",
        "COURIER_NATS_TLS_KEY",
        "COURIER_NATS_REQUIRE_TLS",
        "COURIER_NATS_REPLICAS",
        "COURIER_NATS_MONITOR",
        "COURIER_ALLOW_HOST",
        "COURIER_MAX_CONNECTIONS",
        "COURIER_HEADER_TIMEOUT_MS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1").env("RUST_LOG", "info");
    cmd
}

/// Whether `pid` is a live process (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3, after the parenthesised command name, is the state.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Waits until none of `pids` is alive.
pub fn wait_pids_gone(pids: &[u32]) {
    wait_for(&format!("agent processes {pids:?} to end"), || {
        pids.iter().all(|p| !alive(*p)).then_some(())
    });
}

/// Whether `pid` runs this test's binary (so cleanup never kills a process
/// that merely reused a pid).
fn is_ours(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains("courier") || c.contains("bash")
        })
        .unwrap_or(false)
}

/// The value of `key` in a process's environment (an agent's
/// `COURIER_TOKEN`, say: what a command its CLI starts inherits).
pub fn environ_var(pid: u32, key: &str) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    raw.split(|b| *b == 0).find_map(|entry| {
        let entry = String::from_utf8_lossy(entry);
        entry.strip_prefix(&format!("{key}=")).map(str::to_string)
    })
}

/// The `error.code` of a JSON error answer.
pub fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// Transcript lines (`{"n":..,"text":..}`) written by a fake agent; a
/// missing file is an empty transcript, a torn last line is skipped.
pub fn transcript(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

/// The message id in a submitted text's header line
/// (`[courier] from X to ... | msg <id>`).
pub fn message_id_of(text: &str) -> Option<String> {
    let header = text.lines().next()?;
    let rest = header.split(" | msg ").nth(1)?;
    rest.split_whitespace().next().map(str::to_string)
}

/// How many times message `id` was submitted in `path`.
pub fn count_in_transcript(path: &Path, id: &str) -> usize {
    transcript(path)
        .iter()
        .filter(|t| message_id_of(t).as_deref() == Some(id))
        .count()
}

/// A fake agent as the test spawned it.
#[derive(Debug, Clone)]
pub struct Agent {
    pub name: String,
    pub transcript: PathBuf,
    pub pid: u32,
}

static LOG_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One `courier up` process.
pub struct Broker {
    /// The temp directory that holds the state dir, logs and transcripts.
    pub root: PathBuf,
    pub state_dir: PathBuf,
    pub url: String,
    pub token: String,
    pub pid: u32,
    pub log: PathBuf,
    child: Option<Child>,
    http: Client,
    agent_pids: Mutex<BTreeSet<u32>>,
}

impl Broker {
    /// `courier up --state-dir <root>/state <extra>`; returns once the
    /// connection file of this very process exists and `/healthz` answers.
    pub fn start(root: &Path, extra: &[&str]) -> Broker {
        Broker::start_with_env(root, extra, &[])
    }

    /// [`Broker::start`] with extra environment variables for the broker
    /// (e.g. `COURIER_PRESETS`).
    pub fn start_with_env(root: &Path, extra: &[&str], env: &[(&str, &str)]) -> Broker {
        let state_dir = root.join("state");
        let n = LOG_COUNTER.fetch_add(1, Ordering::Relaxed);
        let log = root.join(format!("broker-{n}.log"));
        let stderr = File::create(&log).expect("create broker log");
        let mut child = courier_command()
            .arg("up")
            .arg("--state-dir")
            .arg(&state_dir)
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn courier up");
        let pid = child.id();
        let conn = wait_for("the broker's connection file", || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "courier up exited early ({status}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            let text = std::fs::read_to_string(state_dir.join("connection.json")).ok()?;
            let v: Value = serde_json::from_str(&text).ok()?;
            (v["pid"].as_u64() == Some(u64::from(pid))).then_some(v)
        });
        let http = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let broker = Broker {
            root: root.to_path_buf(),
            state_dir,
            url: conn["url"].as_str().expect("url").to_string(),
            token: conn["token"].as_str().expect("token").to_string(),
            pid,
            log,
            child: Some(child),
            http,
            agent_pids: Mutex::new(BTreeSet::new()),
        };
        wait_for("/healthz", || {
            let r = broker
                .http
                .get(format!("{}/healthz", broker.url))
                .send()
                .ok()?;
            (r.status() == 200).then_some(())
        });
        broker
    }

    pub fn http(&self) -> &Client {
        &self.http
    }

    /// A request with the owner's token.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.url, path))
            .bearer_auth(&self.token)
    }

    /// Sends and returns (status, JSON body or Null).
    pub fn call(&self, builder: RequestBuilder) -> (u16, Value) {
        let response = builder.send().expect("HTTP request to the broker");
        decode(response)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call(self.req(Method::GET, path))
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(self.req(Method::POST, path).json(body))
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        self.call(self.req(Method::DELETE, path))
    }

    /// `GET` that must answer 200.
    pub fn get_ok(&self, path: &str) -> Value {
        let (status, v) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    /// A transcript path for `name` in the test's temp dir.
    pub fn transcript_path(&self, name: &str) -> PathBuf {
        self.root.join(format!("{name}.jsonl"))
    }

    /// Spawns `courier fake-agent --transcript <root>/<name>.jsonl <args>`.
    pub fn spawn_fake(&self, name: &str, args: &[&str], channels: &[&str]) -> Agent {
        let transcript = self.transcript_path(name);
        let mut command = vec![
            EXE.to_string(),
            "fake-agent".to_string(),
            "--transcript".to_string(),
            transcript.display().to_string(),
        ];
        command.extend(args.iter().map(|a| a.to_string()));
        self.spawn_command(name, command, channels, transcript)
    }

    pub fn spawn_command(
        &self,
        name: &str,
        command: Vec<String>,
        channels: &[&str],
        transcript: PathBuf,
    ) -> Agent {
        let (status, v) = self.post(
            "/v1/agents",
            &json!({"name": name, "command": command, "channels": channels}),
        );
        assert_eq!(status, 201, "spawn {name}: {v}");
        let pid = v["pid"].as_u64().expect("spawned agent has a pid") as u32;
        self.remember_pid(pid);
        Agent {
            name: name.to_string(),
            transcript,
            pid,
        }
    }

    /// `POST /v1/agents` with a whole spawn request (`name` and `command`
    /// included: env, submit settings, …); must answer 201.
    pub fn spawn_request(&self, body: &Value, transcript: PathBuf) -> Agent {
        let (status, v) = self.post("/v1/agents", body);
        assert_eq!(status, 201, "spawn {body}: {v}");
        let pid = v["pid"].as_u64().expect("spawned agent has a pid") as u32;
        self.remember_pid(pid);
        Agent {
            name: body["name"].as_str().unwrap_or_default().to_string(),
            transcript,
            pid,
        }
    }

    fn remember_pid(&self, pid: u32) {
        self.agent_pids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(pid);
    }

    /// Every agent pid this test has seen from this broker.
    pub fn seen_agent_pids(&self) -> Vec<u32> {
        self.agent_pids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .copied()
            .collect()
    }

    /// `GET /v1/agents`, remembering every pid for cleanup.
    pub fn agents(&self) -> Vec<Value> {
        let v = self.get_ok("/v1/agents");
        let agents = v["agents"].as_array().cloned().unwrap_or_default();
        for a in &agents {
            if let Some(pid) = a["pid"].as_u64() {
                self.remember_pid(pid as u32);
            }
        }
        agents
    }

    /// `PUT /v1/agents/{name}/mode` (must answer 200), then waits until
    /// the agent's status shows the mode.
    pub fn set_mode(&self, name: &str, mode: &str) {
        let (status, v) = self.call(
            self.req(Method::PUT, &format!("/v1/agents/{name}/mode"))
                .json(&json!({"mode": mode})),
        );
        assert_eq!(status, 200, "mode {name} {mode}: {v}");
        wait_for(&format!("{name} in {mode} mode"), || {
            (self.get_ok(&format!("/v1/agents/{name}"))["status"]["mode"] == mode).then_some(())
        });
    }

    /// Waits until agent `name` reports ready.
    pub fn wait_ready(&self, name: &str) {
        wait_for(&format!("agent {name} to be ready"), || {
            let (status, v) = self.get(&format!("/v1/agents/{name}"));
            (status == 200 && v["status"]["ready"] == json!(true)).then_some(())
        });
    }

    /// The visible screen rows of agent `name`, joined with newlines.
    pub fn screen(&self, name: &str) -> String {
        let v = self.get_ok(&format!("/v1/agents/{name}/screen"));
        v["rows"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// Waits for the fake agent's trust dialog, then accepts it with Enter.
    pub fn accept_trust_dialog(&self, name: &str) {
        wait_for(&format!("{name}'s trust dialog"), || {
            self.screen(name)
                .contains("Do you trust the files")
                .then_some(())
        });
        let (status, v) = self.post(&format!("/v1/agents/{name}/input"), &json!({"text": "\r"}));
        assert_eq!(status, 204, "input to {name}: {v}");
        self.wait_ready(name);
    }

    /// `POST /v1/messages` as the owner; must answer 201.
    pub fn send(&self, from: &str, to: &str, body: &str) -> Value {
        let (status, v) = self.post(
            "/v1/messages",
            &json!({"from": from, "to": to, "body": body}),
        );
        assert_eq!(status, 201, "send {from} → {to}: {v}");
        v
    }

    /// Every event after `since`, paging through `/v1/events`.
    pub fn events_after(&self, since: u64) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = since;
        loop {
            let v = self.get_ok(&format!("/v1/events?since={cursor}&limit=1000"));
            let page = v["events"].as_array().cloned().unwrap_or_default();
            if page.is_empty() {
                return out;
            }
            cursor = page
                .last()
                .and_then(|e| e["seq"].as_u64())
                .unwrap_or(cursor);
            out.extend(page);
        }
    }

    pub fn events(&self) -> Vec<Value> {
        self.events_after(0)
    }

    /// Waits until an event satisfies `pred`; returns it.
    pub fn wait_event(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        wait_for(what, || self.events().into_iter().find(|e| pred(e)))
    }

    /// Deliveries of message `id`.
    pub fn deliveries(&self, id: &str) -> Vec<Value> {
        self.get_ok(&format!("/v1/messages/{id}"))["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until every delivery of message `id` is verified; returns them.
    pub fn wait_verified(&self, id: &str) -> Vec<Value> {
        wait_for(&format!("message {id} to be verified"), || {
            let ds = self.deliveries(id);
            (!ds.is_empty() && ds.iter().all(|d| d["state"] == "verified")).then_some(ds)
        })
    }

    /// Waits until the broker reports nothing pending.
    pub fn wait_nothing_pending(&self) {
        wait_for("no pending deliveries", || {
            (self.get_ok("/v1/status")["pending"] == json!(0)).then_some(())
        });
    }

    /// The broker's stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL; reaps the process.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGKILL, leaving its agents to the next broker: they live in session
    /// hosts, which outlive the broker; dropping this handle then does not
    /// end them either.
    pub fn crash(&mut self) {
        self.agents();
        self.kill9();
        self.agent_pids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// SIGTERM, then waits for the exit (at most [`DEADLINE`]).
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("broker still running");
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        wait_for("the broker to exit after SIGTERM", || {
            child.try_wait().expect("wait for broker")
        })
    }

    /// Graceful stop that must succeed, then checks every agent process this
    /// test saw is gone.
    pub fn stop_and_check(mut self) {
        self.agents();
        let status = self.terminate();
        assert!(
            status.success(),
            "broker exited with {status}:\n{}",
            self.stderr()
        );
        wait_pids_gone(&self.seen_agent_pids());
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // Agents that outlived the broker (only after a failed test): end
        // their process groups.
        for pid in self.seen_agent_pids() {
            if alive(pid) && is_ours(pid) {
                // SAFETY: kill(2) on a process group this test started.
                unsafe {
                    libc::kill(-(pid as i32), libc::SIGKILL);
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
        }
    }
}

/// Status and JSON body (Null when empty or not JSON).
pub fn decode(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Strips ANSI escape sequences (log lines may carry colours).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}
