//! Whether an agent is ready for input, read from its screen. Pure: the
//! caller passes the snapshot and the times, so tests control the clock.
//!
//! Ready means: output has started, the screen has been quiet for
//! [`ReadinessConfig::quiet`], it is not blank, no known dialog is showing,
//! and either the preset's prompt pattern is visible ([`ReadyBy::Prompt`]) or
//! the cursor rests in what looks like an input line ([`ReadyBy::Cursor`]).
//! A program that prints no prompt (`cat`) is read from the kernel instead
//! ([`ReadyBy::ReadingLine`]): its terminal is in canonical (line) mode and
//! its foreground process is blocked reading it ([`crate::tty_probe`]).
//! Whatever the reason, an input that holds a draft (text typed after the
//! prompt) is never ready: a message typed into it would merge with it.
//! After [`ReadinessConfig::fallback`] the agent counts as ready anyway
//! ([`ReadyBy::Fallback`]), with three exceptions that no amount of waiting
//! lifts: a known dialog (it takes keystrokes as menu choices), a screen
//! that was drawn and is blank (keystrokes into it are lost), and a draft.
//! A half-drawn frame (inside a synchronized update) is busy, and so is a
//! screen showing a preset's busy pattern (its working status line), however
//! quiet, and past the fallback too ([`busy`]).

use std::time::{Duration, Instant};

use regex::Regex;
use serde::Serialize;

use crate::error::{TerminalError, compile};
use crate::input_line::{self, InputState};
use crate::screen::Snapshot;
use crate::tty_probe::{self, TtyState};

#[path = "readiness_busy.rs"]
pub mod busy;
pub use busy::BusyPatterns;

/// Default quiet window.
pub const DEFAULT_QUIET: Duration = Duration::from_millis(150);
/// Default fallback.
pub const DEFAULT_FALLBACK: Duration = Duration::from_secs(15);
/// How often a waiter looks again while the agent is not ready, even
/// without output: the kernel's answer (a program that reads a line and
/// prints nothing) changes without any byte on the screen.
pub const KERNEL_RECHECK: Duration = Duration::from_millis(200);
/// Dialogs every preset knows.
pub const DEFAULT_DIALOGS: &[&str] = &[
    r"(?i)do you trust the files",
    r"(?i)trust this folder",
    r"(?i)sign in to continue",
];

#[derive(Debug, Clone)]
pub struct ReadinessConfig {
    /// How long the screen must stay unchanged.
    pub quiet: Duration,
    /// After this long since spawn, ready anyway, unless a dialog or a
    /// drawn blank screen is showing.
    pub fallback: Duration,
    /// A preset's prompt pattern, tried on every visible row.
    pub prompt: Option<Regex>,
    /// Dialogs that keep the agent not ready while visible.
    pub dialogs: Vec<Regex>,
    /// The working status line (and what ends a turn): while it shows, the
    /// agent is busy however quiet its screen.
    pub busy: BusyPatterns,
}

impl Default for ReadinessConfig {
    fn default() -> Self {
        ReadinessConfig {
            quiet: DEFAULT_QUIET,
            fallback: DEFAULT_FALLBACK,
            prompt: None,
            dialogs: DEFAULT_DIALOGS
                .iter()
                .filter_map(|p| crate::compiled::shared(p).ok())
                .collect(),
            busy: BusyPatterns::default(),
        }
    }
}

impl ReadinessConfig {
    pub fn with_prompt(mut self, pattern: &str) -> Result<Self, TerminalError> {
        self.prompt = Some(compile("prompt", pattern)?);
        Ok(self)
    }

    pub fn with_dialog(mut self, pattern: &str) -> Result<Self, TerminalError> {
        self.dialogs.push(compile("dialog", pattern)?);
        Ok(self)
    }

    /// Busy patterns (a working status line) and idle patterns (what ends
    /// a turn): see [`busy`].
    pub fn with_busy(mut self, busy: &[String], idle: &[String]) -> Result<Self, TerminalError> {
        self.busy = BusyPatterns::new(busy, idle)?;
        Ok(self)
    }
}

/// What made an agent ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadyBy {
    Prompt,
    Cursor,
    /// The kernel: canonical mode, the foreground process reading a line.
    ReadingLine,
    Fallback,
}

