//! `cargo bench -p courier-store`: acknowledged durable sends per second and
//! ack latency by number of concurrent senders (file DB, synchronous=FULL),
//! reads per second through the read pool by number of concurrent callers,
//! and the cost of one mutation at growing queue depths. Prints a markdown
//! table with the machine's core count, each figure beside its target, and
//! records each figure to `$COURIER_BENCH_JSON` (bench `store`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use courier_bench::Recorder;
use courier_core::{NewMessage, Recipient, Transition};
use courier_store::{AgentRecord, Store, StoreOptions, Synchronous};

const AGENTS: [&str; 4] = ["a0", "a1", "a2", "a3"];
const FIGURES: Recorder = Recorder::new("store");
/// How long each sender configuration runs (`COURIER_BENCH_WINDOW_MS`).
fn send_window() -> Duration {
    let ms = std::env::var("COURIER_BENCH_WINDOW_MS")
        .ok()
        .and_then(|v| v.parse().ok());
    Duration::from_millis(ms.unwrap_or(3000))
}

fn open(dir: &tempfile::TempDir, options: StoreOptions) -> Store {
    let store = Store::open(dir.path().join("bench.db"), options).expect("open bench store");
    for name in AGENTS {
        store
            .upsert_agent(AgentRecord::new(name, serde_json::json!({})))
            .expect("register agent");
    }
    store
}

fn dm(from: usize, to: usize, body: &str) -> NewMessage {
    NewMessage::new(AGENTS[from], Recipient::Agent(AGENTS[to].into()), body)
}

struct SendRun {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn sends(threads: usize) -> SendRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open(&dir, StoreOptions::default()));
    let start = Instant::now();
    let deadline = start + send_window();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut i = 0usize;
                while Instant::now() < deadline {
                    let (from, to) = ((t + i) % 4, (t + i + 1) % 4);
                    let begin = Instant::now();
                    store
                        .send(dm(from, to, "benchmark message body"))
                        .expect("send");
                    latencies.push(begin.elapsed());
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let mut all: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("sender thread"))
        .collect();
    let elapsed = start.elapsed();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    SendRun {
        per_sec: all.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// Reads per second by `threads` callers, each asking the broker's hottest
/// read (an agent's queue depth, one indexed lookup) in a loop, answered by
/// the read pool (default reader count) of a file store holding 1,000
/// deliveries.
fn reads(threads: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = StoreOptions {
        synchronous: Synchronous::Normal,
        ..StoreOptions::default()
    };
    let store = Arc::new(open(&dir, options));
    for i in 0..1000 {
        store.send(dm(i % 4, (i + 1) % 4, "filler")).expect("fill");
    }
    let start = Instant::now();
    let deadline = start + send_window();
    let callers: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    store.queue_depth(AGENTS[t % 4]).expect("read");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = callers
        .into_iter()
        .map(|c| c.join().expect("reader thread"))
        .sum();
    total as f64 / start.elapsed().as_secs_f64()
}

/// Mean cost of send + claim_next + written + verified on an agent whose
/// queue holds `depth` deliveries (the depth stays constant).
fn mutation(depth: usize) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = StoreOptions {
        queue_cap: 1_000_000,
        synchronous: Synchronous::Normal,
        ..StoreOptions::default()
    };
    let store = Arc::new(open(&dir, options));
    let fillers: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in (t..depth).step_by(8) {
                    store.send(dm(0, 1, "filler")).expect("fill");
                }
            })
        })
        .collect();
    fillers.into_iter().for_each(|f| f.join().expect("filler"));
    assert_eq!(store.queue_depth("a1").expect("depth"), depth);
    let rounds = 300;
    let start = Instant::now();
    for _ in 0..rounds {
        store.send(dm(0, 1, "measured")).expect("send");
        let (d, _) = store.claim_next("a1", "s").expect("claim").expect("queued");
        store
            .transition(&d.id, Transition::Written)
            .expect("written");
        store
            .transition(&d.id, Transition::Verified)
            .expect("verified");
    }
    start.elapsed() / rounds
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", in_ms(d))
}

fn in_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("\n## courier-store benchmark ({cores} cores, file DB in a temp dir)\n");
    println!("| measure | measured | target | met |");
    println!("|---|---|---|---|");
    let only: Option<usize> = std::env::var("COURIER_BENCH_SENDERS")
        .ok()
        .and_then(|v| v.parse().ok());
    for threads in [1, 8, 64]
        .into_iter()
        .filter(|t| only.is_none_or(|o| o == *t))
    {
        let run = sends(threads);
        let rate = FIGURES.higher(
            format!("durable sends/s, {threads} senders (sync=FULL)"),
            run.per_sec,
            "/s",
        );
        if threads == 64 {
            rate.at_least(5000.0)
        } else {
            rate
        }
        .record();
        FIGURES
            .lower(
                format!("ack latency p50, {threads} senders"),
                in_ms(run.p50),
                "ms",
            )
            .record();
        FIGURES
            .lower(
                format!("ack latency p99, {threads} senders"),
                in_ms(run.p99),
                "ms",
            )
            .at_most(20.0)
            .record();
        let (rate_target, rate_ok) = if threads == 64 {
            (
                "≥ 5,000/s",
                if run.per_sec >= 5000.0 { "yes" } else { "NO" },
            )
        } else {
            ("—", "")
        };
        let p99_ok = if run.p99 <= Duration::from_millis(20) {
            "yes"
        } else {
            "NO"
        };
        println!(
            "| durable sends/s, {threads} senders (sync=FULL) | {:.0}/s | {rate_target} | {rate_ok} |",
            run.per_sec
        );
        println!(
            "| ack latency p50, {threads} senders | {} | — | |",
            ms(run.p50)
        );
        println!(
            "| ack latency p99, {threads} senders | {} | ≤ 20 ms | {p99_ok} |",
            ms(run.p99)
        );
    }
    for threads in [1, 8] {
        let per_sec = reads(threads);
        println!("| queue-depth reads/s, {threads} callers (read pool) | {per_sec:.0}/s | — | |");
        FIGURES
            .higher(
                format!("queue-depth reads/s, {threads} callers (read pool)"),
                per_sec,
                "/s",
            )
            .record();
    }
    if only.is_some() {
        return;
    }
    let depths = [1usize, 256, 10_000];
    let costs: Vec<Duration> = depths.iter().map(|&d| mutation(d)).collect();
    for (depth, cost) in depths.iter().zip(&costs) {
        let ratio = cost.as_secs_f64() / costs[0].as_secs_f64();
        let ok = if ratio <= 2.0 { "yes" } else { "NO" };
        let name = format!("send+claim+written+verified at queue depth {depth} (sync=NORMAL)");
        FIGURES.lower(&name, in_ms(*cost), "ms").record();
        if *depth != depths[0] {
            FIGURES
                .lower(format!("{name}, × depth 1"), ratio, "×")
                .target("flat (≤ 2× depth 1)", Some(ratio <= 2.0))
                .record();
        }
        println!(
            "| send+claim+written+verified at queue depth {depth} (sync=NORMAL) | {} ({ratio:.2}× depth 1) | flat (≤ 2× depth 1) | {ok} |",
            ms(*cost)
        );
    }
}
