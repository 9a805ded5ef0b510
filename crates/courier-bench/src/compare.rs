//! A run beside the baseline: each figure's ratio, which way it moved, and
//! the ones worse by more than the threshold or missing.

use serde::Serialize;

use crate::figure::{Better, Figure, with_unit};

/// Worse by more than this (a fraction: 0.2 = 20 %) is flagged.
pub const THRESHOLD: f64 = 0.2;

/// What happened to one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Worse by more than the threshold: flagged.
    Worse,
    /// Better by more than the threshold.
    Better,
    /// Within the threshold either way.
    Within,
    /// A figure that describes the run (`better: neither`): shown, not judged.
    Info,
    /// In the baseline, and its bench ran, but the run has no such figure
    /// (the bench failed or skipped a part): flagged, never a pass.
    Missing,
    /// In the baseline, but its bench was not part of this run.
    NotRun,
    /// In the run, not in the baseline.
    New,
}

/// One figure compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub bench: String,
    pub name: String,
    pub unit: String,
    pub better: Better,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    /// current ÷ baseline (none when either is absent or the baseline is 0).
    pub ratio: Option<f64>,
    /// How much worse, direction-aware, as a fraction of the baseline: for
    /// lower-is-better (current − baseline) ÷ baseline, for higher-is-better
    /// (baseline − current) ÷ baseline; negative is better. Infinite when
    /// the baseline is 0 and the figure moved.
    pub worse_by: Option<f64>,
    pub status: Status,
    /// The run's target and whether it is met, as the bench recorded them.
    pub target: Option<String>,
    pub met: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub threshold: f64,
    pub rows: Vec<Row>,
}

impl Comparison {
    pub fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    /// Whether a figure got worse by more than the threshold or went missing.
    pub fn failed(&self) -> bool {
        self.count(Status::Worse) + self.count(Status::Missing) > 0
    }

    /// A markdown table, then one line of totals.
    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "| bench | figure | baseline | now | now ÷ baseline | change | target |\n\
             |---|---|---|---|---|---|---|\n",
        );
        let mut not_run: Vec<(&str, usize)> = Vec::new();
        for r in &self.rows {
            if r.status == Status::NotRun {
                match not_run.last_mut() {
                    Some((bench, n)) if *bench == r.bench => *n += 1,
                    _ => not_run.push((&r.bench, 1)),
                }
                continue;
            }
            let value = |v: Option<f64>| v.map_or("—".to_string(), |v| number(v, &r.unit));
            let target = match (&r.target, r.met) {
                (Some(t), Some(true)) => format!("{t}: met"),
                (Some(t), Some(false)) => format!("{t}: **not met**"),
                (Some(t), None) => t.clone(),
                (None, _) => String::new(),
            };
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.bench,
                r.name,
                value(r.baseline),
                value(r.current),
                r.ratio.map_or("—".to_string(), |x| format!("{x:.2}×")),
                change(r, self.threshold),
                target
            );
        }
        for (bench, n) in not_run {
            out += &format!("\nnot run: {bench} ({n} baseline figures)");
        }
        out += &format!(
            "\n{} worse by more than {:.0} %, {} missing, {} better, {} within, {} not judged, {} new\n",
            self.count(Status::Worse),
            self.threshold * 100.0,
            self.count(Status::Missing),
            self.count(Status::Better),
            self.count(Status::Within),
            self.count(Status::Info),
            self.count(Status::New),
        );
        out
    }
}

fn change(r: &Row, threshold: f64) -> String {
    let by = |w: f64| {
        if w.is_infinite() {
            "from 0".to_string()
        } else {
            format!("{:.0} %", w.abs() * 100.0)
        }
    };
    match (r.status, r.worse_by) {
        (Status::Worse, Some(w)) => format!("**WORSE {}** (> {:.0} %)", by(w), threshold * 100.0),
        (Status::Better, Some(w)) => format!("better {}", by(w)),
        (Status::Within, Some(w)) if w > 0.0 => format!("worse {}", by(w)),
        (Status::Within, Some(w)) if w < 0.0 => format!("better {}", by(w)),
        (Status::Within, _) => "same".to_string(),
        (Status::Info, _) => "(not judged)".to_string(),
        (Status::Missing, _) => "**MISSING** from the run".to_string(),
        (Status::New, _) => "new (not in the baseline)".to_string(),
        _ => String::new(),
    }
}

/// 16493/s, 7.09 ms, 103.9 MB: three significant digits or more.
fn number(v: f64, unit: &str) -> String {
    let digits = if v.abs() >= 100.0 || v.fract() == 0.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    with_unit(format!("{v:.digits$}"), unit)
}

/// How much worse `current` is than `baseline`, direction-aware (see
/// [`Row::worse_by`]).
pub fn worse_by(better: Better, baseline: f64, current: f64) -> f64 {
    let rise = match better {
        Better::Lower | Better::Neither => current - baseline,
        Better::Higher => baseline - current,
    };
    if baseline == 0.0 {
        if rise == 0.0 {
            0.0
        } else {
            rise.signum() * f64::INFINITY
        }
    } else {
        rise / baseline.abs()
    }
}

