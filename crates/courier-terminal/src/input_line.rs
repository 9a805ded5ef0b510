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
//!
//! And one question about a given text, asked by both sides of "one message,
//! one submission" so that they cannot disagree:
//!
//! - [`holds_text`]: is this text still in the input? The submission verdict
//!   ([`crate::submission::judge`]) never calls a text submitted while it is,
//!   and the hold ([`hold`]) keeps the next message out while a message that
//!   was not submitted is.

use regex::Regex;

use crate::normalize::{NormalizedRows, is_ignored, strip_line_start};
use crate::readiness::is_border;
use crate::screen::Snapshot;
use crate::verify::{Expectation, text_rows};

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

/// Nothing but blanks, borders, glyphs and prompt tokens (`... `, `   ...: `):
/// more of an input, never output.
pub fn is_more_input(row: &str) -> bool {
    strip_line_start(row).chars().all(is_ignored)
}

/// Whether the input of `snap` still holds the text `exp` expects: the text
/// is on screen and the cursor, where an editor keeps it while it holds
/// text, is
///
/// - on one of the rows of the text (at any column: an editor that rejects
///   its input may put the cursor back where the error is), or
/// - below them, with nothing but more input between (blank rows,
///   continuation prompts, borders: an Enter taken as a new line), on a row
///   that continues the input (`... `), or on a bare one while the whole text
///   is on screen only once (a second copy is a program printing back what
///   it read, `cat` in raw mode); never on an empty prompt (`prompt`, the
///   preset's; in `canonical` mode a bare line start is one: the kernel took
///   the line).
///
/// Whatever is drawn below the text and the cursor (an error line, a status
/// line) does not matter: a program can draw under an input it keeps.
pub fn holds_text(
    snap: &Snapshot,
    exp: &Expectation,
    prompt: Option<&Regex>,
    canonical: bool,
) -> bool {
    let Some((first, last)) = text_rows(snap, exp) else {
        return false;
    };
    let cursor = usize::from(snap.cursor.0);
    if (first..=last).contains(&cursor) {
        return true;
    }
    if cursor < first {
        return false;
    }
    let more_input = snap
        .rows
        .get(last + 1..=cursor)
        .is_some_and(|rows| rows.iter().all(|r| is_more_input(r)));
    if !more_input {
        return false;
    }
    match state(snap, prompt, canonical) {
        InputState::Empty => false,
        InputState::Draft => true,
        InputState::Unknown => {
            NormalizedRows::new(snap.rows.iter().map(String::as_str)).count(&exp.full) <= 1
        }
    }
}

/// Why nothing may be typed into an input now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Text is typed after the prompt (a person's draft).
    Draft,
    /// A message typed earlier was not proven submitted: until the input is
    /// seen empty.
    LeftOver,
}

/// The hold on `snap`'s input. `left_over`: the text of a message typed into
/// it that was not submitted (`not_submitted`), if any. It holds while
/// [`holds_text`] finds it in the input, and, when the screen cannot tell
/// (no prompt to go by), until the input is seen empty.
pub fn hold(
    snap: &Snapshot,
    prompt: Option<&Regex>,
    canonical: bool,
    left_over: Option<&Expectation>,
) -> Option<Hold> {
    let input = state(snap, prompt, canonical);
    match left_over {
        Some(exp) if holds_text(snap, exp, prompt, canonical) => Some(Hold::LeftOver),
        Some(_) if input != InputState::Empty => Some(Hold::LeftOver),
        _ if input == InputState::Draft => Some(Hold::Draft),
        _ => None,
    }
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
    fn a_text_is_held_while_the_cursor_is_in_it_or_on_more_input_below_it() {
        let exp = Expectation::new("[courier] from a to you (direct) | msg 01H\nhi", vec![]);
        let rows = ["> [courier] from a to you (direct) | msg 01H", "  hi"];
        let on = |extra: &[&str], cursor: (u16, u16)| {
            let mut all = rows.to_vec();
            all.extend(extra);
            Snapshot::of_rows(&all, cursor)
        };
        // In it, at any column; an error drawn under it changes nothing.
        assert!(holds_text(&on(&[], (1, 4)), &exp, None, false));
        assert!(holds_text(
            &on(&["SyntaxError: x"], (0, 2)),
            &exp,
            None,
            false
        ));
        // Below it, on a new row of the same input.
        assert!(holds_text(&on(&["... "], (2, 4)), &exp, None, false));
        assert!(holds_text(&on(&["  "], (2, 2)), &exp, None, false));
        // Below it, on an empty prompt, or past output: it left the input.
        assert!(!holds_text(&on(&["> "], (2, 2)), &exp, None, false));
        assert!(!holds_text(&on(&["ok", ""], (3, 0)), &exp, None, false));
        // The kernel took the line: a bare line start is an empty input.
        assert!(!holds_text(&on(&[""], (2, 0)), &exp, None, true));
        // Printed back by a line program: the copy is output.
        assert!(!holds_text(
            &on(
                &["[courier] from a to you (direct) | msg 01H hi", ""],
                (3, 0)
            ),
            &exp,
            None,
            false
        ));
        // Not on screen.
        assert!(!holds_text(&at("> ", 2), &exp, None, false));
    }

    #[test]
    fn a_left_over_holds_until_the_input_is_empty_a_draft_while_there() {
        let exp = Expectation::new("[courier] from a to you (direct) | msg 01L", vec![]);
        let kept = end("> [courier] from a to you (direct) | msg 01L");
        let empty = end("> ");
        let unknown = end("  something");
        assert_eq!(hold(&kept, None, false, Some(&exp)), Some(Hold::LeftOver));
        assert_eq!(
            hold(&unknown, None, false, Some(&exp)),
            Some(Hold::LeftOver)
        );
        assert_eq!(hold(&empty, None, false, Some(&exp)), None);
        assert_eq!(hold(&kept, None, false, None), Some(Hold::Draft));
        assert_eq!(hold(&unknown, None, false, None), None);
        // The cursor put back at the start of a kept text: still held.
        let back = at("> [courier] from a to you (direct) | msg 01L", 2);
        assert_eq!(state(&back, None, false), InputState::Empty);
        assert_eq!(hold(&back, None, false, Some(&exp)), Some(Hold::LeftOver));
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
