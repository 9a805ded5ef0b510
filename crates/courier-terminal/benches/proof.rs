//! `cargo bench -p courier-terminal --bench proof`: does "verified" mean what
//! it says across the composer quirks of shared/spec/terminals.md?
//!
//! Each row runs one real program in a real PTY (the fake agent with one
//! quirk, bash, python3, cat), delivers N framed messages one after the
//! other (message N+1 only once N ended, as an agent task does) and then
//! judges every delivery against an oracle of what the program really
//! received as submissions: the fake agent's transcript, bash's history
//! file, a log of python's syntax errors, the file cat writes to. Prints a
//! markdown table with the core count and each figure beside its target;
//! details of any row that misses a target go to stderr (of every row with
//! `COURIER_PROOF_DUMP=1`). `COURIER_PROOF_MESSAGES` sets N (default 30);
//! `COURIER_PROOF_ONLY=text` runs only the rows whose name contains it.
//! Each row's figures are recorded to `$COURIER_BENCH_JSON` (bench `proof`,
//! names `ROW: figure`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use courier_bench::{Better, Recorder};
use courier_core::framing::frame;
use courier_core::{MessageId, Recipient};
use courier_terminal::{
    DeliveryOutcome, DeliveryReport, ReadinessConfig, ReadyBy, Session, SpawnSpec, Terminal,
    deliver, inject, wait_ready,
};

/// Messages per row (`COURIER_PROOF_MESSAGES`), except the rows where
/// nothing can be delivered.
const DEFAULT_MESSAGES: usize = 30;
const FEW_MESSAGES: usize = 5;
/// Bound on the first readiness after spawn.
const READY_BOUND: Duration = Duration::from_secs(20);
/// The oracle is judged once it stopped changing for this long and holds
/// every verified message, or stopped changing for `QUIET_LONG`, or after
/// `SETTLE_BOUND`.
const QUIET_SHORT: Duration = Duration::from_millis(300);
const QUIET_LONG: Duration = Duration::from_secs(2);
const SETTLE_BOUND: Duration = Duration::from_secs(60);
/// p50 target: this much beyond the row's own window.
const LATENCY_MARGIN: Duration = Duration::from_millis(50);
const CAT_READY_TARGET: Duration = Duration::from_secs(1);
const FIGURES: Recorder = Recorder::new("proof");

/// `target/<profile>/courier-fake-agent`, built (in that profile) if missing.
fn fake_agent() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let profile_dir = exe
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = profile_dir.join("courier-fake-agent");
    if path.is_file() {
        return path;
    }
    let mut args = vec!["build", "-p", "courier-fake-agent"];
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        args.push("--release");
    }
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(&args)
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "cannot build courier-fake-agent"
    );
    assert!(
        path.is_file(),
        "no courier-fake-agent at {}",
        path.display()
    );
    path
}

#[path = "proof/rows.rs"]
mod rows;
use rows::{Expect, Form, Program, Row, rows};

/// Appends `repr(exc.text)` of every SyntaxError to `$COURIER_PROOF_LOG`,
/// one line per call, then shows the error as usual.
const PYTHON_STARTUP: &str = r#"
import os, sys
def _courier_proof_hook(kind, exc, tb, _log=os.environ["COURIER_PROOF_LOG"], _orig=sys.excepthook):
    if isinstance(exc, SyntaxError):
        with open(_log, "a") as f:
            f.write(repr(exc.text) + "\n")
    _orig(kind, exc, tb)
sys.excepthook = _courier_proof_hook
"#;

fn spec(row: &Row, dir: &Path, fake: &Path) -> SpawnSpec {
    let path = |name: &str| dir.join(name).display().to_string();
    let spec = match &row.program {
        Program::Fake(flags) => SpawnSpec::new("fake", fake.display().to_string())
            .args(["--transcript".to_string(), path("transcript.jsonl")])
            .args(flags.iter().copied()),
        Program::Bash => SpawnSpec::new("bash", "bash")
            .args(["--norc", "--noprofile", "-i"])
            .env("PS1", "$ ")
            .env("HISTFILE", path("hist"))
            .env("HISTSIZE", "100000")
            .env("HISTFILESIZE", "100000")
            .env("HISTCONTROL", "")
            .env("HISTIGNORE", "")
            .env(
                "PROMPT_COMMAND",
                r##"history -a; echo "#prompt" >> "$HISTFILE""##,
            ),
        Program::Python => {
            std::fs::write(dir.join("startup.py"), PYTHON_STARTUP).expect("write startup.py");
            SpawnSpec::new("python3", "python3")
                .args(["-i", "-q"])
                .env("PYTHONSTARTUP", path("startup.py"))
                .env("COURIER_PROOF_LOG", path("syntax.log"))
        }
        Program::Cat => SpawnSpec::new("cat", "sh").args(["-c", "exec cat >> out.txt"]),
    };
    spec.cwd(dir)
}

