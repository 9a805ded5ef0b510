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
//!
//! This file runs the rows and prints the table; `proof/rows.rs` holds the
//! rows, `proof/run.rs` one row run and scored, `proof/oracle.rs` what each
//! program really received.

#[path = "proof/oracle.rs"]
mod oracle;
#[path = "proof/rows.rs"]
mod rows;
#[path = "proof/run.rs"]
mod run;

use std::path::PathBuf;
use std::time::Instant;

use courier_bench::Recorder;
use rows::rows;
use run::run_row;

/// Messages per row (`COURIER_PROOF_MESSAGES`), except the rows where
/// nothing can be delivered.
const DEFAULT_MESSAGES: usize = 30;
const FEW_MESSAGES: usize = 5;
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
