//! `--merge-while-busy`: an agent CLI whose turn takes steering input.
//!
//! While it works it shows a status line, a spinner beside "esc to
//! interrupt", redrawn only every [`STATUS_REDRAW`] (longer than Courier's
//! quiet window, so the screen looks idle between redraws). Enter while it
//! works does not start a new turn: what was typed joins the running turn
//! (as real CLIs take a message typed mid-turn as steering), and the
//! transcript says so: every line carries its `turn`, and `merged: true`
//! for a message that arrived while a turn ran.

use std::time::{Duration, Instant};

/// How often the working status line is redrawn.
pub const STATUS_REDRAW: Duration = Duration::from_millis(1_000);

/// The text every working status line holds (what a preset's busy pattern
/// matches).
pub const WORKING_HINT: &str = "esc to interrupt";

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// The status line of a turn that started at `started`, drawn at `now`.
pub fn status_line(started: Instant, now: Instant) -> String {
    let secs = now.saturating_duration_since(started).as_secs();
    let frame = SPINNER[usize::try_from(secs).unwrap_or(0) % SPINNER.len()];
    format!("{frame} Working ({secs}s · {WORKING_HINT})")
}

/// The number of the turn running (or last run): 0 before the first.
#[derive(Debug, Default, Clone, Copy)]
pub struct Turns {
    current: usize,
}

impl Turns {
    /// A submission that starts a new turn.
    pub fn start(&mut self) -> usize {
        self.current += 1;
        self.current
    }

    pub fn current(self) -> usize {
        self.current
    }
}

/// One transcript line: the submission's number, its text, its turn, and
/// whether it joined a turn that was already running.
pub fn entry(n: usize, text: &str, turn: usize, merged: bool) -> serde_json::Value {
    serde_json::json!({ "n": n, "text": text, "turn": turn, "merged": merged })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{App, Config, Mode};
    use crate::transcript::Transcript;

    fn merging() -> Config {
        Config {
            busy: Duration::from_secs(5),
            merge_while_busy: true,
            reply: Some("ok".into()),
            ..crate::app::tests::cfg(Mode::Tui)
        }
    }

    #[test]
    fn enter_while_working_joins_the_turn_and_the_status_line_redraws_slowly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let t0 = Instant::now();
        let mut app = App::new(
            merging(),
            Some(Transcript::open(&path).unwrap()),
            (24, 60),
            t0,
        );
        app.on_timer(t0);
        app.on_bytes(b"first\r", t0);
        let drawn = app.take_output();
        assert!(
            drawn.contains("Working (0s · esc to interrupt)"),
            "{drawn:?}"
        );
        // The next redraw of the status line is a second away.
        assert_eq!(app.next_deadline(), Some(t0 + STATUS_REDRAW));
        let later = t0 + Duration::from_millis(1_500);
        app.on_bytes(b"\x1b[200~second\x1b[201~\r", later);
        app.on_timer(t0 + Duration::from_secs(6));
        app.on_bytes(b"third\r", t0 + Duration::from_secs(7));
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                entry(1, "first", 1, false),
                entry(2, "second", 1, true),
                entry(3, "third", 2, false),
            ]
        );
    }

    #[test]
    fn the_status_line_names_the_hint_and_turns_count_up() {
        let t0 = Instant::now();
        let line = status_line(t0, t0 + Duration::from_millis(2_500));
        assert_eq!(line, "⠹ Working (2s · esc to interrupt)");
        let mut turns = Turns::default();
        assert_eq!(turns.current(), 0);
        assert_eq!(turns.start(), 1);
        assert_eq!(turns.start(), 2);
        assert_eq!(
            entry(3, "hi", 2, true).to_string(),
            r#"{"merged":true,"n":3,"text":"hi","turn":2}"#
        );
    }
}
