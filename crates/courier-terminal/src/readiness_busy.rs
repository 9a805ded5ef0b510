//! Busy from what the screen says, not only from how often it changes.
//!
//! An agent CLI that works (or retries its API) shows a status line — a
//! spinner beside "esc to interrupt" — that it may redraw less often than
//! the quiet window: judged by quiet alone it looks idle between redraws,
//! and a message typed then becomes a steering input into the running turn.
//! A preset names that line (`busy_patterns`); while one matches a visible
//! row the agent is working, however quiet the screen, and no wait (not
//! even the readiness fallback) lifts it: only the line going away does.
//!
//! `idle_patterns` name what the CLI draws once a turn has ended. A busy
//! match with an idle match on a row below it is history (a status line
//! quoted in the transcript above a fresh idle footer), not work. An idle
//! pattern is not required for the agent to be idle: a release that
//! changed its idle footer would otherwise never be typed into, while the
//! quiet window and the prompt already decide readiness.

use regex::Regex;

use super::NotReady;
use crate::error::{TerminalError, compile};
use crate::screen::Snapshot;

/// A preset's (or a spawn's) busy and idle patterns, compiled.
#[derive(Debug, Clone, Default)]
pub struct BusyPatterns {
    /// Any match on a visible row: the agent is working.
    pub busy: Vec<Regex>,
    /// A match on a row below a busy match: that turn has ended.
    pub idle: Vec<Regex>,
}

