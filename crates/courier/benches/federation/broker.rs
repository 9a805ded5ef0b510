//! One `courier up --nats …` broker of the bench's workspace, over HTTP.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

pub const COURIER: &str = env!("CARGO_BIN_EXE_courier");
pub const WORKSPACE: &str = "bench";

pub struct Broker {
    pub host: String,
    child: Child,
    pub url: String,
    pub token: String,
    pub http: reqwest::Client,
    log: PathBuf,
    /// `None` when kept (`COURIER_BENCH_KEEP=1`).
    _dir: Option<tempfile::TempDir>,
}

impl Broker {
    /// `courier up` joined to `nats` as `host`; returns once its API answers.
    /// Its log (RUST_LOG, default `warn,courier_broker::federation=info`)
    /// goes to `broker.log` in its state dir.
    pub async fn start(host: &str, nats: &str, monitor: &str, extra: &[&str]) -> Broker {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("broker.log");
        let filter = std::env::var("COURIER_BENCH_RUST_LOG")
            .unwrap_or_else(|_| "warn,courier_broker::federation=info".into());
        let mut cmd = Command::new(COURIER);
        // Nothing of the caller's COURIER_* settings leaks into the bench.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("COURIER_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .args(["up", "--state-dir"])
            .arg(dir.path())
            .args(["--nats", nats, "--nats-monitor", monitor])
            .args(["--workspace", WORKSPACE, "--host-id", host])
            .args(extra)
            .env("RUST_LOG", filter)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("broker log"))
            .spawn()
            .expect("start courier up");
        let http = reqwest::Client::new();
        let conn = dir.path().join("connection.json");
        let begin = Instant::now();
        let (url, token) = loop {
            if let Ok(text) = std::fs::read_to_string(&conn)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
            {
                let url = v["url"].as_str().unwrap_or_default().to_string();
                if http.get(format!("{url}/healthz")).send().await.is_ok() {
                    break (url, v["token"].as_str().unwrap_or_default().to_string());
                }
            }
            assert!(
                begin.elapsed() < Duration::from_secs(20),
                "broker {host} did not start:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let mut dir = Some(dir);
        if std::env::var_os("COURIER_BENCH_KEEP").is_some()
            && let Some(kept) = dir.take().map(tempfile::TempDir::keep)
        {
            eprintln!(
                "{host}: state dir and broker.log kept in {}",
                kept.display()
            );
        }
        Broker {
            host: host.to_string(),
            child,
            url,
            token,
            http,
            log,
            _dir: dir,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "{} {path}: {status} {text}", self.host);
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(Method::GET, path, None).await
    }

    pub async fn federation(&self) -> Value {
        self.get("/v1/federation").await
    }

    /// Until `/v1/federation` says joined and `peer` is an active peer.
    pub async fn wait_joined(&self, peer: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let f = self.federation().await;
            let sees_peer = f["peers"].as_array().is_some_and(|peers| {
                peers
                    .iter()
                    .any(|p| p["host"] == json!(peer) && p["presence"] == json!("active"))
            });
            if f["joined"] == json!(true) && sees_peer {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} never joined with {peer} active: {f}\n{}",
                self.host,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Spawns a line-mode fake agent here.
    pub async fn spawn_agent(&self, name: &str) {
        let body = json!({"name": name, "command": [COURIER, "fake-agent", "--mode", "line"]});
        self.call(Method::POST, "/v1/agents", Some(body)).await;
    }

    pub async fn set_mode(&self, name: &str, mode: &str) {
        let body = json!({"mode": mode});
        self.call(Method::PUT, &format!("/v1/agents/{name}/mode"), Some(body))
            .await;
    }

    /// Until the agent is ready, idle, with nothing queued or in flight.
    pub async fn wait_idle(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let a = self.get(&format!("/v1/agents/{name}")).await;
            let s = &a["status"];
            if s["ready"] == json!(true)
                && s["busy"] == json!(false)
                && a["queue_depth"] == json!(0)
                && s["delivering"].is_null()
            {
                return;
            }
            assert!(Instant::now() < deadline, "{name} never became idle: {a}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Until every name in `names` is listed here as an agent of `host`.
    pub async fn wait_remote(&self, names: &[String], host: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let list = self.get("/v1/agents").await;
            let agents = list["agents"].as_array().cloned().unwrap_or_default();
            let listed = names.iter().all(|n| {
                agents.iter().any(|a| {
                    a["name"] == json!(n) && a["remote"] == json!(true) && a["host"] == json!(host)
                })
            });
            if listed {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} never listed {names:?} of {host}: {list}",
                self.host
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// `pending_forwards` of `/v1/federation`.
    pub async fn pending_forwards(&self) -> u64 {
        self.federation().await["pending_forwards"]
            .as_u64()
            .unwrap_or(u64::MAX)
    }

    pub async fn last_seq(&self) -> u64 {
        self.get("/v1/events?since=0&limit=1").await["last_seq"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Every event after `since`, paged.
    pub async fn events_after(&self, mut since: u64) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let page = self
                .get(&format!("/v1/events?since={since}&limit=10000"))
                .await;
            let events = page["events"].as_array().cloned().unwrap_or_default();
            let Some(last) = events.last().and_then(|e| e["seq"].as_u64()) else {
                return all;
            };
            since = last;
            all.extend(events);
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        crate::common::stop(&mut self.child);
    }
}
