//! `cargo bench -p courier --bench load`: the broker under load, as a person
//! runs it. `courier up` over real HTTP, `COURIER_LOAD_AGENTS` fake agents
//! (default 50, `--mode line`) and `COURIER_LOAD_MESSAGES` messages (default
//! 100,000) sent by 16 HTTP senders in two equal rounds, each waited out
//! until every delivery has ended. The broker's RSS is sampled every 200 ms.
//!
//! Reports RSS at start / peak / after each round (flat after round 1 means
//! no per-message growth), ack rates with empty and with deep queues, the
//! cost of `GET /v1/status` at depth, and the same run's RSS per agent for a
//! 10-agent broker beside the big one. Records each figure to
//! `$COURIER_BENCH_JSON` (bench `load`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use courier_bench::Recorder;
use reqwest::blocking::Client;
use serde_json::{Value, json};

const COURIER: &str = env!("CARGO_BIN_EXE_courier");
const FIGURES: Recorder = Recorder::new("load");

fn env_or(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", in_mb(kb))
}

fn in_mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

struct Daemon {
    child: std::process::Child,
    url: String,
    token: String,
    http: Client,
    _dir: tempfile::TempDir,
}

impl Daemon {
    #[allow(clippy::zombie_processes)] // Drop waits for it.
    fn start(queue_cap: usize) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let child = std::process::Command::new(COURIER)
            .args(["up", "--queue-cap", &queue_cap.to_string(), "--state-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start courier up");
        let http = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let begin = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(dir.path().join("connection.json"))
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["pid"].as_u64() == Some(u64::from(child.id()))
            {
                let url = v["url"].as_str().unwrap_or_default().to_string();
                if http.get(format!("{url}/healthz")).send().is_ok() {
                    let token = v["token"].as_str().unwrap_or_default().to_string();
                    return Daemon {
                        child,
                        url,
                        token,
                        http,
                        _dir: dir,
                    };
                }
            }
            assert!(
                begin.elapsed() < Duration::from_secs(20),
                "broker did not start"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send();
        r.ok().and_then(|r| r.json().ok()).unwrap_or(Value::Null)
    }

    fn spawn_agents(&self, n: usize) {
        for i in 0..n {
            let body = json!({"name": format!("a{i}"), "command": [COURIER, "fake-agent", "--mode", "line"]});
            let r = self
                .http
                .post(format!("{}/v1/agents", self.url))
                .bearer_auth(&self.token)
                .json(&body)
                .send();
            assert!(r.is_ok_and(|r| r.status() == 201), "spawn a{i}");
        }
        let begin = Instant::now();
        while self.get("/v1/agents")["agents"]
            .as_array()
            .is_none_or(|a| a.len() < n || a.iter().any(|a| a["status"]["ready"] != json!(true)))
        {
            assert!(
                begin.elapsed() < Duration::from_secs(120),
                "agents never ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `count` messages round robin from 16 threads; returns the ack
    /// rate of the first and of the last tenth of the sends.
    fn send(&self, count: usize, agents: usize) -> (f64, f64, Duration) {
        let next = Arc::new(AtomicU64::new(0));
        let stamps = Arc::new(std::sync::Mutex::new(Vec::with_capacity(count)));
        let begin = Instant::now();
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (next, stamps) = (next.clone(), stamps.clone());
                let (http, url, token) = (self.http.clone(), self.url.clone(), self.token.clone());
                std::thread::spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= count {
                        return;
                    }
                    let body = json!({"from": "load", "to": format!("a{}", i % agents), "body": format!("load message {i}")});
                    let r = http.post(format!("{url}/v1/messages")).bearer_auth(&token).json(&body).send();
                    assert!(r.is_ok_and(|r| r.status() == 201), "send {i}");
                    stamps.lock().expect("stamps").push(begin.elapsed());
                })
            })
            .collect();
        for t in threads {
            t.join().expect("sender");
        }
        let mut stamps = stamps.lock().expect("stamps").clone();
        stamps.sort();
        let tenth = (count / 10).max(1);
        let rate = |a: Duration, b: Duration| tenth as f64 / (b - a).as_secs_f64().max(1e-9);
        let first = rate(Duration::ZERO, stamps[tenth - 1]);
        let last = rate(stamps[count - tenth - 1], stamps[count - 1]);
        (first, last, begin.elapsed())
    }

