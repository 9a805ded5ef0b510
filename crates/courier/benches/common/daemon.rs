//! A `courier up` a bench drives as a person runs it: started in a temp
//! state dir, called over real HTTP on 127.0.0.1 with its bearer token, its
//! agents spawned and waited for, and messages sent one at a time to an
//! idle agent, each timed from its HTTP send to its text on the agent's
//! screen and to its delivery `verified`.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::Range;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const COURIER: &str = env!("CARGO_BIN_EXE_courier");

/// The longest wait for a broker, an agent or a delivery.
const PATIENCE: Duration = Duration::from_secs(20);
/// Between polls of the API. Poll, don't spin: on 2 cores a busy loop of
/// requests starves the broker tasks it is timing.
const POLL: Duration = Duration::from_micros(300);
/// The pause once the agent is idle, before the next send.
const SETTLE: Duration = Duration::from_millis(30);

pub struct Daemon {
    pub child: Child,
    pub url: String,
    pub token: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Daemon {
    /// Starts `courier up`; returns it with the time until `/healthz` answered.
    pub async fn start(extra: &[&str]) -> (Daemon, Duration) {
        let dir = tempfile::tempdir().expect("temp dir");
        let begin = Instant::now();
        // COURIER_BENCH_NO_SESSION_HOSTS=1: the same figures with agents'
        // PTYs in the broker process, to see what the hosts cost.
        let local = std::env::var_os("COURIER_BENCH_NO_SESSION_HOSTS").is_some();
        let child = Command::new(COURIER)
            .args(["up", "--state-dir"])
            .arg(dir.path())
            .args(extra)
            .args(local.then_some("--no-session-hosts"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start courier up");
        let http = reqwest::Client::new();
        let conn = dir.path().join("connection.json");
        let (url, token) = loop {
            if let Ok(text) = std::fs::read_to_string(&conn)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
            {
                let url = v["url"].as_str().unwrap_or_default().to_string();
                if http.get(format!("{url}/healthz")).send().await.is_ok() {
                    break (url, v["token"].as_str().unwrap_or_default().to_string());
                }
            }
            assert!(begin.elapsed() < PATIENCE, "broker did not start");
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        let ready = begin.elapsed();
        let daemon = Daemon {
            child,
            url,
            token,
            http,
            _dir: dir,
        };
        (daemon, ready)
    }

    /// One API call that must succeed; its JSON answer (`Null` if none).
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `POST /v1/agents` with `body`.
    pub async fn spawn(&self, body: Value) {
        self.call(reqwest::Method::POST, "/v1/agents", Some(body))
            .await;
    }

    /// Waits until agent `name` is ready, not busy and has nothing queued
    /// or in flight.
    pub async fn wait_idle(&self, name: &str) {
        let path = &format!("/v1/agents/{name}");
        poll(
            &format!("{name} to become idle"),
            Instant::now(),
            || async move {
                let a = self.get(path).await;
                let s = &a["status"];
                (s["ready"] == json!(true)
                    && s["busy"] == json!(false)
                    && a["queue_depth"] == json!(0)
                    && s["delivering"].is_null())
                .then_some(())
            },
        )
        .await;
    }

    /// `POST /v1/messages` from `bench` to `to`; the message's id.
    pub async fn send(&self, to: &str, body: &str) -> String {
        let message = json!({"from": "bench", "to": to, "body": body});
        let sent = self
            .call(reqwest::Method::POST, "/v1/messages", Some(message))
            .await;
        sent["message_id"].as_str().unwrap_or_default().to_string()
    }

    /// Waits until `text` shows on agent `name`'s screen.
    pub async fn wait_on_screen(&self, name: &str, text: &str, begin: Instant) {
        let path = &format!("/v1/agents/{name}/screen");
        poll(
            &format!("{text:?} on {name}'s screen"),
            begin,
            || async move { super::shows(&self.get(path).await, text).then_some(()) },
        )
        .await;
    }

    /// Follows the broker's event stream from now on, noting when each
    /// message's `delivery_verified` arrives: a wait on it costs the broker
    /// nothing, where polling the API every 0.3 ms (3,000 requests a
    /// second on 2 cores) slowed the very path it timed.
    pub async fn watch_verified(&self) -> VerifiedWatch {
        let last = self
            .get("/v1/events?since=18446744073709551615&limit=1")
            .await;
        let since = last["last_seq"].as_u64().unwrap_or(0);
        let response = self
            .http
            .get(format!("{}/v1/events/stream?since={since}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("open the event stream");
        assert!(
            response.status().is_success(),
            "event stream: {}",
            response.status()
        );
        let watch = VerifiedWatch::default();
        let (seen, notify) = (watch.seen.clone(), watch.notify.clone());
        tokio::spawn(async move {
            let mut stream = response.bytes_stream();
            let mut buffer = Vec::new();
            while let Some(Ok(chunk)) = stream.next().await {
                buffer.extend_from_slice(&chunk);
                while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                    let frame: Vec<u8> = buffer.drain(..end + 2).collect();
                    let at = Instant::now();
                    for line in String::from_utf8_lossy(&frame).lines() {
                        let Some(data) = line.strip_prefix("data:") else {
                            continue;
                        };
                        let Ok(e) = serde_json::from_str::<Value>(data.trim()) else {
                            continue;
                        };
                        if e["type"] == "delivery_verified"
                            && let Some(id) = e["message_id"].as_str()
                        {
                            lock(&seen).insert(id.to_string(), (at, e.clone()));
                            notify.notify_waiters();
                        }
                    }
                }
            }
        });
        watch
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        super::stop(&mut self.child);
    }
}

/// When each message's `delivery_verified` came, read from the stream.
#[derive(Default, Clone)]
pub struct VerifiedWatch {
    seen: Arc<Mutex<HashMap<String, (Instant, Value)>>>,
    notify: Arc<Notify>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl VerifiedWatch {
    /// When message `id`'s delivery was verified, and the event; panics
    /// if it ends unverified or [`PATIENCE`] passes since `begin`.
    pub async fn wait(&self, id: &str, begin: Instant) -> (Instant, Value) {
        loop {
            let notified = self.notify.notified();
            if let Some((at, e)) = lock(&self.seen).remove(id) {
                assert_ne!(e["verification"], json!("timeout_fallback"), "{e}");
                return (at, e);
            }
            let left = PATIENCE.saturating_sub(begin.elapsed());
            assert!(
                !left.is_zero(),
                "waited {PATIENCE:?} for {id} to be verified"
            );
            let _ = tokio::time::timeout(left, notified).await;
        }
    }
}

/// Calls `probe` every [`POLL`] until it gives a value; panics naming
/// `what` once [`PATIENCE`] has passed since `begin`.
async fn poll<T, F, Fut>(what: &str, begin: Instant, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(begin.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// What [`one_at_a_time`] measured: latencies from the HTTP send, sorted.
#[derive(Debug, Default)]
pub struct Timed {
    /// → the text on the agent's screen (empty when not watched).
    pub screen: Vec<Duration>,
    /// → the delivery `verified`.
    pub verified: Vec<Duration>,
    /// → the send's own answer (`201`: the message durable).
    pub acked: Vec<Duration>,
    /// How the deliveries were verified (`protocol`, …) and how many each.
    pub verifications: BTreeMap<String, usize>,
}

/// Sends messages numbered `numbers` one at a time to agent `to`, each
/// once it is idle again, timing each from its HTTP send until it is
/// verified and, with `watch_screen`, until its text is on the agent's
/// screen first. Numbers make the texts: a second run on the same agent
/// takes new ones, so an old text on the screen is not taken for a new.
pub async fn one_at_a_time(
    daemon: &Daemon,
    to: &str,
    numbers: Range<usize>,
    watch_screen: bool,
) -> Timed {
    let mut timed = Timed::default();
    let verified = daemon.watch_verified().await;
    for i in numbers {
        daemon.wait_idle(to).await;
        tokio::time::sleep(SETTLE).await;
        let token = format!("bench-token-{i}-x");
        let begin = Instant::now();
        let id = daemon.send(to, &token).await;
        timed.acked.push(begin.elapsed());
        if watch_screen {
            daemon.wait_on_screen(to, &token, begin).await;
            timed.screen.push(begin.elapsed());
        }
        let (at, delivery) = verified.wait(&id, begin).await;
        timed.verified.push(at.duration_since(begin));
        let how = delivery["verification"].as_str().unwrap_or("unknown");
        *timed.verifications.entry(how.to_string()).or_default() += 1;
    }
    timed.acked.sort();
    timed.screen.sort();
    timed.verified.sort();
    timed
}
