//! `cargo bench -p courier --bench terminals`: the dashboard's live terminals.
//! Starts the real `courier up` binary (durable: agents under session hosts)
//! and measures:
//! - output byte → drawn in the browser: an agent (benches/terminals/agent.py)
//!   writes `MARK <epoch-ns> <i> .` lines every 20 ms; the real dashboard pane
//!   in Debian's Chromium, driven by Playwright (benches/terminals/
//!   draw_latency.py), notes when each line is first put into the pane's
//!   rows. Skipped, saying how to get them, without Playwright or Chromium;
//! - broker CPU with 20 agents streaming a line every 20 ms to 20 WebSocket
//!   viewers (read-only, bearer token) for 10 s, from /proc/PID/stat
//!   utime+stime of `courier up` alone, its session hosts beside it; and the
//!   same 20 agents with no viewer, to see what the viewers cost.
//!
//! Prints a markdown table with the core count, each figure beside its target,
//! and records each figure to `$COURIER_BENCH_JSON` (bench `terminals`; a
//! skipped or failed part records nothing, so a comparison shows it missing).

#[path = "common/mod.rs"]
mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use courier_bench::Recorder;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const COURIER: &str = env!("CARGO_BIN_EXE_courier");
const FIGURES: Recorder = Recorder::new("terminals");
const MARKS: usize = 250;
const MARK_INTERVAL_MS: u64 = 20;
const STREAMERS: usize = 20;
const STREAM_INTERVAL_MS: u64 = 20;
const WINDOW: Duration = Duration::from_secs(10);
const QUIET_WINDOW: Duration = Duration::from_secs(5);

