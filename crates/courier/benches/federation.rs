//! `cargo bench -p courier --bench federation`: two brokers of one
//! workspace over a real nats-server, the way a team runs it.
//!
//! Starts its own nats-server (JetStream, `sync_interval: always`, on a free
//! loopback port; found through `$COURIER_NATS_SERVER`, else `nats-server`
//! on PATH, else `target/pyenv/bin/nats-server`) and two `courier up --nats`
//! brokers, h1 and h2, with their agents in real PTYs, and measures over
//! real HTTP:
//! - a send on h1 to an idle agent of h2 → its text on that agent's screen,
//!   and → `verified` at the sender (h1, mirrored back from h2's log);
//! - durable sends/s to 10 agents of h2 from 32 HTTP senders on h1, and the
//!   rate at which h2 commits them (until h1 has no pending forward left);
//! - the same with nats-server SIGKILLed mid-run and restarted a second
//!   later, checking every acknowledged send was committed on h2 exactly
//!   once (`delivery_received` events of h2, by delivery id).
//!
//! Prints a markdown table with the core count, each figure beside its
//! target, and records each figure to `$COURIER_BENCH_JSON` (bench
//! `federation`). `COURIER_BENCH_KEEP=1` keeps the brokers' state dirs and
//! logs.

#[path = "federation/broker.rs"]
mod broker;
#[path = "common/mod.rs"]
mod common;
#[path = "federation/nats.rs"]
mod nats;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use broker::Broker;
use common::{cores, in_ms, ms, pct};
use courier_bench::Recorder;
use courier_core::Timestamp;
use nats::NatsServer;
use serde_json::{Value, json};

const FIGURES: Recorder = Recorder::new("federation");

/// Agents of h2 the load runs send to.
const LOAD_AGENTS: usize = 10;
/// Concurrent HTTP senders on h1.
const SENDERS: usize = 32;
/// How long the senders send.
const WINDOW: Duration = Duration::from_secs(3);
/// The chaos run: nats-server is killed this long after the first send…
const KILL_AT: Duration = Duration::from_secs(1);
/// …and restarted this long after the kill; the senders go on throughout.
const DOWN_FOR: Duration = Duration::from_secs(1);
const CHAOS_WINDOW: Duration = Duration::from_secs(4);
/// The longest wait for every forward to be committed by h2…
const DRAIN_LIMIT: Duration = Duration::from_secs(300);
/// …or for the count of pending forwards to fall again (longer than the
/// forwarder's longest wait before publishing a forward again, 30 s).
const STALL: Duration = Duration::from_secs(45);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One send at a time from h1 to an idle agent of h2: the time until the
/// text is on its screen (read from h2), and until h1 sees it verified.
async fn send_to_remote_screen(h1: &Broker, h2: &Broker) -> (Vec<Duration>, Vec<Duration>) {
    h2.spawn_agent("target").await;
    h1.wait_remote(&["target".to_string()], &h2.host).await;
    let (mut screen, mut verified) = (Vec::new(), Vec::new());
    for i in 0..40 {
        h2.wait_idle("target").await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        let token = format!("fed-token-{i}-x");
        let begin = Instant::now();
        let sent = h1
            .call(
                reqwest::Method::POST,
                "/v1/messages",
                Some(json!({"from": "bench", "to": "target", "body": token})),
            )
            .await;
        let id = sent["message_id"].as_str().unwrap_or_default().to_string();
        loop {
            if common::shows(&h2.get("/v1/agents/target/screen").await, &token) {
                screen.push(begin.elapsed());
                break;
            }
            assert!(
                begin.elapsed() < Duration::from_secs(30),
                "text never reached h2's screen\nh1:\n{}\nh2:\n{}",
                h1.log_tail(),
                h2.log_tail()
            );
            // Poll, don't spin: on 2 cores a busy loop of screen requests
            // starves the broker tasks it is timing.
            tokio::time::sleep(Duration::from_micros(300)).await;
        }
        loop {
            let m = h1.get(&format!("/v1/messages/{id}")).await;
            if m["deliveries"][0]["state"] == json!("verified") {
                verified.push(begin.elapsed());
                break;
            }
            assert!(
                begin.elapsed() < Duration::from_secs(30),
                "never verified at the sender: {m}\nh1:\n{}\nh2:\n{}",
                h1.log_tail(),
                h2.log_tail()
            );
            tokio::time::sleep(Duration::from_micros(300)).await;
        }
    }
    screen.sort();
    verified.sort();
    (screen, verified)
}