/// What the program received as submissions, in order.
fn submissions(program: &Program, dir: &Path) -> Vec<String> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    match program {
        Program::Fake(_) => fake_turns(&read("transcript.jsonl")),
        Program::Bash => {
            let mut out = Vec::new();
            let mut group: Vec<&str> = Vec::new();
            let hist = read("hist");
            for line in hist.lines() {
                if line == "#prompt" {
                    if !group.is_empty() {
                        out.push(group.join("\n"));
                    }
                    group.clear();
                } else {
                    group.push(line);
                }
            }
            if !group.is_empty() {
                out.push(group.join("\n"));
            }
            out
        }
        Program::Python => read("syntax.log").lines().map(str::to_string).collect(),
        Program::Cat => read("out.txt").lines().map(str::to_string).collect(),
    }
}

/// The fake agent's submissions; with `--merge-while-busy` one per turn
/// (what a turn took in while it ran joins it, so a merged turn names
/// several messages).
fn fake_turns(transcript: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut last_turn = None;
    for line in transcript.lines() {
        // A line still being written is read again on the next look.
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(text) = v["text"].as_str() else {
            continue;
        };
        let turn = v["turn"].as_u64();
        match out.last_mut() {
            Some(joined) if turn.is_some() && turn == last_turn => {
                joined.push('\n');
                joined.push_str(text);
            }
            _ => out.push(text.to_string()),
        }
        last_turn = turn;
    }
    out
}

struct Message {
    id: String,
    text: String,
    report: DeliveryReport,
}

fn message_id(row: usize, i: usize) -> String {
    // Fixed width: no id is a prefix of another.
    format!("01PROOF{row:02}N{i:04}")
}

fn framed(id: &str, i: usize) -> String {
    frame(
        "alice",
        &Recipient::Agent("bob".into()),
        &MessageId::new(id),
        None,
        &format!("hello proof {i}\nline two of {i}"),
    )
}

/// One message judged against the oracle.
#[derive(Debug, Default, Clone, Copy)]
struct Verdict {
    /// Submissions naming its id.
    containing: usize,
    /// Exactly one submission names it, and that one is it alone.
    alone: bool,
}

fn ids_in<'a>(sub: &str, ids: &'a [String]) -> Vec<&'a str> {
    ids.iter()
        .filter(|id| sub.contains(id.as_str()))
        .map(String::as_str)
        .collect()
}

fn judge(form: Form, m: &Message, subs: &[String], ids: &[String]) -> Verdict {
    let mine: Vec<&String> = subs.iter().filter(|s| s.contains(&m.id)).collect();
    let alone = match (form, mine.as_slice()) {
        (Form::Text, [one]) => **one == m.text,
        (Form::OneLine, [one]) => **one == inject::one_line(&m.text),
        (Form::IdOnly, [one]) => ids_in(one, ids).len() == 1,
        _ => false,
    };
    Verdict {
        containing: mine.len(),
        alone,
    }
}

/// Waits (bounded) until the oracle stopped changing, and holds every
/// verified message if it can.
async fn settled_oracle(row: &Row, dir: &Path, msgs: &[Message]) -> Vec<String> {
    let start = Instant::now();
    let mut last = submissions(&row.program, dir);
    let mut changed_at = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let now = submissions(&row.program, dir);
        if now != last {
            last = now;
            changed_at = Instant::now();
            continue;
        }
        let quiet = changed_at.elapsed();
        let all_there = msgs
            .iter()
            .filter(|m| m.report.outcome == DeliveryOutcome::Verified)
            .all(|m| last.iter().any(|s| s.contains(&m.id)));
        if (all_there && quiet >= QUIET_SHORT) || quiet >= QUIET_LONG {
            return last;
        }
        if start.elapsed() > SETTLE_BOUND {
            eprintln!("{}: the oracle never settled", row.name);
            return last;
        }
    }
}

fn pct(v: &[Duration], p: f64) -> Option<Duration> {
    let mut v = v.to_vec();
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i.min(v.len().saturating_sub(1))).copied()
}

fn in_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Verified or not is judged where the row can deliver, and describes the
/// row where it cannot (black hole, busy forever, rejected).
fn judged_if(deliverable: bool, better: Better) -> Better {
    if deliverable { better } else { Better::Neither }
}