    fn wait_drained(&self) -> Duration {
        let begin = Instant::now();
        while self.get("/v1/status")["pending"] != json!(0) {
            std::thread::sleep(Duration::from_millis(500));
        }
        begin.elapsed()
    }

    fn ended(&self) -> (u64, u64) {
        let text = self
            .http
            .get(format!("{}/metrics", self.url))
            .bearer_auth(&self.token)
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default();
        let metric = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        (
            metric("courier_deliveries_verified_total "),
            metric("courier_deliveries_unverified_total "),
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let begin = Instant::now();
        while begin.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples the RSS of `pid` until stopped; returns the peak.
fn sampler(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(rss_kb(pid));
            std::thread::sleep(Duration::from_millis(200));
        }
        peak
    })
}

fn main() {
    let agents = env_or("COURIER_LOAD_AGENTS", 50);
    let messages = env_or("COURIER_LOAD_MESSAGES", 100_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // A small broker first, for the cost per agent.
    let small = Daemon::start(1000);
    let idle = rss_kb(small.child.id());
    small.spawn_agents(10);
    std::thread::sleep(Duration::from_millis(500));
    let per_agent_10 = rss_kb(small.child.id()).saturating_sub(idle) / 10;
    drop(small);

    let daemon = Daemon::start(messages + 1000);
    let pid = daemon.child.id();
    let idle_big = rss_kb(pid);
    daemon.spawn_agents(agents);
    std::thread::sleep(Duration::from_millis(500));
    let start = rss_kb(pid);
    let per_agent_n = start.saturating_sub(idle_big) / agents as u64;
    let stop = Arc::new(AtomicBool::new(false));
    let peak = sampler(pid, stop.clone());

    let half = messages / 2;
    let (rate_empty, rate_deep, send1) = daemon.send(half, agents);
    let depth = daemon.get("/v1/status")["pending"].as_u64().unwrap_or(0);
    let t = Instant::now();
    let _ = daemon.get("/v1/status");
    let status_at_depth = t.elapsed();
    let drain1 = daemon.wait_drained();
    let after1 = rss_kb(pid);
    let (_, _, send2) = daemon.send(messages - half, agents);
    let drain2 = daemon.wait_drained();
    std::thread::sleep(Duration::from_millis(500));
    let after2 = rss_kb(pid);
    let t = Instant::now();
    let _ = daemon.get("/v1/status");
    let status_empty = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let peak = peak.join().expect("sampler");
    let (verified, unverified) = daemon.ended();
    let total = send1 + drain1 + send2 + drain2;
    let growth = after2 as i64 - after1 as i64;
    let per_msg = growth as f64 * 1024.0 / (messages - half) as f64;

    let ended_all = verified + unverified == messages as u64;
    FIGURES
        .higher("deliveries verified", verified as f64, "count")
        .target(&format!("all {messages} ended"), Some(ended_all))
        .record();
    FIGURES
        .lower("deliveries unverified", unverified as f64, "count")
        .record();
    let memory = |name: &str, kb: u64| FIGURES.lower(name, in_mb(kb), "MB");
    memory("broker RSS idle", idle_big).record();
    memory("broker RSS with the agents (start)", start).record();
    memory("broker RSS peak (sampled every 200 ms)", peak)
        .at_most((8 + 2 * agents) as f64)
        .record();
    memory("broker RSS after round 1", after1).record();
    memory("broker RSS after round 2", after2)
        .target("flat", None)
        .record();
    FIGURES
        .lower("RSS growth per message in round 2", per_msg, "bytes")
        .target("≈ 0 (no per-message growth)", None)
        .record();
    memory("broker RSS per agent, 10 agents", per_agent_10)
        .at_most(2.0)
        .record();
    memory("broker RSS per agent, all agents", per_agent_n)
        .at_most(2.0)
        .record();
    FIGURES
        .higher(
            "durable sends/s, queues empty (first tenth)",
            rate_empty,
            "/s",
        )
        .at_least(2000.0)
        .record();
    FIGURES
        .higher("durable sends/s, queues deep (last tenth)", rate_deep, "/s")
        .target(
            "no worse than empty ÷ 2",
            Some(rate_deep >= rate_empty / 2.0),
        )
        .record();
    FIGURES
        .neither("pending after the round 1 sends", depth as f64, "count")
        .record();
    let in_ms = |d: Duration| d.as_secs_f64() * 1e3;
    FIGURES
        .lower("`GET /v1/status` at depth", in_ms(status_at_depth), "ms")
        .record();
    FIGURES
        .lower("`GET /v1/status` at 0 pending", in_ms(status_empty), "ms")
        .record();
    FIGURES
        .higher(
            "deliveries ended/s (paced)",
            messages as f64 / total.as_secs_f64(),
            "/s",
        )
        .record();
    for (name, took) in [
        ("wall time: round 1 send", send1),
        ("wall time: round 1 drain", drain1),
        ("wall time: round 2 send", send2),
        ("wall time: round 2 drain", drain2),
    ] {
        FIGURES.lower(name, took.as_secs_f64(), "s").record();
    }

    println!(
        "\n## courier load benchmark ({cores} cores, {agents} agents, {messages} messages, 16 HTTP senders)\n"
    );
    println!("| measure | measured | target |");
    println!("|---|---|---|");
    println!(
        "| deliveries ended (verified + unverified) | {} + {} of {messages} | all |",
        verified, unverified
    );
    println!(
        "| broker RSS idle / with {agents} agents (start) | {} / {} | — |",
        mb(idle_big),
        mb(start)
    );
    // The daemon issue's budget: 8 MB idle plus 2 MB per agent.
    println!(
        "| broker RSS peak (sampled every 200 ms) | {} | ≤ {} MB (8 MB + 2 MB per agent) |",
        mb(peak),
        8 + 2 * agents
    );
    println!(
        "| broker RSS after round 1 / after round 2 | {} / {} | flat |",
        mb(after1),
        mb(after2)
    );
    println!(
        "| RSS growth per message in round 2 | {per_msg:.1} bytes | ≈ 0 (no per-message growth) |"
    );
    println!(
        "| broker RSS per agent, 10 agents / {agents} agents | {} / {} | ≤ 2 MB |",
        mb(per_agent_10),
        mb(per_agent_n)
    );
    println!("| durable sends/s, queues empty (first tenth) | {rate_empty:.0}/s | ≥ 2,000/s |");
    println!(
        "| durable sends/s, queues deep (last tenth, {depth} pending at end) | {rate_deep:.0}/s | no worse than empty ÷ 2 |"
    );
    println!(
        "| `GET /v1/status` at {depth} pending / at 0 | {:.1} ms / {:.1} ms | — |",
        status_at_depth.as_secs_f64() * 1e3,
        status_empty.as_secs_f64() * 1e3
    );
    println!(
        "| deliveries ended/s ({agents} agents, paced) | {:.0}/s | — |",
        messages as f64 / total.as_secs_f64()
    );
    println!(
        "| wall time: send / drain, round 1 and 2 | {:.1}+{:.1} s, {:.1}+{:.1} s | — |",
        send1.as_secs_f64(),
        drain1.as_secs_f64(),
        send2.as_secs_f64(),
        drain2.as_secs_f64()
    );
}