/// What one load run did, and what h2 holds afterwards.
struct LoadRun {
    acked: u64,
    /// Sends refused, failed or unanswered (never acknowledged).
    failed: u64,
    sends_per_sec: f64,
    /// First send → h1 has no pending forward (every delivery committed by
    /// h2 and its receipt back); `None` if that never happened.
    drained_after: Option<Duration>,
    committed_per_sec: Option<f64>,
    /// Deliveries committed on h2 / (first send → h2's last commit, from
    /// its log's times).
    h2_committed_per_sec: f64,
    /// Acknowledged deliveries without a `delivery_received` on h2.
    lost: usize,
    /// Delivery ids received on h2 more than once.
    doubled: usize,
    /// Received on h2 but never acknowledged to the sender (a send whose
    /// answer was lost): not a loss, not a double.
    unacked_received: usize,
    /// Acknowledged deliveries whose receipt h1 never applied (no
    /// `delivery_forwarded` there), and how many of those h2 did commit.
    unreceipted: usize,
    unreceipted_on_h2: usize,
    /// Deliveries the queue cap evicted (on either host), expected 0.
    evicted: u64,
    /// What h2's agents hold now more than before the run (manual mode:
    /// nothing is typed), expected == `acked`.
    held_on_h2: u64,
}

async fn queued_on(broker: &Broker, agents: &[String]) -> u64 {
    let list = broker.get("/v1/agents").await;
    list["agents"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|a| agents.iter().any(|n| a["name"] == json!(n)))
                .filter_map(|a| a["queue_depth"].as_u64())
                .sum()
        })
        .unwrap_or(0)
}

