//! Did the text leave the input after Enter? Pure.
//!
//! Cursor movement proves nothing: in a multi-line composer an Enter that
//! becomes a newline, or a continuation row added under text that does not
//! parse yet, moves the cursor down too. So a delivery counts as submitted
//! only when the screen shows the input giving the text back:
//!
//! - **cleared**: no piece of the text is on the screen any more (a
//!   full-screen composer emptied its box and shows no transcript of it);
//! - **fresh prompt**: below the last row that holds the text, the cursor
//!   rests on the same empty prompt that was there before it was typed (or,
//!   when that one is unknown, on an empty prompt line);
//! - **output**: the cursor left the text's rows, and below them the
//!   program drew something new that is not more input (not blank, not only
//!   a continuation prompt such as `... `, and not a row that was already on
//!   screen when Enter was sent, like a status line pushed down by a growing
//!   box), or a second copy of the whole text (a line program printing back
//!   what it read);
//! - **line discipline**: the kernel edits the lines (canonical mode, as for
//!   `cat`): Enter always hands the line over, so the cursor leaving the
//!   text's last row is proof.
//!
//! None of these counts while the input still holds the text
//! ([`input_line::holds_text`], the very check that holds the next message
//! back): an editor that keeps text it rejects keeps its cursor in it, and
//! may draw an error line under it (`SyntaxError: invalid syntax`), which is
//! not output after a submission. Anything else, text still in the input
//! with nothing new below it, is "not submitted". A half-drawn frame (inside
//! a synchronized update) is never judged.

use std::collections::HashSet;

use regex::Regex;

use crate::input_line::{self, InputState, PromptLine};
use crate::normalize::NormalizedRows;
use crate::screen::Snapshot;
use crate::verify::{Expectation, text_rows};

/// How the screen proved a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmittedBy {
    Cleared,
    FreshPrompt,
    Output,
    LineDiscipline,
}

/// What the screen says after Enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    Submitted(SubmittedBy),
    /// The text is still on screen with nothing new after it.
    InInput,
    /// A half-drawn frame: look again.
    MidFrame,
}

/// What was known when Enter was sent.
#[derive(Debug, Clone)]
pub struct AtEnter {
    /// The empty prompt seen before the text was typed, if recognised.
    pub prompt: Option<PromptLine>,
    /// The preset's prompt pattern, if it has one.
    pub pattern: Option<Regex>,
    /// Rows on screen right before Enter (trimmed): not new output.
    pub rows: HashSet<String>,
    /// The kernel edits lines (canonical mode).
    pub canonical: bool,
    /// How often the whole text was on screen.
    pub copies: usize,
}

impl AtEnter {
    pub fn new(
        snap: &Snapshot,
        exp: &Expectation,
        prompt: Option<PromptLine>,
        canonical: bool,
    ) -> Self {
        AtEnter {
            prompt,
            pattern: None,
            rows: snap.rows.iter().map(|r| r.trim().to_string()).collect(),
            canonical,
            copies: copies(snap, exp),
        }
    }

    /// With the preset's prompt pattern (an empty input line by its prompt).
    pub fn with_pattern(mut self, pattern: Option<Regex>) -> Self {
        self.pattern = pattern;
        self
    }
}

/// Whole copies of the text on the visible rows.
fn copies(snap: &Snapshot, exp: &Expectation) -> usize {
    NormalizedRows::new(snap.rows.iter().map(String::as_str)).count(&exp.full)
}

/// The verdict on `now` for a text expected as `exp`.
pub fn judge(now: &Snapshot, exp: &Expectation, at_enter: &AtEnter) -> Submission {
    if now.mid_frame {
        return Submission::MidFrame;
    }
    let Some((_, last)) = text_rows(now, exp) else {
        return Submission::Submitted(SubmittedBy::Cleared);
    };
    // Nothing proves a submission of a text the input still holds, however
    // much is drawn around it.
    let pattern = at_enter.pattern.as_ref();
    if input_line::holds_text(now, exp, pattern, at_enter.canonical) {
        return Submission::InInput;
    }
    let cursor_row = usize::from(now.cursor.0);
    if cursor_row > last {
        if at_enter.canonical {
            return Submission::Submitted(SubmittedBy::LineDiscipline);
        }
        let fresh = match &at_enter.prompt {
            Some(prompt) => prompt.matches(now),
            // The prompt from before is unknown (settling after a restart,
            // a program whose prompt was not recognised): an empty prompt
            // line, by the usual signs, will do.
            None => input_line::state(now, pattern, false) == InputState::Empty,
        };
        if fresh {
            return Submission::Submitted(SubmittedBy::FreshPrompt);
        }
    }
    // Here the cursor is off the text's rows and the input does not hold
    // it: a line program that prints what it read (`cat`) adds a copy,
    // another prints something new below it.
    let output = copies(now, exp) > at_enter.copies
        || now
            .rows
            .iter()
            .skip(last + 1)
            .any(|row| !input_line::is_more_input(row) && !at_enter.rows.contains(row.trim()));
    if output {
        return Submission::Submitted(SubmittedBy::Output);
    }
    Submission::InInput
}

#[cfg(test)]
#[path = "submission_tests.rs"]
mod tests;
