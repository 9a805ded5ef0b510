//! The oracle of the proof bench: what each program really received as
//! submissions. Each program is spawned so that it records them (the fake
//! agent's transcript, bash's history file with `#prompt` markers, python's
//! SyntaxError texts, the file cat appends to); the record is read back once
//! it settled, and every delivered message is judged against it.

use std::path::Path;
use std::time::{Duration, Instant};

use courier_terminal::{DeliveryOutcome, DeliveryReport, SpawnSpec, inject};

use super::rows::{Form, Program, Row};

/// The oracle is judged once it stopped changing for this long and holds
/// every verified message, or stopped changing for `QUIET_LONG`, or after
/// `SETTLE_BOUND`.
const QUIET_SHORT: Duration = Duration::from_millis(300);
const QUIET_LONG: Duration = Duration::from_secs(2);
const SETTLE_BOUND: Duration = Duration::from_secs(60);

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

pub(crate) fn spec(row: &Row, dir: &Path, fake: &Path) -> SpawnSpec {
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

/// A delivered message: its id, its framed text and how its delivery ended.
pub(crate) struct Message {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) report: DeliveryReport,
}

/// One message judged against the oracle.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Verdict {
    /// Submissions naming its id.
    pub(crate) containing: usize,
    /// Exactly one submission names it, and that one is it alone.
    pub(crate) alone: bool,
}

pub(crate) fn ids_in<'a>(sub: &str, ids: &'a [String]) -> Vec<&'a str> {
    ids.iter()
        .filter(|id| sub.contains(id.as_str()))
        .map(String::as_str)
        .collect()
}

pub(crate) fn judge(form: Form, m: &Message, subs: &[String], ids: &[String]) -> Verdict {
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
pub(crate) async fn settled_oracle(row: &Row, dir: &Path, msgs: &[Message]) -> Vec<String> {
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