impl BusyPatterns {
    /// Compiles `busy` and `idle`; the error names which kind failed.
    pub fn new(busy: &[String], idle: &[String]) -> Result<Self, TerminalError> {
        Ok(BusyPatterns {
            busy: busy
                .iter()
                .map(|p| compile("busy", p))
                .collect::<Result<_, _>>()?,
            idle: idle
                .iter()
                .map(|p| compile("idle", p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether no busy pattern is known (the screen's quiet alone decides).
    pub fn is_empty(&self) -> bool {
        self.busy.is_empty()
    }

    /// The working status line on the visible screen, if any: the lowest
    /// row a busy pattern matches, unless an idle pattern matches a row
    /// below it. Rows are matched one by one (a status line is one row).
    pub fn working_on(&self, snap: &Snapshot) -> Option<NotReady> {
        self.working_in(&snap.rows)
    }

    /// [`BusyPatterns::working_on`] for plain rows.
    pub fn working_in(&self, rows: &[String]) -> Option<NotReady> {
        if self.busy.is_empty() {
            return None;
        }
        let (row, pattern) = rows.iter().enumerate().rev().find_map(|(i, row)| {
            self.busy
                .iter()
                .find(|re| re.is_match(row))
                .map(|re| (i, re))
        })?;
        let ended_below = rows[row + 1..]
            .iter()
            .any(|r| self.idle.iter().any(|re| re.is_match(r)));
        if ended_below {
            return None;
        }
        Some(NotReady::Working {
            pattern: pattern.as_str().to_string(),
            line: rows[row].trim().to_string(),
        })
    }
}

impl NotReady {
    /// The status line a busy pattern matched, when that is why the agent
    /// is not ready.
    pub fn working_line(&self) -> Option<&str> {
        match self {
            NotReady::Working { line, .. } => Some(line),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    fn patterns(busy: &[&str], idle: &[&str]) -> BusyPatterns {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        BusyPatterns::new(&own(busy), &own(idle)).unwrap()
    }

    #[test]
    fn a_status_line_that_matches_is_working_and_names_its_line() {
        let p = patterns(&["esc to interrupt"], &[]);
        let screen = rows(&["you: hi", "⠋ Working (3s · esc to interrupt)  ", "> "]);
        assert_eq!(
            p.working_in(&screen),
            Some(NotReady::Working {
                pattern: "esc to interrupt".into(),
                line: "⠋ Working (3s · esc to interrupt)".into(),
            })
        );
        assert_eq!(p.working_in(&rows(&["you: hi", "> "])), None);
    }

    #[test]
    fn no_busy_pattern_never_says_working() {
        let p = patterns(&[], &["for shortcuts"]);
        assert!(p.is_empty());
        assert_eq!(p.working_in(&rows(&["esc to interrupt"])), None);
    }

    #[test]
    fn an_idle_line_below_the_busy_one_ends_the_turn_but_not_one_above() {
        let p = patterns(&["esc to interrupt"], &[r"\? for shortcuts"]);
        let ended = rows(&[
            "✻ Working… (esc to interrupt)",
            "assistant: done",
            "? for shortcuts",
        ]);
        assert_eq!(p.working_in(&ended), None);
        let working = rows(&["? for shortcuts", "✻ Working… (esc to interrupt)"]);
        assert!(matches!(
            p.working_in(&working),
            Some(NotReady::Working { .. })
        ));
    }

    #[test]
    fn the_lowest_busy_line_is_the_one_judged() {
        let p = patterns(&["esc to interrupt"], &["^> $"]);
        // An old status line above an idle prompt, then a new turn working below it.
        let screen = rows(&["esc to interrupt (old)", "> ", "Working (esc to interrupt)"]);
        assert_eq!(
            p.working_in(&screen),
            Some(NotReady::Working {
                pattern: "esc to interrupt".into(),
                line: "Working (esc to interrupt)".into(),
            })
        );
    }

    /// A quiet screen with a prompt under a still status line: ready by
    /// quiet alone, working by its pattern, long past the fallback too.
    #[test]
    fn assess_says_working_however_quiet_and_however_late() {
        use std::time::{Duration, Instant};

        use crate::readiness::{Activity, ReadinessConfig, ReadyBy, activity_of, assess};

        let t0 = Instant::now();
        let mut snap = Snapshot::of_rows(&["⠙ Working (esc to interrupt)", "> "], (1, 2));
        snap.first_output_at = Some(t0);
        snap.last_output_at = Some(t0);
        let plain = ReadinessConfig::default();
        let cfg = ReadinessConfig::default()
            .with_busy(&["esc to interrupt".into()], &[])
            .unwrap();
        for late in [Duration::from_secs(1), Duration::from_secs(3_600)] {
            let now = t0 + late;
            assert_eq!(
                assess(&snap, t0, now, false, None, &plain),
                Ok(ReadyBy::Cursor)
            );
            assert!(matches!(
                assess(&snap, t0, now, false, None, &cfg),
                Err(NotReady::Working { .. })
            ));
            assert_eq!(activity_of(&snap, now, &plain), Activity::Idle);
            assert_eq!(activity_of(&snap, now, &cfg), Activity::Busy);
        }
        // The line gone, the same screen is ready again.
        snap.rows[0] = "assistant: done".into();
        assert_eq!(
            assess(&snap, t0, t0 + Duration::from_secs(1), false, None, &cfg),
            Ok(ReadyBy::Cursor)
        );
    }

    #[test]
    fn the_reason_names_the_line_and_starts_with_the_stable_word() {
        let p = patterns(&["esc to interrupt"], &[]);
        let why = p.working_in(&rows(&["⠋ esc to interrupt"])).unwrap();
        assert_eq!(why.working_line(), Some("⠋ esc to interrupt"));
        let text = why.to_string();
        assert!(text.starts_with(crate::readiness::WORKING), "{text}");
        assert!(text.contains("⠋ esc to interrupt"), "{text}");
    }

    #[test]
    fn a_bad_regex_is_refused_naming_its_kind() {
        let err = BusyPatterns::new(&["(".into()], &[]).unwrap_err();
        assert!(err.to_string().contains("busy"), "{err}");
        let err = BusyPatterns::new(&[], &["[".into()]).unwrap_err();
        assert!(err.to_string().contains("idle"), "{err}");
    }
}