/// Why an agent is not ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum NotReady {
    NoOutput,
    Busy,
    BlankScreen,
    Dialog {
        pattern: String,
        line: String,
    },
    NoPrompt,
    /// Text is typed after the prompt (a draft, or a message never
    /// submitted): nothing more is typed until it is submitted or cleared.
    InputNotEmpty,
    /// A busy pattern is on screen: the agent shows it is working (a
    /// spinner with "esc to interrupt"), however quiet its screen.
    Working {
        pattern: String,
        line: String,
    },
    Exited,
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::NoOutput => f.write_str("no output yet"),
            NotReady::Busy => f.write_str("output still flowing"),
            NotReady::BlankScreen => f.write_str("blank screen"),
            NotReady::Dialog { line, .. } => write!(f, "dialog on screen: {line}"),
            NotReady::NoPrompt => f.write_str("no prompt or input line visible"),
            NotReady::InputNotEmpty => f.write_str(
                "input_not_empty: text is typed after the prompt; waiting until it is submitted or cleared",
            ),
            NotReady::Working { line, .. } => write!(
                f,
                "{WORKING}: the screen shows the agent working ({line}); waiting for the turn to end"
            ),
            NotReady::Exited => f.write_str("process exited"),
        }
    }
}

/// How a not-ready reason caused by a busy pattern starts, for callers
/// that only see it as text (a failed delivery's reason).
pub const WORKING: &str = courier_core::settle::reasons::AGENT_WORKING;

/// Busy while output flows, idle after the quiet window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Busy,
    Idle,
}

pub fn activity(snap: &Snapshot, now: Instant, quiet: Duration) -> Activity {
    match snap.last_output_at {
        Some(t) if now.saturating_duration_since(t) < quiet => Activity::Busy,
        _ => Activity::Idle,
    }
}

/// [`activity`], and busy too while a busy pattern of `cfg` is on screen
/// (a status line redrawn less often than the quiet window).
pub fn activity_of(snap: &Snapshot, now: Instant, cfg: &ReadinessConfig) -> Activity {
    if cfg.busy.working_on(snap).is_some() {
        return Activity::Busy;
    }
    activity(snap, now, cfg.quiet)
}

use input_line::PROMPT_ENDINGS;

/// Box-drawing and block characters: borders, not text.
pub fn is_border(c: char) -> bool {
    ('\u{2500}'..='\u{259f}').contains(&c)
}

/// Whether the cursor rests in what looks like an input line.
pub fn cursor_in_input_line(snap: &Snapshot) -> bool {
    let row = snap.cursor_row();
    let col = usize::from(snap.cursor.1);
    let before: String = row.chars().take(col).collect();
    let before = before.trim_end_matches([' ', '\u{a0}']);
    let inner = before.trim_start_matches(|c: char| c.is_whitespace() || is_border(c));
    if inner.is_empty() && before.is_empty() {
        return false;
    }
    // `$ `, `>>> `, `│ > `, `❯ ` … right before the cursor.
    if PROMPT_ENDINGS.iter().any(|p| before.ends_with(p)) {
        return true;
    }
    let after: String = row.chars().skip(col).collect();
    let after = after.trim_matches(|c: char| c.is_whitespace() || is_border(c));
    // `│ ❯ text│`: a prompt glyph starts the line the cursor types into.
    let starts_with_prompt = PROMPT_ENDINGS
        .iter()
        .any(|p| inner.starts_with(p) && inner[p.len()..].starts_with([' ', '\u{a0}']));
    // Or the cursor sits at the end of a short non-blank line.
    let short_line_end = after.is_empty() && !inner.is_empty() && inner.chars().count() <= 40;
    after.is_empty() && (starts_with_prompt || short_line_end)
}