/// 32 HTTP senders on h1 to `agents` (of h2) for `window`; with `chaos`,
/// nats-server is SIGKILLed at [`KILL_AT`] and restarted [`DOWN_FOR`] later.
async fn load(
    h1: &Broker,
    h2: &Broker,
    agents: &[String],
    window: Duration,
    chaos: Option<&mut NatsServer>,
) -> LoadRun {
    let h1_since = h1.last_seq().await;
    let h2_since = h2.last_seq().await;
    let held_before = queued_on(h2, agents).await;
    // Forwards an earlier run left stuck are not this run's to wait for.
    let stuck_before = h1.pending_forwards().await;
    let begin = Instant::now();
    let begin_ms = now_ms();
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        let http = h1.http.clone();
        let (url, token) = (h1.url.clone(), h1.token.clone());
        let agents = agents.to_vec();
        tasks.push(tokio::spawn(async move {
            let (mut ids, mut failed, mut n) = (Vec::new(), 0u64, 0usize);
            while begin.elapsed() < window {
                let to = &agents[(s + n) % agents.len()];
                n += 1;
                let body =
                    json!({"from": format!("s{s}"), "to": to, "body": format!("load {s} {n}")});
                let resp = http
                    .post(format!("{url}/v1/messages"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                let answer = match resp {
                    Ok(r) if r.status().as_u16() == 201 => r.json::<Value>().await.ok(),
                    _ => None,
                };
                match answer {
                    Some(v) => ids.extend(
                        v["deliveries"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|d| d["id"].as_str().map(str::to_string)),
                    ),
                    None => failed += 1,
                }
            }
            (ids, failed)
        }));
    }
    if let Some(server) = chaos {
        tokio::time::sleep(KILL_AT.saturating_sub(begin.elapsed())).await;
        server.kill();
        tokio::time::sleep(DOWN_FOR).await;
        server.restart().await;
    }
    let (mut ids, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (i, f) = t.await.expect("sender task");
        ids.extend(i);
        failed += f;
    }
    let sent_for = begin.elapsed();
    let drained_after = drain(h1, begin, stuck_before).await;
    let acked = ids.len() as u64;

    // h2's log: every delivery it committed (and when), and what the queue
    // cap evicted there.
    let mut received: HashMap<String, u32> = HashMap::new();
    let (mut evicted, mut last_commit_ms) = (0, begin_ms);
    for e in h2.events_after(h2_since).await {
        match e["type"].as_str() {
            Some("delivery_received") => {
                let id = e["delivery_id"].as_str().unwrap_or_default().to_string();
                *received.entry(id).or_default() += 1;
                let at = e["time"].as_str().and_then(Timestamp::parse_rfc3339);
                last_commit_ms = last_commit_ms.max(at.map_or(0, |t| t.0));
            }
            Some("delivery_dropped") => evicted += e["dropped"].as_array().map_or(0, Vec::len),
            _ => {}
        }
    }
    // h1's log: the receipts applied to its copies (`delivery_forwarded`).
    let mut receipted = HashSet::new();
    for e in h1.events_after(h1_since).await {
        match e["type"].as_str() {
            Some("delivery_forwarded") => {
                receipted.insert(e["delivery_id"].as_str().unwrap_or_default().to_string());
            }
            Some("delivery_dropped") => evicted += e["dropped"].as_array().map_or(0, Vec::len),
            _ => {}
        }
    }
    let acked_set: HashSet<&String> = ids.iter().collect();
    let unreceipted: Vec<&String> = ids.iter().filter(|id| !receipted.contains(*id)).collect();
    let commit_span = Duration::from_millis((last_commit_ms - begin_ms).max(1) as u64);
    LoadRun {
        acked,
        failed,
        sends_per_sec: acked as f64 / sent_for.as_secs_f64(),
        drained_after,
        committed_per_sec: drained_after.map(|d| acked as f64 / d.as_secs_f64()),
        h2_committed_per_sec: received.len() as f64 / commit_span.as_secs_f64(),
        lost: ids.iter().filter(|id| !received.contains_key(*id)).count(),
        doubled: received.values().filter(|n| **n > 1).count(),
        unacked_received: received.keys().filter(|id| !acked_set.contains(id)).count(),
        unreceipted: unreceipted.len(),
        unreceipted_on_h2: unreceipted
            .iter()
            .filter(|id| received.contains_key(**id))
            .count(),
        evicted: evicted as u64,
        held_on_h2: queued_on(h2, agents).await.saturating_sub(held_before),
    }
}

/// Waits until h1 has no pending forward (but the `before` an earlier run
/// left): the time since `begin`, or `None` when the count stopped falling
/// for [`STALL`] (or [`DRAIN_LIMIT`] passed).
async fn drain(h1: &Broker, begin: Instant, before: u64) -> Option<Duration> {
    let (mut said, mut lowest, mut fell) = (Instant::now(), u64::MAX, Instant::now());
    loop {
        let pending = h1.pending_forwards().await.saturating_sub(before);
        if pending == 0 {
            return Some(begin.elapsed());
        }
        if pending < lowest {
            (lowest, fell) = (pending, Instant::now());
        }
        if fell.elapsed() > STALL || begin.elapsed() > DRAIN_LIMIT {
            eprintln!(
                "federation bench: gave up waiting: {pending} forwards still pending on h1 after {:.0} s\nh1:\n{}",
                begin.elapsed().as_secs_f64(),
                h1.log_tail()
            );
            return None;
        }
        if said.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "federation bench: {pending} forwards pending on h1 after {:.0} s",
                begin.elapsed().as_secs_f64()
            );
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The checks of a load run, as a table cell.
fn integrity(run: &LoadRun) -> String {
    let mut cell = format!(
        "{} acknowledged: lost {}, doubled {}",
        run.acked, run.lost, run.doubled
    );
    if run.held_on_h2 != run.acked {
        cell += &format!(" (h2's agents hold {})", run.held_on_h2);
    }
    if run.unacked_received > 0 {
        cell += &format!(
            "; {} committed on h2 whose send was never answered",
            run.unacked_received
        );
    }
    if run.unreceipted > 0 {
        cell += &format!(
            "; {} never receipted on h1 (still queued there), {} of them committed on h2",
            run.unreceipted, run.unreceipted_on_h2
        );
    }
    if run.evicted > 0 {
        cell += &format!("; {} evicted by the queue cap", run.evicted);
    }
    if run.failed > 0 {
        cell += &format!("; {} sends failed", run.failed);
    }
    cell
}

/// The figures of a load run, named `{run}: …`; `target`: the rates' target
/// (sends/s), if the run has one.
fn record_run(run_name: &str, run: &LoadRun, target: Option<f64>) {
    let name = |what: &str| format!("{run_name}: {what}");
    let rate = |what: &str, value: f64| {
        let figure = FIGURES.higher(name(what), value, "/s");
        match target {
            Some(limit) => figure.at_least(limit),
            None => figure,
        }
    };
    rate("sends/s acknowledged by h1", run.sends_per_sec).record();
    // Never drained: no rate at all, recorded as 0 so that it shows as worse.
    rate(
        "committed on h2 and receipted back on h1",
        run.committed_per_sec.unwrap_or(0.0),
    )
    .record();
    if let Some(after) = run.drained_after {
        FIGURES
            .lower(
                name("first send → h1's pending_forwards 0"),
                after.as_secs_f64(),
                "s",
            )
            .record();
    }
    FIGURES
        .higher(
            name("committed on h2 (from its log)"),
            run.h2_committed_per_sec,
            "/s",
        )
        .record();
    FIGURES
        .neither(name("acknowledged"), run.acked as f64, "count")
        .record();
    for (what, count) in [
        ("lost", run.lost),
        ("doubled", run.doubled),
        ("committed on h2, send never answered", run.unacked_received),
        ("never receipted on h1", run.unreceipted),
        ("evicted by the queue cap", run.evicted as usize),
        ("sends failed", run.failed as usize),
        (
            "held on h2 beyond the acknowledged",
            run.held_on_h2.abs_diff(run.acked) as usize,
        ),
    ] {
        let figure = FIGURES.lower(name(what), count as f64, "count");
        match what {
            "lost" | "doubled" => figure.target("0", Some(count == 0)),
            _ => figure,
        }
        .record();
    }
}

/// The rows of a load run after its send rate: the commit rates and the
/// exactly-once check.
fn commit_rows(run: &LoadRun, target: &str) {
    match (run.drained_after, run.committed_per_sec) {
        (Some(after), Some(rate)) => println!(
            "| … committed on h2 and receipted back on h1 (first send → h1's pending_forwards 0: {:.2} s) | {rate:.0}/s | {target} |",
            after.as_secs_f64()
        ),
        _ => println!(
            "| … committed on h2 and receipted back on h1 (first send → h1's pending_forwards 0) | never ({} acknowledged, still queued on h1) | {target} |",
            run.unreceipted
        ),
    }
    println!(
        "| … committed on h2 (first send → h2's last `delivery_received`, from its log) | {:.0}/s | — |",
        run.h2_committed_per_sec
    );
    println!(
        "| … every acknowledged send committed on h2 once | {} | lost 0, doubled 0 |",
        integrity(run)
    );
}

#[tokio::main]
async fn main() {
    let bin = nats::find_server();
    let started = Instant::now();
    let mut server = NatsServer::start(bin).await;
    let (url, monitor) = (server.url(), server.monitor_url());
    // A big queue cap on both hosts: the sender's copies wait in its queues
    // too while NATS is down, and nothing may be evicted.
    let cap = ["--queue-cap", "1000000"];
    let join_begin = Instant::now();
    let h1 = Broker::start("h1", &url, &monitor, &cap).await;
    let h2 = Broker::start("h2", &url, &monitor, &cap).await;
    h1.wait_joined("h2").await;
    h2.wait_joined("h1").await;
    let joined = join_begin.elapsed();

    let (screen, verified) = send_to_remote_screen(&h1, &h2).await;

    let agents: Vec<String> = (0..LOAD_AGENTS).map(|i| format!("t{i}")).collect();
    for a in &agents {
        h2.spawn_agent(a).await;
        h2.set_mode(a, "manual").await;
    }
    for a in &agents {
        h2.wait_idle(a).await;
    }
    h1.wait_remote(&agents, "h2").await;
    let steady = load(&h1, &h2, &agents, WINDOW, None).await;
    // COURIER_BENCH_CHAOS_RUNS=N repeats the run with the kill (a race
    // that shows once in several runs shows up more often).
    let runs = std::env::var("COURIER_BENCH_CHAOS_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let mut chaos = Vec::new();
    for _ in 0..runs {
        chaos.push(load(&h1, &h2, &agents, CHAOS_WINDOW, Some(&mut server)).await);
    }

    drop((h1, h2));
    drop(server);

    let latency = |name: &str, sorted: &[Duration], target| {
        let at = |p| in_ms(pct(sorted, p));
        FIGURES.latency(name, at(0.5), at(0.99), target);
    };
    FIGURES
        .lower(
            "both brokers started, joined and seeing each other active",
            in_ms(joined),
            "ms",
        )
        .record();
    latency(
        "cross-host send → text on the remote screen",
        &screen,
        Some(10.0),
    );
    latency("cross-host send → verified at the sender", &verified, None);
    record_run("steady", &steady, Some(2000.0));
    for (i, run) in chaos.iter().enumerate() {
        let name = if chaos.len() > 1 {
            format!("nats-server killed (run {} of {})", i + 1, chaos.len())
        } else {
            "nats-server killed".to_string()
        };
        record_run(&name, run, None);
    }

    println!(
        "## Federation ({} cores, two `courier up --nats` brokers h1 and h2 over one local nats-server, JetStream with sync_interval: always, fake agents in PTYs on h2)\n",
        cores()
    );
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| both brokers started, joined and seeing each other active | {} | — |",
        ms(joined)
    );
    println!(
        "| cross-host send (h1) → text on the remote agent's screen (h2) p50 | {} | ≤ 10 ms |",
        ms(pct(&screen, 0.5))
    );
    println!(
        "| cross-host send → text on the remote screen p99 ({} sends) | {} | — |",
        screen.len(),
        ms(pct(&screen, 0.99))
    );
    println!(
        "| cross-host send → verified at the sender p50 | {} | — |",
        ms(pct(&verified, 0.5))
    );
    println!(
        "| cross-host send → verified at the sender p99 | {} | — |",
        ms(pct(&verified, 0.99))
    );
    println!(
        "| cross-host durable sends/s acknowledged by h1 ({SENDERS} HTTP senders, {LOAD_AGENTS} manual-mode agents on h2, {} s) | {:.0}/s | ≥ 2,000/s |",
        WINDOW.as_secs(),
        steady.sends_per_sec
    );
    commit_rows(&steady, "≥ 2,000/s");
    for (i, run) in chaos.iter().enumerate() {
        let which = if chaos.len() > 1 {
            format!(" (run {} of {})", i + 1, chaos.len())
        } else {
            String::new()
        };
        println!(
            "| with nats-server SIGKILLed {} s in, restarted {} s later{which}: sends/s acknowledged by h1 ({} s) | {:.0}/s | — |",
            KILL_AT.as_secs(),
            DOWN_FOR.as_secs(),
            CHAOS_WINDOW.as_secs(),
            run.sends_per_sec
        );
        commit_rows(run, "—");
    }
    eprintln!("federation bench: {:.1} s", started.elapsed().as_secs_f64());
}