/// Every baseline figure matched with the run's by (bench, name), in the
/// baseline's order, then the run's new ones. `ran`: the benches the run
/// covers (a baseline figure of another bench is [`Status::NotRun`], of one
/// of these but absent [`Status::Missing`]).
pub fn compare(baseline: &[Figure], run: &[Figure], ran: &[String], threshold: f64) -> Comparison {
    let find = |list: &[Figure], f: &Figure| {
        // The last of duplicates wins, as a re-run appended later would.
        list.iter()
            .rev()
            .find(|g| g.bench == f.bench && g.name == f.name)
            .cloned()
    };
    let mut rows = Vec::new();
    for base in baseline {
        if rows
            .iter()
            .any(|r: &Row| r.bench == base.bench && r.name == base.name)
        {
            continue;
        }
        let now = find(run, base);
        let current = now.as_ref().map(|f| f.value);
        let (ratio, worse, status) = match current {
            None if ran.contains(&base.bench) => (None, None, Status::Missing),
            None => (None, None, Status::NotRun),
            Some(current) => {
                let ratio = (base.value != 0.0).then(|| current / base.value);
                let w = worse_by(base.better, base.value, current);
                let status = match base.better {
                    Better::Neither => Status::Info,
                    _ if w > threshold => Status::Worse,
                    _ if w < -threshold => Status::Better,
                    _ => Status::Within,
                };
                (ratio, Some(w), status)
            }
        };
        rows.push(Row {
            bench: base.bench.clone(),
            name: base.name.clone(),
            unit: base.unit.clone(),
            better: base.better,
            baseline: Some(base.value),
            current,
            ratio,
            worse_by: worse,
            status,
            target: now
                .as_ref()
                .map_or(base.target.clone(), |f| f.target.clone()),
            met: now.as_ref().and_then(|f| f.met),
        });
    }
    for f in run {
        let known = rows.iter().any(|r| r.bench == f.bench && r.name == f.name);
        if !known {
            rows.push(Row {
                bench: f.bench.clone(),
                name: f.name.clone(),
                unit: f.unit.clone(),
                better: f.better,
                baseline: None,
                current: Some(f.value),
                ratio: None,
                worse_by: None,
                status: Status::New,
                target: f.target.clone(),
                met: f.met,
            });
        }
    }
    Comparison { threshold, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figure::Recorder;
    use crate::files::{Baseline, Results};

    const STORE: Recorder = Recorder::new("store");
    const DAEMON: Recorder = Recorder::new("daemon");

    fn ran(benches: &[&str]) -> Vec<String> {
        benches.iter().map(|b| b.to_string()).collect()
    }

    fn row<'a>(c: &'a Comparison, name: &str) -> &'a Row {
        c.rows
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no row {name}: {c:?}"))
    }

    #[test]
    fn the_ratio_is_now_over_baseline_and_the_change_follows_the_direction() {
        let base = [
            STORE.lower("p99", 10.0, "ms"),
            STORE.higher("sends/s", 1000.0, "/s"),
        ];
        let now = [
            STORE.lower("p99", 11.0, "ms"),
            STORE.higher("sends/s", 1100.0, "/s"),
        ];
        let c = compare(&base, &now, &ran(&["store"]), THRESHOLD);
        let p99 = row(&c, "p99");
        assert!((p99.ratio.expect("ratio") - 1.1).abs() < 1e-9);
        assert!(
            (p99.worse_by.expect("worse_by") - 0.1).abs() < 1e-9,
            "a rise of a latency is worse"
        );
        let rate = row(&c, "sends/s");
        assert!((rate.ratio.expect("ratio") - 1.1).abs() < 1e-9);
        assert!(
            (rate.worse_by.expect("worse_by") + 0.1).abs() < 1e-9,
            "a rise of a rate is better"
        );
        assert_eq!((p99.status, rate.status), (Status::Within, Status::Within));
        assert!(!c.failed());
    }

    #[test]
    fn worse_by_more_than_20_percent_is_flagged_in_either_direction() {
        let base = [
            STORE.lower("latency at 20 %", 10.0, "ms"),
            STORE.lower("latency at 21 %", 10.0, "ms"),
            STORE.higher("rate at 20 %", 1000.0, "/s"),
            STORE.higher("rate at 25 %", 1000.0, "/s"),
            STORE.lower("latency halved", 10.0, "ms"),
            STORE.higher("rate doubled", 1000.0, "/s"),
        ];
        let now = [
            STORE.lower("latency at 20 %", 12.0, "ms"),
            STORE.lower("latency at 21 %", 12.1, "ms"),
            STORE.higher("rate at 20 %", 800.0, "/s"),
            STORE.higher("rate at 25 %", 750.0, "/s"),
            STORE.lower("latency halved", 5.0, "ms"),
            STORE.higher("rate doubled", 2000.0, "/s"),
        ];
        let c = compare(&base, &now, &ran(&["store"]), THRESHOLD);
        let status = |n| row(&c, n).status;
        assert_eq!(status("latency at 20 %"), Status::Within);
        assert_eq!(status("latency at 21 %"), Status::Worse);
        assert_eq!(status("rate at 20 %"), Status::Within);
        assert_eq!(status("rate at 25 %"), Status::Worse);
        assert_eq!(status("latency halved"), Status::Better);
        assert_eq!(status("rate doubled"), Status::Better);
        assert_eq!(c.count(Status::Worse), 2);
        assert!(c.failed());
        let text = c.to_text();
        assert!(
            text.contains(
                "| store | rate at 25 % | 1000/s | 750/s | 0.75× | **WORSE 25 %** (> 20 %) |"
            ),
            "{text}"
        );
        assert!(
            text.contains("2 worse by more than 20 %, 0 missing"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_figure_is_reported_missing_and_fails_not_passed() {
        let base = [
            STORE.lower("p99", 10.0, "ms"),
            STORE.lower("gone", 10.0, "ms"),
        ];
        let now = [STORE.lower("p99", 10.0, "ms")];
        let c = compare(&base, &now, &ran(&["store"]), THRESHOLD);
        let gone = row(&c, "gone");
        assert_eq!(gone.status, Status::Missing);
        assert_eq!(
            (gone.current, gone.ratio, gone.worse_by),
            (None, None, None)
        );
        assert!(c.failed());
        assert!(
            c.to_text()
                .contains("| store | gone | 10 ms | — | — | **MISSING** from the run |")
        );
    }

    #[test]
    fn figures_of_a_bench_that_did_not_run_are_not_run_not_missing() {
        let base = [
            STORE.lower("p99", 10.0, "ms"),
            DAEMON.lower("screen p50", 4.5, "ms"),
            DAEMON.lower("verified p50", 18.0, "ms"),
        ];
        let now = [STORE.lower("p99", 10.0, "ms")];
        let c = compare(&base, &now, &ran(&["store"]), THRESHOLD);
        assert_eq!(c.count(Status::NotRun), 2);
        assert!(!c.failed());
        assert!(c.to_text().contains("not run: daemon (2 baseline figures)"));
        // The same file judged as a run of both benches: the daemon's are missing.
        let c = compare(&base, &now, &ran(&["store", "daemon"]), THRESHOLD);
        assert_eq!(c.count(Status::Missing), 2);
    }

    #[test]
    fn zero_baselines_new_figures_and_descriptive_figures() {
        let base = [
            STORE.lower("lost", 0.0, "count"),
            STORE.lower("doubled", 0.0, "count"),
            STORE.neither("kills", 200.0, "count"),
        ];
        let now = [
            STORE.lower("lost", 1.0, "count"),
            STORE.lower("doubled", 0.0, "count"),
            STORE.neither("kills", 1000.0, "count"),
            STORE.higher("reads/s", 5000.0, "/s"),
        ];
        let c = compare(&base, &now, &ran(&["store"]), THRESHOLD);
        let lost = row(&c, "lost");
        assert_eq!((lost.status, lost.ratio), (Status::Worse, None));
        assert_eq!(lost.worse_by, Some(f64::INFINITY));
        assert_eq!(row(&c, "doubled").status, Status::Within);
        assert_eq!(row(&c, "kills").status, Status::Info);
        assert_eq!(row(&c, "reads/s").status, Status::New);
        assert!(c.to_text().contains("**WORSE from 0**"));
    }

    #[test]
    fn a_results_file_is_meta_and_figure_lines_and_updates_the_baseline_per_bench() {
        let text = r#"{"meta":{"commit":"abc1234","date":"2026-12-07T13:00:00Z","cores":2,"benches":["store"]}}

{"bench":"store","name":"p99","value":9.0,"unit":"ms","better":"lower","target":"≤ 20 ms","met":true}
"#;
        let run = Results::parse(text).expect("parse");
        assert_eq!(run.meta.benches, ["store"]);
        assert_eq!(run.figures.len(), 1);
        assert_eq!(run.figures[0].met, Some(true));
        assert_eq!(
            Results::parse("{\"bench\":1}\n").map_err(|(line, _)| line),
            Err(1)
        );

        let mut baseline = Baseline {
            about: "test".into(),
            benches: Default::default(),
            figures: vec![
                STORE.lower("p99", 10.0, "ms"),
                STORE.lower("dropped from the bench", 1.0, "ms"),
                DAEMON.lower("screen p50", 4.5, "ms"),
            ],
        };
        baseline.update(&run);
        let names: Vec<&str> = baseline.figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["p99", "screen p50"]);
        assert_eq!(baseline.benches["store"].commit.as_deref(), Some("abc1234"));
        let text = baseline.to_text();
        let back: Baseline = serde_json::from_str(&text).expect("the baseline reads back");
        assert_eq!(back, baseline);
        assert_eq!(
            text.lines().filter(|l| l.contains("\"bench\"")).count(),
            2,
            "{text}"
        );
    }
}
