//! `courier-bench`: a benchmark run beside the committed baseline.
//!
//! ```text
//! courier-bench compare BASELINE RESULTS [--json] [--threshold 0.2]
//! courier-bench update-baseline BASELINE RESULTS
//! ```
//!
//! `compare` prints every figure's ratio to the baseline and flags the ones
//! worse by more than the threshold (direction-aware) or missing from the
//! run; exit 1 if any, 0 if none, 2 when a file cannot be read.
//! `update-baseline` replaces, in BASELINE, the figures of every bench the
//! run covers. `scripts/benchmarks.sh --compare` and `--update-baseline`
//! call these.

use std::path::PathBuf;
use std::process::ExitCode;

use courier_bench::compare::THRESHOLD;
use courier_bench::{Baseline, LoadError, Results, compare};

const USAGE: &str = "usage: courier-bench compare BASELINE RESULTS [--json] [--threshold FRACTION]
       courier-bench update-baseline BASELINE RESULTS
BASELINE: benchmarks/baseline.json; RESULTS: a run's JSON lines (target/benchmarks/results.jsonl).
--threshold: worse by more than this fraction is flagged (default 0.2 = 20 %).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(Failure::Usage(why)) => {
            eprintln!("courier-bench: {why}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::File(e)) => {
            eprintln!(
                "courier-bench: {e}\nhint: scripts/benchmarks.sh writes the results file; the \
                 baseline is committed as benchmarks/baseline.json"
            );
            ExitCode::from(2)
        }
    }
}

enum Failure {
    Usage(String),
    File(LoadError),
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Failure {
        Failure::File(e)
    }
}

fn run(args: &[String]) -> Result<ExitCode, Failure> {
    let mut positional = Vec::new();
    let (mut json, mut threshold) = (false, THRESHOLD);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--threshold" => {
                threshold = rest
                    .next()
                    .and_then(|t| t.parse::<f64>().ok())
                    .filter(|t| *t >= 0.0)
                    .ok_or_else(|| {
                        Failure::Usage("--threshold takes a fraction, e.g. 0.2".into())
                    })?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other if other.starts_with("--") => {
                return Err(Failure::Usage(format!("unknown option {other}")));
            }
            other => positional.push(other),
        }
    }
    let [command, baseline, results] = positional.as_slice() else {
        return Err(Failure::Usage(
            "a command, a baseline and a results file".into(),
        ));
    };
    let (baseline_path, results_path) = (PathBuf::from(baseline), PathBuf::from(results));
    let run = Results::load(&results_path)?;
    match *command {
        "compare" => {
            let base = Baseline::load(&baseline_path)?;
            let comparison = compare(&base.figures, &run.figures, &run.benches(), threshold);
            if json {
                // Plain data with finite or infinite floats (null in JSON).
                println!(
                    "{}",
                    serde_json::to_string_pretty(&comparison).unwrap_or_default()
                );
            } else {
                print!("{}", comparison.to_text());
            }
            Ok(if comparison.failed() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        "update-baseline" => {
            let mut base = match Baseline::load(&baseline_path) {
                Err(LoadError::Read { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Baseline::default()
                }
                other => other?,
            };
            base.update(&run);
            base.save(&baseline_path)?;
            eprintln!(
                "courier-bench: {} now holds {} figures ({} from {})",
                baseline_path.display(),
                base.figures.len(),
                run.figures.len(),
                results_path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        other => Err(Failure::Usage(format!("unknown command {other}"))),
    }
}
