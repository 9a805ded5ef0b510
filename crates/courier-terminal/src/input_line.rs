//! The agent's input line, read from the screen. Pure.
//!
//! Two questions are answered here:
//!
//! - [`state`]: is the input empty (a prompt and nothing typed after it),
//!   does it hold a draft (a person's, or a message that was never
//!   submitted), or can the screen not tell? Nothing is typed into a draft:
//!   two messages in one input become one prompt.
//! - [`PromptLine`]: the signature of the empty prompt seen right before a
//!   message was typed, to recognise a *fresh* one after Enter (the program
//!   took the line and asks for the next).
//!
//! The line is the cursor row up to the cursor: what a program shows after
//! the cursor (Claude Code's grey `Try "…"` hint, a box border) is not input.

use regex::Regex;

use crate::normalize::is_ignored;
use crate::readiness::is_border;
use crate::screen::Snapshot;

/// Tokens a prompt ends with (`$ `, `>>> `, `│ > `, `❯ `, `In [3]: `).
pub const PROMPT_ENDINGS: &[&str] = &["$", "#", ">", ">>>", "%", "❯", "›", "┃", "»", "λ", ":"];
/// Continuation prompts (`... `, `   ...: `): the input already holds lines.
const CONTINUATIONS: &[&str] = &["...:", "..."];

/// What the input line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputState {
    /// A prompt with nothing typed after it.
    Empty,
    /// Text typed after a prompt: a draft, or a message still waiting there.
    Draft,
    /// No prompt to go by (a program with its own line style).
    Unknown,
}

/// The cursor row split at the cursor: before it (trimmed of borders and
/// blanks at both ends) and whether anything but blanks follows.
fn before_cursor(snap: &Snapshot) -> Option<String> {
    let row = snap.rows.get(usize::from(snap.cursor.0))?;
    let before: String = row.chars().take(usize::from(snap.cursor.1)).collect();
    Some(
        before
            .trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}' || is_border(c))
            .to_string(),
    )
}

/// Whether `text` ends with a prompt token.
fn ends_with_prompt(text: &str) -> bool {
    PROMPT_ENDINGS.iter().any(|p| text.ends_with(p))
}

/// Whether `text` holds a prompt token followed by a blank and then text.
fn prompt_then_text(text: &str) -> bool {
    PROMPT_ENDINGS.iter().any(|p| {
        text.match_indices(p).any(|(i, _)| {
            let after = &text[i + p.len()..];
            after.starts_with([' ', '\u{a0}']) && !after.trim_start_matches(is_ignored).is_empty()
        })
    })
}

/// What the input line of `snap` holds. `prompt` is the preset's prompt
/// pattern; `canonical`: the kernel edits lines (then a bare line start is
/// an empty input, as in `cat`).
pub fn state(snap: &Snapshot, prompt: Option<&Regex>, canonical: bool) -> InputState {
    let Some(before) = before_cursor(snap) else {
        return InputState::Unknown;
    };
    if before.is_empty() {
        return if canonical {
            InputState::Empty
        } else {
            InputState::Unknown
        };
    }
    // The preset's own prompt, ending right at the cursor.
    if prompt.is_some_and(|re| re.find_iter(&before).any(|m| m.end() == before.len())) {
        return InputState::Empty;
    }
    if CONTINUATIONS.iter().any(|c| before.ends_with(c)) {
        return InputState::Draft;
    }
    if ends_with_prompt(&before) {
        return InputState::Empty;
    }
    if prompt_then_text(&before) || CONTINUATIONS.iter().any(|c| before.starts_with(c)) {
        return InputState::Draft;
    }
    InputState::Unknown
}

/// The signature of an empty prompt line: what stands before the cursor,
/// digits masked (`In [3]:` and `In [4]:` are the same prompt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptLine {
    before: String,
}

fn mask(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

impl PromptLine {
    /// The prompt of `snap`, when its input line is empty. A bare line start
    /// is a prompt only in canonical mode (else every new line would look
    /// like a fresh prompt).
    pub fn of(snap: &Snapshot, prompt: Option<&Regex>, canonical: bool) -> Option<PromptLine> {
        if state(snap, prompt, canonical) != InputState::Empty {
            return None;
        }
        Some(PromptLine {
            before: mask(&before_cursor(snap)?),
        })
    }

    /// Whether the cursor of `snap` rests on this same prompt, empty.
    pub fn matches(&self, snap: &Snapshot) -> bool {
        before_cursor(snap).is_some_and(|b| mask(&b) == self.before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(row: &str, col: u16) -> Snapshot {
        Snapshot::of_rows(&["header", row], (1, col))
    }

    fn end(row: &str) -> Snapshot {
        at(row, row.chars().count() as u16)
    }

    #[test]
    fn prompts_with_nothing_typed_are_empty() {
        for row in ["$ ", "bash-5.2$ ", ">>> ", "│ > ", "❯\u{a0}", "In [12]: "] {
            assert_eq!(state(&end(row), None, false), InputState::Empty, "{row:?}");
        }
        // A hint after the cursor is not input.
        let hint = at("│ > Try \"write a test\"   │", 4);
        assert_eq!(state(&hint, None, false), InputState::Empty);
    }

    #[test]
    fn text_after_a_prompt_is_a_draft() {
        for row in [
            "> hello",
            "│ ❯ [courier] from a to you (direct) | msg 01X",
            "$ rm -rf",
            "... x = 1",
            "In [3]: import os",
            "... ",
            "   ...: ",
        ] {
            assert_eq!(state(&end(row), None, false), InputState::Draft, "{row:?}");
        }
    }

    #[test]
    fn a_bare_line_is_empty_only_in_canonical_mode() {
        assert_eq!(state(&at("", 0), None, true), InputState::Empty);
        assert_eq!(state(&at("", 0), None, false), InputState::Unknown);
        assert_eq!(state(&end("  continued"), None, false), InputState::Unknown);
    }

    #[test]
    fn a_preset_prompt_counts_only_when_it_ends_at_the_cursor() {
        let re = Regex::new(r"ask me").unwrap();
        assert_eq!(state(&end("ask me"), Some(&re), false), InputState::Empty);
        assert_eq!(
            state(&end("ask me x"), Some(&re), false),
            InputState::Unknown
        );
    }

    #[test]
    fn a_fresh_prompt_is_the_same_prompt_with_digits_masked() {
        let p = PromptLine::of(&end("In [3]: "), None, false).unwrap();
        assert!(p.matches(&end("In [4]: ")));
        assert!(!p.matches(&end("   ...: ")));
        assert!(!p.matches(&end("In [4]: x")));
        assert_eq!(PromptLine::of(&end("> draft"), None, false), None);
        // A bare line start is a prompt only where the kernel edits lines.
        assert_eq!(PromptLine::of(&at("", 0), None, false), None);
        let bare = PromptLine::of(&at("", 0), None, true).unwrap();
        assert!(bare.matches(&at("", 0)));
    }
}
