//! The two files: a run's results (JSON lines, appended by the benches) and
//! the committed baseline (one JSON document, one figure per line).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::figure::Figure;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a figure nor a meta line: {source}")]
    Line {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("{path}: not a baseline document (`about`, `benches`, `figures`): {source}")]
    Baseline {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What `scripts/benchmarks.sh` writes first in a results file: where and
/// what it ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    #[serde(flatten)]
    pub source: Source,
    /// The benches the run set out to run: a figure of one of them that is
    /// not in the file is missing; the other benches were not run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benches: Vec<String>,
}

/// A run: a meta line (optional) and one line per figure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    pub meta: Meta,
    pub figures: Vec<Figure>,
}

#[derive(Deserialize)]
struct MetaLine {
    meta: Meta,
}

impl Results {
    pub fn load(path: &Path) -> Result<Results, LoadError> {
        let text = read(path)?;
        Results::parse(&text).map_err(|(line, source)| LoadError::Line {
            path: path.to_path_buf(),
            line,
            source,
        })
    }

    /// JSON lines; blank lines are skipped. On error: the line (from 1).
    pub fn parse(text: &str) -> Result<Results, (usize, serde_json::Error)> {
        let mut results = Results::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if line.starts_with(r#"{"meta""#) {
                results.meta = serde_json::from_str::<MetaLine>(line)
                    .map_err(|e| (i + 1, e))?
                    .meta;
            } else {
                results
                    .figures
                    .push(serde_json::from_str(line).map_err(|e| (i + 1, e))?);
            }
        }
        Ok(results)
    }

    /// The benches this run covers: those its meta line names, else those
    /// it holds figures of.
    pub fn benches(&self) -> Vec<String> {
        if !self.meta.benches.is_empty() {
            return self.meta.benches.clone();
        }
        let mut benches: Vec<String> = Vec::new();
        for f in &self.figures {
            if !benches.contains(&f.bench) {
                benches.push(f.bench.clone());
            }
        }
        benches
    }
}

/// Where figures come from: the run's commit, date and cores; in the
/// baseline, per bench, and a note when they were not measured by
/// `scripts/benchmarks.sh` itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `benchmarks/baseline.json`: the figures a run is compared with, and per
/// bench the run they come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    #[serde(default)]
    pub about: String,
    #[serde(default)]
    pub benches: BTreeMap<String, Source>,
    pub figures: Vec<Figure>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, LoadError> {
        serde_json::from_str(&read(path)?).map_err(|source| LoadError::Baseline {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Takes a run's figures in: every bench the run covers is replaced
    /// whole, in place (a figure the run lacks leaves the baseline with
    /// it), the others are kept.
    pub fn update(&mut self, run: &Results) {
        for bench in &run.benches() {
            // In the place the bench's figures had: a diff shows changed values, not moves.
            let at = self
                .figures
                .iter()
                .position(|f| &f.bench == bench)
                .unwrap_or(self.figures.len());
            self.figures.retain(|f| &f.bench != bench);
            let taken = run.figures.iter().filter(|f| &f.bench == bench).cloned();
            self.figures.splice(at..at, taken);
            self.benches.insert(bench.clone(), run.meta.source.clone());
        }
    }

    /// The document with one figure per line, so that a diff of the
    /// baseline shows which figures changed.
    pub fn to_text(&self) -> String {
        let figures: Vec<String> = self
            .figures
            .iter()
            .map(|f| format!("    {}", json(f, false)))
            .collect();
        format!(
            "{{\n  \"about\": {},\n  \"benches\": {},\n  \"figures\": [\n{}\n  ]\n}}\n",
            json(&self.about, false),
            json(&self.benches, true).replace('\n', "\n  "),
            figures.join(",\n")
        )
    }

    pub fn save(&self, path: &Path) -> Result<(), LoadError> {
        std::fs::write(path, self.to_text()).map_err(|source| LoadError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Plain data (strings, maps of strings, finite numbers) as JSON, which
/// cannot fail.
fn json<T: Serialize>(value: &T, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    text.unwrap_or_default()
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })
}