fn ms(d: Duration) -> String {
    let m = in_ms(d);
    if m >= 100.0 {
        format!("{m:.0} ms")
    } else {
        format!("{m:.1} ms")
    }
}

/// A short label for an outcome that is not `Verified`.
fn label(outcome: &DeliveryOutcome) -> Option<String> {
    let (kind, reason) = match outcome {
        DeliveryOutcome::Verified => return None,
        DeliveryOutcome::Unverified { reason } => ("unverified", reason),
        DeliveryOutcome::Failed { reason } => ("failed", reason),
    };
    let short = reason.split(':').next().unwrap_or(reason).trim();
    Some(format!("{kind}: {short}"))
}

struct RowResult {
    cells: Vec<String>,
    misses: Vec<&'static str>,
}

async fn run_row(index: usize, row: &Row, fake: &Path) -> RowResult {
    let dir = tempfile::tempdir().expect("temp dir");
    let session = Session::spawn(&spec(row, dir.path(), fake)).expect("spawn");
    let cfg = ReadinessConfig::default();
    let ready = wait_ready(&session, &cfg, Instant::now() + READY_BOUND).await;
    let ready_after = session.spawned_at().elapsed();
    if let Err(why) = &ready {
        eprintln!(
            "{}: not ready after {:?}: {why}\n{}",
            row.name,
            ready_after,
            session.snapshot(0).text()
        );
    }

    let mut msgs = Vec::new();
    for i in 0..row.messages {
        let id = message_id(index, i);
        let text = framed(&id, i);
        let report = deliver(&session, &row.opts, &text).await;
        msgs.push(Message { id, text, report });
    }
    let subs = settled_oracle(row, dir.path(), &msgs).await;
    let final_screen = session.snapshot(0).text();
    session.kill().await;

    let ids: Vec<String> = msgs.iter().map(|m| m.id.clone()).collect();
    let verdicts: Vec<Verdict> = msgs
        .iter()
        .map(|m| judge(row.form, m, &subs, &ids))
        .collect();
    let verified: Vec<bool> = msgs
        .iter()
        .map(|m| m.report.outcome == DeliveryOutcome::Verified)
        .collect();
    let n = msgs.len();
    let n_verified = verified.iter().filter(|v| **v).count();
    let false_verified: Vec<usize> = (0..n)
        .filter(|&i| verified[i] && !verdicts[i].alone)
        .collect();
    let merged: Vec<&String> = subs.iter().filter(|s| ids_in(s, &ids).len() > 1).collect();
    let doubled: Vec<usize> = (0..n).filter(|&i| verdicts[i].containing > 1).collect();
    let received_unverified = (0..n)
        .filter(|&i| !verified[i] && verdicts[i].containing > 0)
        .count();
    let latencies: Vec<Duration> = msgs
        .iter()
        .filter_map(|m| m.report.verify_latency())
        .collect();
    let p50 = pct(&latencies, 0.5);
    let p99 = pct(&latencies, 0.99);
    let enters: Vec<u32> = msgs
        .iter()
        .filter(|m| m.report.outcome == DeliveryOutcome::Verified)
        .map(|m| m.report.enters)
        .collect();
    let enters_cell = match enters.iter().max() {
        Some(max) => format!(
            "{:.1} / {max}",
            enters.iter().sum::<u32>() as f64 / enters.len() as f64
        ),
        None => "—".into(),
    };

    let mut others: Vec<(String, usize)> = Vec::new();
    for m in &msgs {
        if let Some(l) = label(&m.report.outcome) {
            match others.iter_mut().find(|(k, _)| *k == l) {
                Some((_, c)) => *c += 1,
                None => others.push((l, 1)),
            }
        }
    }

    let mut misses = Vec::new();
    let share = n_verified as f64 * 100.0 / n.max(1) as f64;
    let verified_target = match row.expect {
        Expect::Deliverable => {
            if share < 99.0 {
                misses.push("verified");
            }
            "≥ 99 %".to_string()
        }
        Expect::BlackHole => {
            let unverified = msgs
                .iter()
                .filter(|m| matches!(m.report.outcome, DeliveryOutcome::Unverified { .. }))
                .count();
            if n_verified != 0 || unverified != n {
                misses.push("verified");
            }
            "0, all unverified".to_string()
        }
        Expect::Rejected => {
            let not_submitted = msgs
                .iter()
                .filter(|m| {
                    matches!(&m.report.outcome, DeliveryOutcome::Unverified { reason } if reason.starts_with("not_submitted"))
                })
                .count();
            if n_verified != 0 || not_submitted != n {
                misses.push("verified");
            }
            "0, all not_submitted".to_string()
        }
        Expect::BusyForever => {
            let not_ready = msgs
                .iter()
                .skip(1)
                .filter(|m| {
                    matches!(&m.report.outcome, DeliveryOutcome::Failed { reason } if reason.contains("not ready"))
                })
                .count();
            if !verified.first().copied().unwrap_or(false)
                || n_verified != 1
                || not_ready != n.saturating_sub(1)
            {
                misses.push("verified");
            }
            "1, then not ready".to_string()
        }
    };
    if !false_verified.is_empty() {
        misses.push("false verified");
    }
    if !merged.is_empty() {
        misses.push("merged");
    }
    if !doubled.is_empty() {
        misses.push("doubled");
    }
    let p50_target = row.window + LATENCY_MARGIN;
    if p50.is_some_and(|p| p > p50_target) {
        misses.push("p50");
    }
    let ready_by = ready.as_ref().ok().copied();
    let ready_cell = match (&ready, row.ready_target) {
        (Ok(by), true) => {
            if ready_after > CAT_READY_TARGET || *by != ReadyBy::ReadingLine {
                misses.push("ready");
            }
            format!(
                "{} by {by:?} (≤ {} s by ReadingLine)",
                ms(ready_after),
                CAT_READY_TARGET.as_secs()
            )
        }
        (Ok(by), false) => format!("{} by {by:?}", ms(ready_after)),
        (Err(why), _) => {
            if row.ready_target {
                misses.push("ready");
            }
            format!("not ready after {}: {why}", ms(ready_after))
        }
    };

    let deliverable = row.expect == Expect::Deliverable;
    let name = |what: &str| format!("{}: {what}", row.name);
    let judged = |what: &str| Some(!misses.contains(&what));
    FIGURES.neither(name("sent"), n as f64, "count").record();
    FIGURES
        .figure(
            name("verified"),
            share,
            "%",
            judged_if(deliverable, Better::Higher),
        )
        .target(&verified_target, judged("verified"))
        .record();
    FIGURES
        .figure(
            name("not verified"),
            (n - n_verified) as f64,
            "count",
            judged_if(deliverable, Better::Lower),
        )
        .record();
    for (what, count) in [
        ("false verified", false_verified.len()),
        ("merged", merged.len()),
        ("doubled", doubled.len()),
    ] {
        FIGURES
            .lower(name(what), count as f64, "count")
            .target("0", judged(what))
            .record();
    }
    if let Some(p50) = p50 {
        FIGURES
            .lower(name("inject → verified p50"), in_ms(p50), "ms")
            .target(&format!("≤ {}", ms(p50_target)), judged("p50"))
            .record();
    }
    if let Some(p99) = p99 {
        FIGURES
            .lower(name("inject → verified p99"), in_ms(p99), "ms")
            .record();
    }
    if let Some(max) = enters.iter().max() {
        let mean = enters.iter().sum::<u32>() as f64 / enters.len() as f64;
        FIGURES.lower(name("Enters mean"), mean, "count").record();
        FIGURES
            .lower(name("Enters max"), f64::from(*max), "count")
            .record();
    }
    if ready.is_ok() {
        let ready_figure = FIGURES.lower(name("ready from spawn"), in_ms(ready_after), "ms");
        if row.ready_target {
            ready_figure.target("≤ 1 s by ReadingLine", judged("ready"))
        } else {
            ready_figure
        }
        .record();
    }

    let mut not_verified: Vec<String> = others.iter().map(|(l, c)| format!("{c} {l}")).collect();
    if received_unverified > 0 {
        not_verified.push(format!("{received_unverified} of them received"));
    }
    let cells = vec![
        row.name.to_string(),
        n.to_string(),
        format!("{n_verified} = {share:.0} % ({verified_target})"),
        format!("{} (0)", false_verified.len()),
        format!("{} (0)", merged.len()),
        format!("{} (0)", doubled.len()),
        p50.map_or("—".into(), |p| {
            format!("{} (≤ {})", ms(p), ms(p50_target))
        }),
        p99.map_or("—".into(), ms),
        enters_cell,
        ready_cell,
        if not_verified.is_empty() {
            "—".into()
        } else {
            not_verified.join("; ")
        },
        if misses.is_empty() {
            "yes".into()
        } else {
            format!("**no**: {}", misses.join(", "))
        },
    ];

    let dump = std::env::var_os("COURIER_PROOF_DUMP").is_some();
    if !misses.is_empty() || dump {
        let missed = if misses.is_empty() {
            String::new()
        } else {
            format!(" missed: {}", misses.join(", "))
        };
        eprintln!("\n==== {}{missed} ====", row.name);
        eprintln!("ready: {ready_by:?} after {ready_after:?}");
        for (i, m) in msgs.iter().enumerate() {
            let v = verdicts[i];
            // Every delivery when latency missed (or asked to), else only
            // the ones the oracle contradicts.
            if verified[i] && v.alone && !dump && !misses.contains(&"p50") {
                continue;
            }
            let r = &m.report;
            eprintln!(
                "-- message {i} ({}): {:?}; enters {}, submitted_by {:?}, reinjections {}, bracketed {}, latency {:?}; oracle: {} submission(s) name it, alone {}",
                m.id,
                r.outcome,
                r.enters,
                r.submitted_by,
                r.reinjections,
                r.bracketed,
                r.verify_latency(),
                v.containing,
                v.alone
            );
            for line in &r.screen {
                eprintln!("   | {line}");
            }
        }
        for s in &merged {
            eprintln!("-- merged submission: {s:?}");
        }
        eprintln!("-- oracle ({} submissions):", subs.len());
        for s in &subs {
            eprintln!("   {s:?}");
        }
        eprintln!("-- final screen:\n{final_screen}");
    }
    RowResult { cells, misses }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = std::env::var("COURIER_PROOF_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(DEFAULT_MESSAGES);
    let fake = fake_agent();
    let started = Instant::now();
    let mut results = Vec::new();
    // One row at a time: timing on a small machine stays the program's own.
    // `COURIER_PROOF_ONLY=gap`: only the rows whose name contains it.
    let only = std::env::var("COURIER_PROOF_ONLY").unwrap_or_default();
    for (i, row) in rows(n).iter().enumerate() {
        if !row.name.contains(only.as_str()) {
            continue;
        }
        let t = Instant::now();
        let r = run_row(i, row, &fake).await;
        eprintln!(
            "proof: {} done in {:.1} s{}",
            row.name,
            t.elapsed().as_secs_f64(),
            if r.misses.is_empty() {
                ""
            } else {
                " (missed a target)"
            }
        );
        results.push(r);
    }
    let total = started.elapsed();

    let working = n.min(rows::WORKING_MESSAGES);
    println!(
        "
## proof ({cores} cores, {n} messages per agent, {FEW_MESSAGES} for black hole, busy-forever and reject-unparsable, {working} for merge-while-busy; real PTYs, one agent at a time)
"
    );
    println!(
        "| agent | sent | verified (target) | false verified | merged | doubled | inject → verified p50 (target) | p99 | Enters mean / max | ready from spawn | not verified | met |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        println!("| {} |", r.cells.join(" | "));
    }
    let missed = results.iter().filter(|r| !r.misses.is_empty()).count();
    FIGURES
        .lower("rows missing a target", missed as f64, "count")
        .target("0", Some(missed == 0))
        .record();
    FIGURES
        .lower("whole run", total.as_secs_f64(), "s")
        .record();
    println!();
    println!(
        "Each row delivers framed messages one after the other (the next only once the previous ended, no pacing delay) \
with Courier's default delivery options plus the row's own (`enter_gap`, `submit_keys`, `ready_timeout`), \
then judges every delivery against what the program really received: the fake agent's `--transcript`, \
bash's history file (lines between `#prompt` markers written by `PROMPT_COMMAND`), python's SyntaxError texts \
(logged by a `sys.excepthook` wrapper), the file `cat` appends to. \
**verified**: deliveries that ended `Verified`. \
**false verified**: verified, but the oracle does not hold exactly one submission that is the message alone. \
**merged**: submissions naming more than one message id (for `--merge-while-busy`, a turn that took in \
a message typed while it ran is one submission). \
**doubled**: messages named by more than one submission. \
**p50/p99**: injection → verified (`verify_latency()`) over verified deliveries; the target is 50 ms beyond the row's \
own window (the quirk's Enter window, or the preset's gap when longer). \
**Enters**: submit keys sent per verified delivery. \
**ready from spawn**: `wait_ready` with the default readiness, a target only for the programs that draw nothing. \
**not verified**: the other outcomes by reason, and how many of those the program received anyway. \
Rows missing a target: {missed}. Whole run: {:.0} s.",
        total.as_secs_f64()
    );
    // Sections are concatenated into BENCHMARKS.md: end on a blank line.
    println!();
}
