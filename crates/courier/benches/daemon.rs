//! `cargo bench -p courier --bench daemon`: the broker as a person runs it.
//! Starts the real `courier up` binary and measures, over real HTTP on
//! 127.0.0.1 with real agents in real PTYs:
//! - API ready after exec;
//! - HTTP send → text on the agent's rendered screen, and → verified;
//! - sustained durable sends/s to 10 agents, and deliveries verified/s;
//! - broker RSS idle and with 10 agents (the agents' own memory not counted),
//!   and what each agent's session host adds (RSS, and its private RssAnon:
//!   most of a host's RSS is the shared, file-backed `courier` binary).
//!
//! Prints a markdown table with the core count, each figure beside its target,
//! and records each figure to `$COURIER_BENCH_JSON` (bench `daemon`).

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::daemon::{COURIER, Daemon, one_at_a_time};
use common::{cores, in_ms, ms, pct};
use courier_bench::Recorder;
use serde_json::json;

const FIGURES: Recorder = Recorder::new("daemon");

/// Starts the fake agent in line mode (a REPL-like prompt) as agent `name`.
async fn spawn_agent(daemon: &Daemon, name: &str) {
    let body = json!({"name": name, "command": [COURIER, "fake-agent", "--mode", "line"]});
    daemon.spawn(body).await;
}

fn rss_kb(daemon: &Daemon) -> u64 {
    rss_of(daemon.child.id())
}

fn rss_of(pid: u32) -> u64 {
    status_kb(pid, "VmRSS:")
}

/// A `/proc/PID/status` field in kB (`VmRSS:`, `RssAnon:`), 0 if absent.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
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

async fn ready_after_exec() -> Vec<Duration> {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let (daemon, ready) = Daemon::start(&[]).await;
        runs.push(ready);
        drop(daemon);
    }
    runs.sort();
    runs
}

/// Send one message at a time to an idle agent; time until the text shows
/// on its screen, and until the delivery is verified.
async fn send_to_screen(daemon: &Daemon) -> (Vec<Duration>, Vec<Duration>) {
    spawn_agent(daemon, "target").await;
    let timed = one_at_a_time(daemon, "target", 0..40, true).await;
    (timed.screen, timed.verified)
}

struct Throughput {
    sends_per_sec: f64,
    verified_per_sec: f64,
}

