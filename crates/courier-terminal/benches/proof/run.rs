//! One row of the proof bench, run and scored: its program spawned and
//! waited for, its messages delivered one after the other, every delivery
//! judged by the oracle, each figure recorded beside its target, the row's
//! cells of the table, and the details of a row that missed a target (or of
//! every row with `COURIER_PROOF_DUMP=1`) on stderr.

use std::path::Path;
use std::time::{Duration, Instant};

use courier_bench::Better;
use courier_core::framing::frame;
use courier_core::{MessageId, Recipient};
use courier_terminal::{
    DeliveryOutcome, ReadinessConfig, ReadyBy, Session, Terminal, deliver, wait_ready,
};

use super::FIGURES;
use super::oracle::{Message, Verdict, ids_in, judge, settled_oracle, spec};
use super::rows::{Expect, Row};

/// Bound on the first readiness after spawn.
const READY_BOUND: Duration = Duration::from_secs(20);
/// p50 target: this much beyond the row's own window.
const LATENCY_MARGIN: Duration = Duration::from_millis(50);
const CAT_READY_TARGET: Duration = Duration::from_secs(1);

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

pub(crate) struct RowResult {
    pub(crate) cells: Vec<String>,
    pub(crate) misses: Vec<&'static str>,
}

pub(crate) async fn run_row(index: usize, row: &Row, fake: &Path) -> RowResult {
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