/// Decides readiness from one snapshot at `now`. `tty` is the kernel's view
/// of the terminal when the caller probed it ([`probe_when_quiet`]).
pub fn assess(
    snap: &Snapshot,
    spawned_at: Instant,
    now: Instant,
    exited: bool,
    tty: Option<&TtyState>,
    cfg: &ReadinessConfig,
) -> Result<ReadyBy, NotReady> {
    if exited {
        return Err(NotReady::Exited);
    }
    // Before anything the fallback could override.
    if let Some(dialog) = visible_dialog(snap, cfg) {
        return Err(dialog);
    }
    if snap.mid_frame {
        return Err(NotReady::Busy);
    }
    // Before the quiet window and the fallback: a working status line may
    // sit still for seconds, and an agent may work for hours.
    if let Some(working) = cfg.busy.working_on(snap) {
        return Err(working);
    }
    let reading_line = tty.is_some_and(tty_probe::waits_for_a_line);
    let canonical = tty.is_some_and(|t| t.canonical);
    let fallback = now.saturating_duration_since(spawned_at) >= cfg.fallback;
    let Some(last) = snap.last_output_at else {
        return if reading_line && now.saturating_duration_since(spawned_at) >= cfg.quiet {
            Ok(ReadyBy::ReadingLine)
        } else if fallback {
            Ok(ReadyBy::Fallback)
        } else {
            Err(NotReady::NoOutput)
        };
    };
    if now.saturating_duration_since(last) < cfg.quiet {
        return Err(NotReady::Busy);
    }
    let input = input_line::state(snap, cfg.prompt.as_ref(), canonical);
    if input == InputState::Draft {
        return Err(NotReady::InputNotEmpty);
    }
    if snap.is_blank() {
        // The program drew and the screen is empty (cleared, mid-redraw, or
        // only mode switches so far): whatever is typed now may vanish, and
        // the fallback cannot tell us otherwise. Only a line program the
        // kernel sees reading (it never draws, `clear; cat`) takes input.
        return if reading_line {
            Ok(ReadyBy::ReadingLine)
        } else {
            Err(NotReady::BlankScreen)
        };
    }
    if cfg
        .prompt
        .as_ref()
        .is_some_and(|p| snap.rows.iter().any(|r| p.is_match(r)))
    {
        return Ok(ReadyBy::Prompt);
    }
    if cursor_in_input_line(snap) {
        return Ok(ReadyBy::Cursor);
    }
    if reading_line {
        return Ok(ReadyBy::ReadingLine);
    }
    if fallback {
        Ok(ReadyBy::Fallback)
    } else {
        Err(NotReady::NoPrompt)
    }
}

/// The kernel's view of `pid`'s terminal, probed only when it can matter:
/// the screen is quiet (a program drawing output is not waiting for a line,
/// and /proc reads are not made on every chunk of a busy agent).
pub fn probe_when_quiet(
    snap: &Snapshot,
    pid: u32,
    now: Instant,
    quiet: Duration,
) -> Option<TtyState> {
    if activity(snap, now, quiet) == Activity::Busy {
        return None;
    }
    tty_probe::probe(pid)
}

/// The known dialog visible on `snap`, if any, with the line it is on.
pub fn visible_dialog(snap: &Snapshot, cfg: &ReadinessConfig) -> Option<NotReady> {
    let text = snap.text();
    cfg.dialogs.iter().find_map(|dialog| {
        let m = dialog.find(&text)?;
        let line = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = text[m.end()..]
            .find('\n')
            .map_or(text.len(), |i| m.end() + i);
        Some(NotReady::Dialog {
            pattern: dialog.as_str().to_string(),
            line: text[line..end].trim().to_string(),
        })
    })
}

/// Whether keystrokes may go in right now without waiting for readiness
/// (`immediate` mode, and the last look before any injection): the agent
/// may be busy or mid-redraw, but it must be alive, not showing a known
/// dialog (even one still being drawn), and its input must not hold a
/// draft (a message typed into it would merge with it).
pub fn accepts_keys_now(
    snap: &Snapshot,
    exited: bool,
    tty: Option<&TtyState>,
    cfg: &ReadinessConfig,
) -> Result<(), NotReady> {
    if exited {
        return Err(NotReady::Exited);
    }
    if let Some(dialog) = visible_dialog(snap, cfg) {
        return Err(dialog);
    }
    let canonical = tty.is_some_and(|t| t.canonical);
    if input_line::state(snap, cfg.prompt.as_ref(), canonical) == InputState::Draft {
        return Err(NotReady::InputNotEmpty);
    }
    Ok(())
}

/// How long a waiter sleeps when nothing but new output can change the
/// answer: only a bound on a missed wake-up, never a poll interval.
pub const RECHECK: Duration = Duration::from_secs(1);

/// When `assess` may change its answer without new output: the end of the
/// quiet window, or the fallback. Always in the future (when neither is
/// pending, [`RECHECK`] from `now`), so a waiter never spins.
pub fn next_deadline(
    snap: &Snapshot,
    spawned_at: Instant,
    now: Instant,
    cfg: &ReadinessConfig,
) -> Instant {
    let fallback = Some(spawned_at + cfg.fallback).filter(|&t| t > now);
    let quiet_end = snap
        .last_output_at
        .map(|t| t + cfg.quiet)
        .filter(|&t| t > now);
    let next = match (quiet_end, fallback) {
        (Some(q), Some(f)) => q.min(f),
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => now + RECHECK,
    };
    next.min(now + KERNEL_RECHECK)
}

#[cfg(test)]
#[path = "readiness_tests.rs"]
mod tests;
