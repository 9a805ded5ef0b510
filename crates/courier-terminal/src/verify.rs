//! Reading the rendered screen for proof: did the injected text appear (echo),
//! did any trace of it appear, and did it leave the input line (submission)?
//! Pure: works on [`Snapshot`]s.
//!
//! Counts are compared with a baseline taken before the injection, so text
//! already on screen (an earlier message, the same header) proves nothing.

use regex::Regex;

use crate::normalize::{NormalizedRows, normalize};
use crate::screen::Snapshot;

/// Normalized characters of the tail kept for long texts.
const TAIL: usize = 48;
/// Normalized characters of the prefix that count as a trace.
const PREFIX: usize = 12;

/// What the screen should show once the text is typed.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// The whole echo, normalized.
    pub full: String,
    /// The first line (the header, with the message id), normalized.
    pub head: String,
    /// The last characters, normalized (proof for texts taller than the screen).
    pub tail: String,
    /// The first characters, normalized (a trace).
    pub prefix: String,
    /// Placeholders that count as an echo (e.g. collapsed pastes).
    pub collapsed: Vec<Regex>,
}

fn take_chars(s: &str, n: usize, from_end: bool) -> String {
    let count = s.chars().count();
    if from_end {
        s.chars().skip(count.saturating_sub(n)).collect()
    } else {
        s.chars().take(n).collect()
    }
}

impl Expectation {
    /// `echo` is the text as typed (see [`crate::inject::Injection::echo`]).
    pub fn new(echo: &str, collapsed: Vec<Regex>) -> Self {
        let full = normalize(echo);
        let first_line = echo.split(['\n', '⏎']).next().unwrap_or("");
        Expectation {
            head: normalize(first_line),
            tail: take_chars(&full, TAIL, true),
            prefix: take_chars(&full, PREFIX, false),
            full,
            collapsed,
        }
    }
}

/// The rows of a snapshot that verification reads: scrollback, then screen.
pub fn rows_of(snap: &Snapshot) -> NormalizedRows {
    NormalizedRows::new(
        snap.scrollback
            .iter()
            .chain(snap.rows.iter())
            .map(String::as_str),
    )
}

/// Occurrence counts of each piece of the expectation on one screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub full: usize,
    pub head: usize,
    pub tail: usize,
    pub prefix: usize,
    pub collapsed: usize,
}

pub fn count(snap: &Snapshot, exp: &Expectation) -> Counts {
    let rows = rows_of(snap);
    Counts {
        full: rows.count(&exp.full),
        head: rows.count(&exp.head),
        tail: rows.count(&exp.tail),
        prefix: rows.count(&exp.prefix),
        collapsed: exp
            .collapsed
            .iter()
            .map(|re| {
                snap.rows
                    .iter()
                    .map(|r| re.find_iter(r).count())
                    .sum::<usize>()
            })
            .sum(),
    }
}

/// How the echo was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EchoKind {
    /// The whole text.
    Full,
    /// Its header (with the message id) and its end: the middle is off screen.
    HeadAndTail,
    /// A preset's collapsed-paste placeholder.
    Collapsed,
}

/// Where an echo was seen: visible rows `first..=last`, and the cursor then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    pub kind: EchoKind,
    pub first: usize,
    pub last: usize,
    pub cursor: (u16, u16),
    /// The normalized needle found in those rows.
    needle: String,
}

/// Whether `snap` shows the echo that was not there in `baseline`.
pub fn find_echo(snap: &Snapshot, exp: &Expectation, baseline: &Counts) -> Option<Echo> {
    let now = count(snap, exp);
    let rows = rows_of(snap);
    let visible = |(a, b): (usize, usize)| {
        let off = snap.scrollback.len();
        (a.saturating_sub(off), b.saturating_sub(off))
    };
    let echo = |kind, (first, last), needle: &str| Echo {
        kind,
        first,
        last,
        cursor: snap.cursor,
        needle: needle.to_string(),
    };
    if now.full > baseline.full {
        let span = rows.last_rows(&exp.full)?;
        return Some(echo(EchoKind::Full, visible(span), &exp.tail));
    }
    if exp.full.chars().count() > 2 * TAIL && now.head > baseline.head && now.tail > baseline.tail {
        let span = rows.last_rows(&exp.tail)?;
        return Some(echo(EchoKind::HeadAndTail, visible(span), &exp.tail));
    }
    if now.collapsed > baseline.collapsed {
        let row = snap
            .rows
            .iter()
            .rposition(|r| exp.collapsed.iter().any(|re| re.is_match(r)))?;
        return Some(Echo {
            kind: EchoKind::Collapsed,
            first: row,
            last: row,
            cursor: snap.cursor,
            needle: String::new(),
        });
    }
    None
}

/// Whether any piece of the text changed on screen since the baseline: then
/// a re-injection could double it.
pub fn has_trace(snap: &Snapshot, exp: &Expectation, baseline: &Counts) -> bool {
    count(snap, exp) != *baseline
}

/// Whether the text left the input line after Enter: the cursor moved below
/// where it was at the echo, or the echo's rows no longer hold the text.
pub fn submitted(snap: &Snapshot, exp: &Expectation, echo: &Echo) -> bool {
    if snap.cursor.0 > echo.cursor.0 {
        return true;
    }
    let end = echo.last.min(snap.rows.len().saturating_sub(1));
    let region = snap.rows.get(echo.first..=end).unwrap_or(&[]);
    match echo.kind {
        EchoKind::Collapsed => !region
            .iter()
            .any(|r| exp.collapsed.iter().any(|re| re.is_match(r))),
        EchoKind::Full | EchoKind::HeadAndTail => {
            let rows = NormalizedRows::new(region.iter().map(String::as_str));
            rows.count(&echo.needle) == 0
        }
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
