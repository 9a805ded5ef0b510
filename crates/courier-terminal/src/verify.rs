//! Reading the rendered screen for proof: did the injected text appear (echo),
//! and did any trace of it appear? Pure: works on [`Snapshot`]s. Whether it
//! then left the input is [`crate::submission`]'s question.
//!
//! Counts are compared with a baseline taken before the injection, so text
//! already on screen (an earlier message, the same header) proves nothing.

use regex::Regex;

use crate::normalize::{NormalizedRows, normalize};
use crate::screen::Snapshot;

/// Normalized characters of the tail kept for long texts.
const TAIL: usize = 48;
/// Normalized characters of the prefix that count as a trace when the text
/// has no message id to go by.
const PREFIX: usize = 12;
/// The part of a framed header that names one message (`| msg <id>`).
const MESSAGE_MARK: &str = "|msg";

/// What the screen should show once the text is typed.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// The whole echo, normalized.
    pub full: String,
    /// The first line (the header, with the message id), normalized.
    pub head: String,
    /// The last characters, normalized (proof for texts taller than the screen).
    pub tail: String,
    /// What only this text shows (a trace): from its message id to the end
    /// of its header (`msg01J…`), or, without an id, its first characters.
    /// Never the shared `[courier] from …` start: another message's trace
    /// must not look like this one's.
    pub trace: String,
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
        let head = normalize(first_line);
        let trace = match head.rfind(MESSAGE_MARK) {
            Some(i) => head[i + 1..].to_string(),
            None => take_chars(&full, PREFIX, false),
        };
        Expectation {
            head,
            tail: take_chars(&full, TAIL, true),
            trace,
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
    pub trace: usize,
    pub collapsed: usize,
}

pub fn count(snap: &Snapshot, exp: &Expectation) -> Counts {
    let rows = rows_of(snap);
    Counts {
        full: rows.count(&exp.full),
        head: rows.count(&exp.head),
        tail: rows.count(&exp.tail),
        trace: rows.count(&exp.trace),
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
}

/// Whether `snap` shows the echo that was not there in `baseline`.
pub fn find_echo(snap: &Snapshot, exp: &Expectation, baseline: &Counts) -> Option<Echo> {
    let now = count(snap, exp);
    let rows = rows_of(snap);
    let visible = |(a, b): (usize, usize)| {
        let off = snap.scrollback.len();
        (a.saturating_sub(off), b.saturating_sub(off))
    };
    let echo = |kind, (first, last)| Echo {
        kind,
        first,
        last,
        cursor: snap.cursor,
    };
    if now.full > baseline.full {
        let span = rows.last_rows(&exp.full)?;
        return Some(echo(EchoKind::Full, visible(span)));
    }
    if exp.full.chars().count() > 2 * TAIL && now.head > baseline.head && now.tail > baseline.tail {
        let span = rows.last_rows(&exp.tail)?;
        return Some(echo(EchoKind::HeadAndTail, visible(span)));
    }
    if now.collapsed > baseline.collapsed {
        let row = snap
            .rows
            .iter()
            .rposition(|r| exp.collapsed.iter().any(|re| re.is_match(r)))?;
        return Some(echo(EchoKind::Collapsed, (row, row)));
    }
    None
}

/// Whether any piece of the text changed on screen since the baseline: then
/// a re-injection could double it.
pub fn has_trace(snap: &Snapshot, exp: &Expectation, baseline: &Counts) -> bool {
    count(snap, exp) != *baseline
}

/// The visible rows the text occupies now, `(first, last)`: from the first
/// to the last row of the latest occurrence of any of its pieces (whole,
/// header, trace, end, or a collapsed placeholder). Wider rather than
/// narrower: a row counted as the text's only makes the input look held.
pub fn text_rows(snap: &Snapshot, exp: &Expectation) -> Option<(usize, usize)> {
    let rows = NormalizedRows::new(snap.rows.iter().map(String::as_str));
    let pieces = [&exp.full, &exp.head, &exp.trace, &exp.tail];
    let by_placeholder = snap
        .rows
        .iter()
        .rposition(|r| exp.collapsed.iter().any(|re| re.is_match(r)))
        .map(|row| (row, row));
    pieces
        .iter()
        .filter_map(|p| rows.last_rows(p))
        .chain(by_placeholder)
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