struct Daemon {
    child: Child,
    url: String,
    token: String,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Daemon {
    async fn start() -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let begin = Instant::now();
        let child = Command::new(COURIER)
            .args(["up", "--state-dir"])
            .arg(dir.path())
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
            assert!(
                begin.elapsed() < Duration::from_secs(20),
                "broker did not start"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        Daemon {
            child,
            url,
            token,
            http,
            dir,
        }
    }

    async fn spawn_agent(&self, name: &str, program: &[&str]) {
        let script = bench_dir().join("agent.py");
        let mut command = vec![
            "python3".to_string(),
            "-u".to_string(),
            script.display().to_string(),
        ];
        command.extend(program.iter().map(|a| a.to_string()));
        let body = json!({"name": name, "command": command, "rows": 24, "cols": 80});
        let resp = self
            .http
            .post(format!("{}/v1/agents", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("spawn request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "spawn {name}: {status} {text}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        common::stop(&mut self.child);
    }
}

fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/terminals")
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// utime+stime of a process, in clock ticks (0 if it is gone).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the command: state is field 3, utime 14 and stime 15.
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

/// The session hosts a broker started (its children running `session-host`).
fn hosts_of(broker: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            ppid == Some(broker) && String::from_utf8_lossy(&cmdline).contains("session-host")
        })
        .collect()
}

/// CPU of the broker and of its session hosts over `window`, as % of one core.
async fn cpu_over(broker: u32, window: Duration) -> (f64, f64, usize) {
    let hosts = hosts_of(broker);
    let hosts_ticks = |hosts: &[u32]| hosts.iter().map(|p| cpu_ticks(*p)).sum::<u64>();
    let (b0, h0, t0) = (cpu_ticks(broker), hosts_ticks(&hosts), Instant::now());
    tokio::time::sleep(window).await;
    let (b1, h1, secs) = (
        cpu_ticks(broker),
        hosts_ticks(&hosts),
        t0.elapsed().as_secs_f64(),
    );
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let pct = |ticks: u64| ticks as f64 / hz / secs * 100.0;
    (pct(b1 - b0), pct(h1.saturating_sub(h0)), hosts.len())
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The Python with Playwright, and the browser; or why part 1 is skipped.
fn browser_setup() -> Result<(String, String), String> {
    let python = std::env::var("COURIER_TEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/pyenv/bin/python")
                .display()
                .to_string()
        });
    let has_playwright = Command::new(&python)
        .args(["-c", "import playwright.sync_api"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_playwright {
        return Err(format!(
            "no Python with playwright at {python} (set COURIER_TEST_PYTHON, or run \
             ./scripts/test.sh once: it installs playwright into target/pyenv)"
        ));
    }
    let chromium = std::env::var("COURIER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!(
            "no browser at {chromium} (apt-get install -y chromium, which ./scripts/test.sh \
             does as root, or set COURIER_CHROMIUM)"
        ));
    }
    Ok((python, chromium))
}

struct Drawn {
    sorted_ms: Vec<f64>,
    missing: i64,
    skew_ms: f64,
}

/// Part 1: one agent writing marks, the dashboard pane drawing them.
async fn draw_latency(python: &str, chromium: &str) -> Result<Drawn, String> {
    let daemon = Daemon::start().await;
    daemon
        .spawn_agent(
            "marks",
            &["marks", &MARKS.to_string(), &MARK_INTERVAL_MS.to_string()],
        )
        .await;
    let script = bench_dir().join("draw_latency.py");
    let mut child = Command::new(python)
        .arg(&script)
        .env("COURIER_EXE", COURIER)
        .env("COURIER_STATE_DIR", daemon.dir.path())
        .env("COURIER_CHROMIUM", chromium)
        .env("COURIER_AGENT", "marks")
        .env("COURIER_MARKS", MARKS.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {python} {}: {e}", script.display()))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // The script has its own deadlines; this only stops a hung browser.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    if !status.is_some_and(|s| s.success()) {
        return Err(format!("the browser script failed: {out}{err}"));
    }
    let report: Value = out
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("no JSON report from the browser script: {out}{err}"))?;
    let mut sorted_ms: Vec<f64> = report["latencies_ms"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    sorted_ms.sort_by(f64::total_cmp);
    Ok(Drawn {
        sorted_ms,
        missing: report["missing"].as_i64().unwrap_or(-1),
        skew_ms: report["clock_skew_ms"].as_f64().unwrap_or(f64::NAN),
    })
}

struct Streaming {
    quiet: (f64, f64, usize),
    watched: (f64, f64, usize),
    viewers: usize,
    bytes_per_sec: f64,
}

/// Part 2: 20 agents streaming; broker CPU without viewers, then with 20.
async fn streaming() -> Streaming {
    let daemon = Daemon::start().await;
    for i in 0..STREAMERS {
        daemon
            .spawn_agent(
                &format!("s{i:02}"),
                &["stream", &STREAM_INTERVAL_MS.to_string()],
            )
            .await;
    }
    // Let the spawns and the Python start-ups settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let broker = daemon.child.id();
    let quiet = cpu_over(broker, QUIET_WINDOW).await;

    let stop = Arc::new(AtomicBool::new(false));
    let bytes = Arc::new(AtomicU64::new(0));
    let mut viewers = Vec::new();
    for i in 0..STREAMERS {
        let url = format!(
            "{}/v1/agents/s{i:02}/terminal?read_only=1",
            daemon.url.replacen("http", "ws", 1)
        );
        let mut request = url.into_client_request().expect("terminal URL");
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", daemon.token)).expect("token header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("terminal WebSocket");
        let (stop, bytes) = (stop.clone(), bytes.clone());
        viewers.push(tokio::spawn(async move {
            let (_write, mut read) = ws.split();
            while let Some(Ok(message)) = read.next().await {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if message.is_binary() {
                    bytes.fetch_add(message.len() as u64, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = bytes.load(Ordering::Relaxed);
    let begin = Instant::now();
    let watched = cpu_over(broker, WINDOW).await;
    let bytes_per_sec =
        (bytes.load(Ordering::Relaxed) - before) as f64 / begin.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let live = viewers.iter().filter(|v| !v.is_finished()).count();
    for v in viewers {
        v.abort();
    }
    drop(daemon);
    Streaming {
        quiet,
        watched,
        viewers: live,
        bytes_per_sec,
    }
}

/// Part 1's figures.
fn record_drawn(d: &Drawn) {
    let name = "output byte → drawn in the dashboard pane";
    let (p50, p99) = (pct(&d.sorted_ms, 0.5), pct(&d.sorted_ms, 0.99));
    FIGURES.latency(name, p50, p99, Some(30.0));
    let max = d.sorted_ms.last().copied().unwrap_or(f64::NAN);
    FIGURES.lower(format!("{name} max"), max, "ms").record();
    FIGURES
        .lower("marks not seen in the pane", d.missing as f64, "count")
        .record();
    FIGURES
        .neither("page clock − wall clock", d.skew_ms, "ms")
        .record();
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let drawn = match browser_setup() {
        Ok((python, chromium)) => Some(draw_latency(&python, &chromium).await),
        Err(why) => {
            eprintln!("terminals bench: SKIPPED output → drawn in the browser: {why}");
            None
        }
    };
    let stream = streaming().await;

    println!(
        "## live terminals ({} cores, `courier up` with session hosts; the real dashboard pane in Debian's Chromium via Playwright; WebSocket viewers on 127.0.0.1)\n",
        cores()
    );
    println!("| measure | measured | target |");
    println!("|---|---|---|");
    match &drawn {
        Some(Ok(d)) => {
            record_drawn(d);
            println!(
                "| output byte → drawn in the dashboard pane p50 ({} marks, one per {MARK_INTERVAL_MS} ms; {} not seen) | {:.1} ms | ≤ 30 ms |",
                d.sorted_ms.len(),
                d.missing,
                pct(&d.sorted_ms, 0.5)
            );
            println!(
                "| output byte → drawn in the dashboard pane p99 (max {:.1} ms; page clock − wall clock {:+.2} ms) | {:.1} ms | — |",
                d.sorted_ms.last().copied().unwrap_or(f64::NAN),
                d.skew_ms,
                pct(&d.sorted_ms, 0.99)
            );
        }
        Some(Err(why)) => {
            eprintln!("terminals bench: {why}");
            println!(
                "| output byte → drawn in the dashboard pane | failed (see stderr) | ≤ 30 ms p50 |"
            );
        }
        None => println!(
            "| output byte → drawn in the dashboard pane | skipped: no Playwright or Chromium (`./scripts/test.sh` installs both) | ≤ 30 ms p50 |"
        ),
    }
    let (quiet_broker, quiet_hosts, hosts) = stream.quiet;
    let (broker, host_cpu, _) = stream.watched;
    let cpu = |name: &str, value: f64| FIGURES.lower(name, value, "% of one core");
    cpu("broker CPU, agents streaming to viewers", broker)
        .target("< 100 % of one core", Some(broker < 100.0))
        .record();
    cpu("session hosts CPU, agents streaming to viewers", host_cpu).record();
    cpu("broker CPU, same agents, no viewer", quiet_broker).record();
    cpu("session hosts CPU, same agents, no viewer", quiet_hosts).record();
    FIGURES
        .neither(
            "bytes to the viewers",
            stream.bytes_per_sec / 1000.0,
            "KB/s",
        )
        .record();
    println!(
        "| broker CPU, {STREAMERS} agents streaming a line per {STREAM_INTERVAL_MS} ms, {} viewers, {} s | {broker:.1} % of one core | < 100 % of one core |",
        stream.viewers,
        WINDOW.as_secs()
    );
    println!(
        "| their {hosts} session hosts together, same window | {host_cpu:.1} % of one core | — |"
    );
    println!(
        "| bytes to the viewers | {:.0} KB/s | — |",
        stream.bytes_per_sec / 1000.0
    );
    println!(
        "| same agents, no viewer, {} s: broker / session hosts | {quiet_broker:.1} % / {quiet_hosts:.1} % of one core | — |",
        QUIET_WINDOW.as_secs()
    );
    eprintln!(
        "terminals bench: took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
