//! `cargo bench -p courier-terminal`: delivery latency, readiness and memory
//! per agent, for bash, python3 and the fake TUI (bordered box). Prints a
//! markdown table with the core count and each figure beside its target,
//! and records each figure to `$COURIER_BENCH_JSON` (bench `terminal`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use courier_bench::Recorder;
use courier_core::framing::frame;
use courier_core::{MessageId, Recipient};
use courier_terminal::readiness::{self, ReadinessConfig, ReadyBy};
use courier_terminal::wait::{Step, wait_for};
use courier_terminal::{DeliverOptions, DeliveryOutcome, Session, SpawnSpec, Terminal, deliver};

const MESSAGES: usize = 50;
const FIGURES: Recorder = Recorder::new("terminal");

fn fake_agent() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe
        .ancestors()
        .nth(3)
        .map(PathBuf::from)
        .unwrap_or_default();
    let candidates = [
        exe.ancestors().nth(2).map(|d| d.join("courier-fake-agent")),
        Some(target.join("release").join("courier-fake-agent")),
        Some(target.join("debug").join("courier-fake-agent")),
    ];
    let found = |c: &[Option<PathBuf>]| c.iter().flatten().find(|p| p.is_file()).cloned();
    if let Some(p) = found(&candidates) {
        return p;
    }
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(["build", "--release", "-p", "courier-fake-agent"])
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "cannot build courier-fake-agent"
    );
    found(&candidates).unwrap_or_else(|| panic!("no courier-fake-agent near {}", exe.display()))
}

struct Program {
    name: &'static str,
    spec: SpawnSpec,
}

fn programs() -> Vec<Program> {
    let fake = fake_agent().display().to_string();
    vec![
        Program {
            name: "bash",
            spec: SpawnSpec::new("bash", "bash")
                .args(["--norc", "--noprofile"])
                .env("PS1", "$ "),
        },
        Program {
            name: "python3",
            spec: SpawnSpec::new("python3", "python3").args(["-i", "-q"]),
        },
        Program {
            name: "fake TUI (--border)",
            spec: SpawnSpec::new("fake", fake).args(["--border", "--width", "60"]),
        },
    ]
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", in_ms(d))
}

fn in_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The figures of one program's rows.
fn record(
    program: &str,
    echo: &[Duration],
    verified: &[Duration],
    failures: usize,
    ready: (Duration, Duration),
) {
    let at = |v: &[Duration], p| in_ms(pct(v.to_vec(), p));
    let name = |what: &str| format!("{program}: {what}");
    let latency = |what: &str, v: &[Duration], target| {
        FIGURES.latency(&name(what), at(v, 0.5), at(v, 0.99), Some(target));
    };
    latency("inject → on screen", echo, 10.0);
    FIGURES
        .higher(
            name("messages verified"),
            (MESSAGES - failures) as f64,
            "count",
        )
        .target(&format!("all {MESSAGES}"), Some(failures == 0))
        .record();
    latency("inject → verified", verified, 100.0);
    FIGURES
        .lower(name("ready from spawn"), in_ms(ready.0), "ms")
        .record();
    FIGURES
        .lower(name("ready from prompt"), in_ms(ready.1), "ms")
        .at_most(500.0)
        .record();
}

/// Readiness from spawn, and from the first moment a prompt showed.
async fn readiness_times(s: &Session) -> (Duration, Duration, Option<ReadyBy>) {
    let cfg = ReadinessConfig::default();
    let spawned = s.spawned_at();
    let mut prompt_at: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    let by = wait_for(s, 0, deadline, |snap, now| {
        if prompt_at.is_none() && !snap.is_blank() && readiness::cursor_in_input_line(snap) {
            prompt_at = snap.last_output_at;
        }
        // As `wait_ready` does: the kernel's view only once the screen is quiet.
        let tty = readiness::probe_when_quiet(snap, s.pid(), now, cfg.quiet);
        let exited = s.exit_status().is_some();
        match readiness::assess(snap, spawned, now, exited, tty.as_ref(), &cfg) {
            Ok(by) => Step::Done(by),
            Err(_) => Step::Wait(Some(readiness::next_deadline(snap, spawned, now, &cfg))),
        }
    })
    .await;
    let ready = Instant::now();
    let from_prompt = prompt_at.map_or(Duration::ZERO, |p| ready.saturating_duration_since(p));
    (ready - spawned, from_prompt, by)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn text(i: usize) -> String {
    frame(
        "alice",
        &Recipient::Agent("bob".into()),
        &MessageId::new(format!("01BENCH{i:04}")),
        None,
        &format!("benchmark message {i}\nwith a second line"),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows = Vec::new();
    let opts = DeliverOptions::default();
    for p in programs() {
        let session = Session::spawn(&p.spec).expect("spawn");
        let (from_spawn, from_prompt, by) = readiness_times(&session).await;
        let (mut echo, mut verified, mut failures) = (Vec::new(), Vec::new(), 0);
        for i in 0..MESSAGES {
            let r = deliver(&session, &opts, &text(i)).await;
            match (&r.outcome, r.echo_latency(), r.verify_latency()) {
                (DeliveryOutcome::Verified, Some(e), Some(v)) => {
                    echo.push(e);
                    verified.push(v);
                }
                _ => {
                    failures += 1;
                    eprintln!("{}: message {i}: {:?}", p.name, r.outcome);
                }
            }
        }
        session.kill().await;
        record(
            p.name,
            &echo,
            &verified,
            failures,
            (from_spawn, from_prompt),
        );
        let ok = format!("{}/{MESSAGES} verified", MESSAGES - failures);
        rows.push(format!(
            "| {} | inject → on screen | {} | {} | ≤ 10 ms p50 | {ok} |",
            p.name,
            ms(pct(echo.clone(), 0.5)),
            ms(pct(echo, 0.99)),
        ));
        rows.push(format!(
            "| {} | inject → verified | {} | {} | ≤ 100 ms p50 | |",
            p.name,
            ms(pct(verified.clone(), 0.5)),
            ms(pct(verified, 0.99)),
        ));
        rows.push(format!(
            "| {} | ready from spawn / from prompt | {} | {} | ≤ 0.5 s after prompt | ready by {by:?} |",
            p.name,
            ms(from_spawn),
            ms(from_prompt),
        ));
    }

    // Memory the broker side adds per agent: 10 fake TUIs, ready, one
    // message each, screens full of text.
    let fake = fake_agent().display().to_string();
    let before = rss_kib();
    let mut sessions = Vec::new();
    for i in 0..10 {
        let spec = SpawnSpec::new(format!("mem{i}"), fake.clone()).args(["--border"]);
        sessions.push(Session::spawn(&spec).expect("spawn"));
    }
    for (i, s) in sessions.iter().enumerate() {
        let _ = deliver(s, &opts, &text(1000 + i)).await;
    }
    let after = rss_kib();
    for s in &sessions {
        s.kill().await;
    }
    let per_agent = after.saturating_sub(before) as f64 / 10.0 / 1024.0;
    FIGURES
        .lower("10 fake TUIs: broker RSS per agent", per_agent, "MB")
        .at_most(2.0)
        .record();

    println!("\n## courier-terminal benchmark ({cores} cores, {MESSAGES} messages per program)\n");
    println!("| program | metric | p50 / from spawn | p99 / from prompt | target | note |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!(
        "| 10 fake TUIs | broker RSS per agent | {per_agent:.2} MB | | ≤ 2 MB | {} KiB → {} KiB |",
        before, after
    );
}