/// 32 concurrent HTTP senders to 10 agents for a few seconds.
async fn throughput(daemon: &Daemon) -> Throughput {
    for i in 0..10 {
        spawn_agent(daemon, &format!("t{i}")).await;
    }
    for i in 0..10 {
        daemon.wait_idle(&format!("t{i}")).await;
    }
    let verified_before = verified_count(daemon).await;
    let window = Duration::from_secs(3);
    let begin = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..32 {
        let http = daemon.http.clone();
        let (url, token) = (daemon.url.clone(), daemon.token.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while begin.elapsed() < window {
                let body = json!({"from": format!("s{s}"), "to": format!("t{}", (s as u64 + n) % 10), "body": format!("load {s} {n}")});
                let resp = http.post(format!("{url}/v1/messages")).bearer_auth(&token).json(&body).send().await;
                if resp.is_ok_and(|r| r.status().as_u16() == 201) {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap_or(0);
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let verified = verified_count(daemon).await - verified_before;
    Throughput {
        sends_per_sec: sent as f64 / elapsed,
        verified_per_sec: verified as f64 / elapsed,
    }
}

async fn verified_count(daemon: &Daemon) -> u64 {
    let resp = daemon
        .http
        .get(format!("{}/metrics", daemon.url))
        .bearer_auth(&daemon.token)
        .send()
        .await
        .expect("metrics");
    let text = resp.text().await.unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("courier_deliveries_verified_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let ready = ready_after_exec().await;

    let (daemon, _) = Daemon::start(&["--queue-cap", "100000"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = rss_kb(&daemon);
    let (screen, verified) = send_to_screen(&daemon).await;
    drop(daemon);

    let (daemon, _) = Daemon::start(&["--queue-cap", "100000"]).await;
    let rss_before = rss_kb(&daemon);
    let load = throughput(&daemon).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_agents = rss_kb(&daemon);
    let hosts = hosts_of(daemon.child.id());
    let host_kb = |field: &str| {
        hosts.iter().map(|pid| status_kb(*pid, field)).sum::<u64>() as f64
            / 1024.0
            / hosts.len().max(1) as f64
    };
    let (host_rss_mb, host_anon_mb) = (host_kb("VmRSS:"), host_kb("RssAnon:"));
    let broker_anon_mb = status_kb(daemon.child.id(), "RssAnon:") as f64 / 1024.0;
    drop(daemon);

    let per_agent_mb = (rss_agents.saturating_sub(rss_before)) as f64 / 1024.0 / 10.0;
    FIGURES
        .lower(
            "API ready after exec (p50 of 5)",
            in_ms(pct(&ready, 0.5)),
            "ms",
        )
        .at_most(30.0)
        .record();
    let latency = |name: &str, sorted: &[Duration], target| {
        let at = |p| in_ms(pct(sorted, p));
        FIGURES.latency(name, at(0.5), at(0.99), Some(target));
    };
    latency("HTTP send → text on screen", &screen, 10.0);
    latency("HTTP send → verified", &verified, 100.0);
    FIGURES
        .higher(
            "durable sends/s to 10 agents (32 HTTP senders)",
            load.sends_per_sec,
            "/s",
        )
        .at_least(2000.0)
        .record();
    FIGURES
        .higher(
            "deliveries verified/s, 10 agents (paced)",
            load.verified_per_sec,
            "/s",
        )
        .record();
    FIGURES
        .lower("broker RSS idle", rss_idle as f64 / 1024.0, "MB")
        .at_most(8.0)
        .record();
    FIGURES
        .lower(
            "broker RSS per agent (10 agents, after load)",
            per_agent_mb,
            "MB",
        )
        .at_most(2.0)
        .record();
    FIGURES
        .lower(
            "broker RssAnon (private memory), 10 agents",
            broker_anon_mb,
            "MB",
        )
        .record();
    FIGURES
        .lower("session host per agent: RSS", host_rss_mb, "MB")
        .record();
    FIGURES
        .lower(
            "session host per agent: RssAnon (private)",
            host_anon_mb,
            "MB",
        )
        .target(
            "≤ 2 MB (with the broker's share)",
            Some(host_anon_mb + per_agent_mb <= 2.0),
        )
        .record();
    println!(
        "## courier daemon benchmark ({} cores, `courier up` over HTTP on 127.0.0.1, fake agents in PTYs)\n",
        cores()
    );
    println!("| measure | measured | target |");
    println!("|---|---|---|");
    println!(
        "| API ready after exec (p50 of 5) | {} | ≤ 30 ms |",
        ms(pct(&ready, 0.5))
    );
    println!(
        "| HTTP send → text on screen p50 | {} | ≤ 10 ms |",
        ms(pct(&screen, 0.5))
    );
    println!(
        "| HTTP send → text on screen p99 | {} | — |",
        ms(pct(&screen, 0.99))
    );
    println!(
        "| HTTP send → verified p50 | {} | ≤ 100 ms |",
        ms(pct(&verified, 0.5))
    );
    println!(
        "| HTTP send → verified p99 | {} | — |",
        ms(pct(&verified, 0.99))
    );
    println!(
        "| durable sends/s to 10 agents (32 HTTP senders) | {:.0}/s | ≥ 2,000/s |",
        load.sends_per_sec
    );
    println!(
        "| deliveries verified/s, 10 agents (paced) | {:.0}/s | — (pacing floor 25 ms per agent) |",
        load.verified_per_sec
    );
    println!(
        "| broker RSS idle | {:.1} MB | ≤ 8 MB |",
        rss_idle as f64 / 1024.0
    );
    println!("| broker RSS per agent (10 agents, after load) | {per_agent_mb:.2} MB | ≤ 2 MB |");
    println!("| broker RssAnon (private memory), 10 agents | {broker_anon_mb:.1} MB | — |");
    println!(
        "| session host per agent ({} hosts): RSS / RssAnon (private) | {host_rss_mb:.2} MB / {host_anon_mb:.2} MB | ≤ 2 MB (with the broker's share) |",
        hosts.len()
    );
}
