//! A background stream of sends, and a tiny seeded random generator, for the
//! crash, fault and load tests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// xorshift64*: reproducible from the seed a test prints.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// From `env_var` if set, else from the clock; returns the seed too.
    pub fn from_env(env_var: &str) -> (Rng, u64) {
        let seed = std::env::var(env_var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        (Rng(seed | 1), seed)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// One acknowledged send: message id and recipient.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Acked {
    pub id: String,
    pub to: String,
}

/// Sends round robin to `targets` from a background thread until stopped
/// or the broker stops answering, recording every send answered 201.
pub struct SendStream {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acked>>>,
    handle: Option<JoinHandle<()>>,
}

/// Numbers bodies across streams so every body is unique in a test.
static BODY_COUNTER: AtomicU64 = AtomicU64::new(0);

impl SendStream {
    /// `pause` between sends (zero for as fast as the broker acks);
    /// `limit` sends at most.
    pub fn start(
        url: &str,
        token: &str,
        targets: Vec<String>,
        pause: Duration,
        limit: usize,
    ) -> SendStream {
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
        let handle = {
            let (stop, acked) = (stop.clone(), acked.clone());
            let (url, token) = (url.to_string(), token.to_string());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .expect("http client");
                for i in 0..limit {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let to = &targets[i % targets.len()];
                    let n = BODY_COUNTER.fetch_add(1, Ordering::Relaxed);
                    let body =
                        json!({"from": "human", "to": to, "body": format!("stream message {n}")});
                    let sent = http
                        .post(format!("{url}/v1/messages"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send();
                    let Ok(response) = sent else { return };
                    if response.status() != 201 {
                        return;
                    }
                    let Ok(v) = response.json::<Value>() else {
                        return;
                    };
                    let id = v["message_id"].as_str().unwrap_or_default().to_string();
                    acked
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(Acked { id, to: to.clone() });
                    if !pause.is_zero() {
                        std::thread::sleep(pause);
                    }
                }
            })
        };
        SendStream {
            stop,
            acked,
            handle: Some(handle),
        }
    }

    /// How many sends were acknowledged so far.
    pub fn count(&self) -> usize {
        self.acked.lock().map(|a| a.len()).unwrap_or(0)
    }

    /// Whether the thread has ended by itself (limit reached or refused).
    pub fn finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the thread and returns every acknowledged send.
    pub fn stop(mut self) -> Vec<Acked> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().expect("sender thread");
        }
        std::mem::take(
            &mut *self
                .acked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

impl Drop for SendStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
