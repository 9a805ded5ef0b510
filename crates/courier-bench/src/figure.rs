//! One measured figure, and how a bench records it.

use std::io::Write;

use serde::{Deserialize, Serialize};

/// The environment variable naming the file figures are appended to (one
/// JSON line each). Unset: nothing is written. `cargo bench` runs a bench in
/// its crate's folder, so give an absolute path.
pub const ENV: &str = "COURIER_BENCH_JSON";

/// Which way a figure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Latency, memory, CPU, losses: a rise is worse.
    Lower,
    /// Throughput, deliveries verified: a fall is worse.
    Higher,
    /// What describes the run (messages sent, kills) rather than judges it:
    /// compared, never flagged.
    Neither,
}

/// One figure of one bench, as it is written to the results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The bench that measured it: `store`, `daemon`, `crash_loop`, …
    pub bench: String,
    /// Stable within its bench (no counts that vary from run to run): the
    /// key a run and the baseline are matched by.
    pub name: String,
    pub value: f64,
    /// `ms`, `/s`, `MB`, `%`, `count`, …
    pub unit: String,
    pub better: Better,
    /// The target as the bench's table prints it, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Whether the target is met; absent when the bench does not judge it
    /// from this figure alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
}

impl Figure {
    /// A target written `≤ {limit} {unit}`, met when the value is at most it.
    #[must_use]
    pub fn at_most(self, limit: f64) -> Figure {
        let text = format!("≤ {}", with_unit(limit, &self.unit));
        let met = self.value <= limit;
        self.target(&text, Some(met))
    }

    /// A target written `≥ {limit} {unit}`, met when the value is at least it.
    #[must_use]
    pub fn at_least(self, limit: f64) -> Figure {
        let text = format!("≥ {}", with_unit(limit, &self.unit));
        let met = self.value >= limit;
        self.target(&text, Some(met))
    }

    /// A target in the bench's own words, and whether it is met (`None`:
    /// not judged from this figure alone).
    #[must_use]
    pub fn target(mut self, text: &str, met: Option<bool>) -> Figure {
        self.target = Some(text.to_string());
        self.met = met;
        self
    }

    /// Appends the figure to `$COURIER_BENCH_JSON` as one JSON line; does
    /// nothing when the variable is unset. A value that is not a number
    /// (NaN: nothing measured) is left out, so a comparison reports the
    /// figure missing rather than passed.
    ///
    /// # Panics
    /// When the file cannot be written: a bench asked to record its
    /// figures must not end as if it had.
    pub fn record(self) {
        let Some(path) = std::env::var_os(ENV).filter(|p| !p.is_empty()) else {
            return;
        };
        if !self.value.is_finite() {
            eprintln!(
                "{}: {} measured nothing ({}); not recorded",
                self.bench, self.name, self.value
            );
            return;
        }
        let mut line = serde_json::to_string(&self)
            .unwrap_or_else(|e| panic!("figure {:?} is not JSON: {e}", self.name));
        line.push('\n');
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            // One write per line: lines of benches appending at once stay whole.
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            panic!(
                "cannot append figure {:?} to {} (${ENV}): {e}",
                self.name,
                std::path::Path::new(&path).display()
            );
        }
    }
}

/// `30 ms`, `2000/s`, `12 %`: a number with its unit, as the tables write it.
pub fn with_unit(value: impl std::fmt::Display, unit: &str) -> String {
    if unit.starts_with('/') {
        format!("{value}{unit}")
    } else {
        format!("{value} {unit}")
    }
}

/// Makes the figures of one bench: `Recorder::new("store").higher("durable
/// sends/s, 64 senders", rate, "/s").at_least(5000.0).record()`.
#[derive(Debug, Clone, Copy)]
pub struct Recorder {
    bench: &'static str,
}

impl Recorder {
    pub const fn new(bench: &'static str) -> Recorder {
        Recorder { bench }
    }

    /// A figure where a rise is worse.
    #[must_use]
    pub fn lower(&self, name: impl Into<String>, value: f64, unit: &str) -> Figure {
        self.figure(name, value, unit, Better::Lower)
    }

    /// A figure where a fall is worse.
    #[must_use]
    pub fn higher(&self, name: impl Into<String>, value: f64, unit: &str) -> Figure {
        self.figure(name, value, unit, Better::Higher)
    }

    /// A figure that describes the run; never flagged.
    #[must_use]
    pub fn neither(&self, name: impl Into<String>, value: f64, unit: &str) -> Figure {
        self.figure(name, value, unit, Better::Neither)
    }

    /// A latency's two figures, in ms: `{name} p50`, with `p50_at_most` as
    /// its target if there is one, and `{name} p99`. Recorded.
    pub fn latency(&self, name: &str, p50_ms: f64, p99_ms: f64, p50_at_most: Option<f64>) {
        let p50 = self.lower(format!("{name} p50"), p50_ms, "ms");
        match p50_at_most {
            Some(limit) => p50.at_most(limit),
            None => p50,
        }
        .record();
        self.lower(format!("{name} p99"), p99_ms, "ms").record();
    }

    #[must_use]
    pub fn figure(
        &self,
        name: impl Into<String>,
        value: f64,
        unit: &str,
        better: Better,
    ) -> Figure {
        Figure {
            bench: self.bench.to_string(),
            name: name.into(),
            value,
            unit: unit.to_string(),
            better,
            target: None,
            met: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_say_limit_and_unit_and_judge_the_value() {
        let r = Recorder::new("store");
        let rate = r.higher("sends/s", 4000.0, "/s").at_least(5000.0);
        assert_eq!(rate.target.as_deref(), Some("≥ 5000/s"));
        assert_eq!(rate.met, Some(false));
        let p99 = r.lower("p99", 7.09, "ms").at_most(20.0);
        assert_eq!(p99.target.as_deref(), Some("≤ 20 ms"));
        assert_eq!(p99.met, Some(true));
    }

    #[test]
    fn a_figure_is_one_json_line_without_absent_fields() {
        let f = Recorder::new("daemon").neither("agents", 10.0, "count");
        let line = serde_json::to_string(&f).expect("json");
        assert_eq!(
            line,
            r#"{"bench":"daemon","name":"agents","value":10.0,"unit":"count","better":"neither"}"#
        );
        let back: Figure = serde_json::from_str(&line).expect("parse");
        assert_eq!(back, f);
    }
}
