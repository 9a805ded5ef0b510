//! Courier's benchmark figures, machine-readable.
//!
//! Every bench records each figure it prints ([`figure::Figure`]: bench,
//! name, value, unit, which way is better, target, met) as one JSON line
//! appended to the file `$COURIER_BENCH_JSON` names; `scripts/benchmarks.sh`
//! collects a run's lines in `target/benchmarks/results.jsonl`.
//! [`compare`] sets a run beside the committed baseline
//! (`benchmarks/baseline.json`): each figure's ratio, and the ones that got
//! worse by more than the threshold (20 %) or went missing. The
//! `courier-bench` binary is that comparison's command line.

pub mod compare;
pub mod figure;
pub mod files;

pub use compare::{Comparison, Row, Status, compare};
pub use figure::{Better, Figure, Recorder};
pub use files::{Baseline, LoadError, Meta, Results, Source};
