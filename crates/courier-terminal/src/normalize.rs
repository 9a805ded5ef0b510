//! Normalizing text and screens so that an echo can be found however the
//! program drew it: inside a bordered box, after a prompt glyph, with a
//! no-break space, wrapped over several rows.
//!
//! Both sides lose every whitespace character (a wrap can split a word),
//! every box-drawing character, the visible newline marker `⏎` and the
//! Unicode prompt glyphs. Screen rows also lose the ASCII prompt tokens
//! (`$`, `#`, `>`, `>>>`, `...`, `...:`, `%`) at their start when a space
//! follows each, as do the lines of the expected text, so a prompt repeated
//! on every row of an input box, or a REPL's continuation prompt drawn
//! before each continued line (`... `, `   ...: `), does not break a match.
//! Tokens are dropped repeatedly on both sides, so a continued line that
//! itself starts like a prompt (`> quoted`) still matches.

use crate::readiness::is_border;

/// Unicode glyphs that decorate input lines but are never text we typed.
const GLYPHS: &[char] = &['❯', '›', '┃', '⏎', '▌', '▎', '▏', '│', '»'];
/// ASCII prompt tokens dropped at the start of a line (longest first).
const PROMPT_TOKENS: &[&str] = &[">>>", "...:", "...", "$", "#", ">", "%"];
/// At most this many tokens are dropped from one line start.
const MAX_TOKENS: usize = 4;

/// Characters that never count: whitespace (incl. NBSP), borders, glyphs.
pub fn is_ignored(c: char) -> bool {
    c.is_whitespace() || c == '\u{a0}' || is_border(c) || GLYPHS.contains(&c)
}

/// Drops the decoration and the prompt tokens at the start of a line.
pub fn strip_line_start(line: &str) -> &str {
    let mut rest = line.trim_start_matches(is_ignored);
    for _ in 0..MAX_TOKENS {
        let after = PROMPT_TOKENS.iter().find_map(|token| {
            rest.strip_prefix(token)
                .filter(|after| after.is_empty() || after.starts_with(is_ignored))
        });
        match after {
            Some(after) => rest = after.trim_start_matches(is_ignored),
            None => break,
        }
    }
    rest
}

/// The normalized form of `text` (see the module docs).
pub fn normalize(text: &str) -> String {
    text.lines()
        .flat_map(|line| strip_line_start(line).chars())
        .filter(|c| !is_ignored(*c))
        .collect()
}

/// Screen rows normalized and joined, remembering which row each byte came
/// from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedRows {
    pub text: String,
    /// `row_of[i]` is the row of byte `i` of `text`.
    row_of: Vec<usize>,
}

impl NormalizedRows {
    pub fn new<'a>(rows: impl IntoIterator<Item = &'a str>) -> Self {
        let mut out = NormalizedRows::default();
        for (i, row) in rows.into_iter().enumerate() {
            for c in strip_line_start(row).chars().filter(|c| !is_ignored(*c)) {
                out.text.push(c);
                out.row_of.extend(std::iter::repeat_n(i, c.len_utf8()));
            }
        }
        out
    }

    /// The row of byte `i`.
    pub fn row(&self, i: usize) -> Option<usize> {
        self.row_of.get(i).copied()
    }

    /// How often `needle` occurs (non-overlapping); 0 for an empty needle.
    pub fn count(&self, needle: &str) -> usize {
        if needle.is_empty() {
            0
        } else {
            self.text.matches(needle).count()
        }
    }

    /// Rows spanned by the last occurrence of `needle`.
    pub fn last_rows(&self, needle: &str) -> Option<(usize, usize)> {
        if needle.is_empty() {
            return None;
        }
        let start = self.text.rfind(needle)?;
        Some((self.row(start)?, self.row(start + needle.len() - 1)?))
    }
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
