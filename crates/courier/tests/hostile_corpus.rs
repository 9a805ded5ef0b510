//! The hostile-corpus conformance test (issue 19): a message is text, never
//! code. Every interpreter the test command installs (bash, dash, zsh with
//! and without `interactive_comments`, ksh, fish, python3, IPython,
//! ptpython, bpython, node, irb) is spawned through a real broker twice:
//!
//! - **framed** (the broker's default framing): every hostile body of the
//!   interpreter's language must create **no** marker file, so no process
//!   started and nothing ran;
//! - **control** (spawned with `"framing": "none"`, or `"inert_prefix": ""`
//!   on a broker before it): every body must create its marker, so the
//!   framed column cannot pass by accident. A body that cannot run in an
//!   interpreter even unframed is listed, with why, in `corpus::control_na`.
//!
//! The table (bodies × interpreters) is printed and written to
//! `target/hostile-corpus.md`; `docs/hostile-corpus.md` keeps a copy. Run:
//!
//! ```text
//! cargo build -p courier --bins -p courier-fake-agent
//! cargo test -p courier --test hostile_corpus -- --nocapture
//! ```
//!
//! `HOSTILE_ONLY=bash,node` runs only those rows; `HOSTILE_JOBS` sets how
//! many rows run at once (default 12). A missing interpreter fails the test
//! under `CI=true` and is skipped with a loud note otherwise.

mod common;
mod hostile;

use std::path::Path;
use std::sync::Mutex;

use common::{Broker, EXE};
use hostile::corpus::bodies;
use hostile::interpreters::{self, Interpreter};
use hostile::run::{Column, Runner};
use hostile::table::{self, Row};

fn selected() -> Vec<Interpreter> {
    let only = std::env::var("HOSTILE_ONLY").unwrap_or_default();
    let only: Vec<&str> = only.split(',').filter(|s| !s.is_empty()).collect();
    interpreters::all()
        .into_iter()
        .filter(|i| only.is_empty() || only.contains(&i.id))
        .collect()
}

/// `target/hostile-corpus.md`, beside the binary under test's profile dir.
fn table_path() -> std::path::PathBuf {
    Path::new(EXE)
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("hostile-corpus.md"))
        .unwrap_or_else(|| "hostile-corpus.md".into())
}

#[test]
fn hostile_bodies_run_nothing_framed_and_run_unframed() {
    let (interps, notes) = interpreters::available(selected());
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &["--typing-hold-ms", "0"]);
    let jobs: usize = std::env::var("HOSTILE_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(12);
    // One work item per interpreter × column; a few workers take them in
    // order so the 2-core machine is not swamped by 24 agents at once.
    // The slowest rows (the prompt_toolkit REPLs, irb) are last in the list;
    // they start first, so they do not make the tail of the run.
    let work: Vec<(usize, Column)> = (0..interps.len())
        .rev()
        .flat_map(|i| [(i, Column::Framed), (i, Column::Control)])
        .collect();
    let next = Mutex::new(work.into_iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let item = next.lock().unwrap().next();
                    let Some((i, column)) = item else { break };
                    let interp = &interps[i];
                    let started = std::time::Instant::now();
                    let cells =
                        Runner::new(&broker, interp, column, root.path()).run(&bodies(interp.lang));
                    eprintln!(
                        "hostile corpus: {} {} done in {:.1} s",
                        interp.label,
                        column.name(),
                        started.elapsed().as_secs_f64()
                    );
                    results.lock().unwrap().push((i, column, cells));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, column, _)| (*i, *column));
    let mut rows: Vec<Row> = Vec::new();
    for (i, column, cells) in results {
        if rows.len() <= i {
            rows.push(Row {
                id: interps[i].id,
                label: interps[i].label,
                framed: Vec::new(),
                control: Vec::new(),
            });
        }
        let row = rows.last_mut().unwrap();
        match column {
            Column::Framed => row.framed = cells,
            Column::Control => row.control = cells,
        }
    }
    let mut all_bodies: Vec<(&'static str, &'static str)> = Vec::new();
    for interp in &interps {
        for b in bodies(interp.lang) {
            if !all_bodies.iter().any(|(id, _)| *id == b.id) {
                all_bodies.push((b.id, b.what));
            }
        }
    }
    let text = table::render(&rows, &all_bodies, &notes);
    println!("{text}");
    eprintln!("{text}");
    let path = table_path();
    std::fs::write(&path, &text).unwrap();
    eprintln!("hostile corpus: table written to {}", path.display());
    let failures = table::failures(&rows);
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    broker.stop_and_check();
}
