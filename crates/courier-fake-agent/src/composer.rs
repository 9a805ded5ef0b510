//! The input buffer and the rules that decide what Enter does with it.
//!
//! Real composers disagree about Enter: one needs a second Enter after a paste, one turns an Enter
//! that follows a paste closely into a newline, one drops it, a multi-line editor keeps text it
//! thinks unfinished. Each is a flag; they are decided here, in one place and in a fixed order, so
//! the app only acts on the outcome. Pure: time comes in as an argument.

use std::time::Instant;

use crate::config::Config;
pub use crate::config::Multiline;
use crate::render;

/// A piece of the input buffer: typed text, or one paste (maybe shown collapsed).
#[derive(Debug, Clone)]
struct Segment {
    text: String,
    collapsed: Option<String>,
}

/// What an Enter key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterAction {
    /// `--needs-second-enter`: taken, nothing happens (the next Enter submits).
    Swallowed,
    /// `--enter-drop-ms`: lost, nothing happens.
    Dropped,
    /// A newline was added to the input (`--enter-newline-ms`, `--multiline`).
    Newline,
    /// The input is to be submitted.
    Submit,
}

/// The text that leaves the input on a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Exactly what was typed and pasted (trailing blank lines trimmed).
    pub text: String,
    /// What the screen shows for it (collapsed pastes as their placeholders).
    pub shown: String,
}

#[derive(Debug, Default)]
pub struct Composer {
    segments: Vec<Segment>,
    collapsed_pastes: usize,
    swallow_enter: bool,
    /// When the last bracketed paste ended: the Enter windows count from here.
    paste_end: Option<Instant>,
}

impl Composer {
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The exact input text.
    pub fn text(&self) -> String {
        self.segments.iter().map(|s| s.text.as_str()).collect()
    }

    /// What the screen shows of the input (collapsed pastes as placeholders).
    pub fn shown(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.collapsed.as_deref().unwrap_or(&s.text))
            .collect()
    }

    /// A typed character (or a newline added by Enter).
    pub fn push_char(&mut self, c: char) {
        match self.segments.last_mut() {
            Some(s) if s.collapsed.is_none() => s.text.push(c),
            _ => self.segments.push(Segment {
                text: c.to_string(),
                collapsed: None,
            }),
        }
    }

    /// A complete bracketed paste that ended at `now`; returns what the screen shows for it (its
    /// text, or its placeholder with `--collapse-over`).
    pub fn paste(&mut self, cfg: &Config, text: String, now: Instant) -> String {
        let lines = render::line_count(&text);
        let collapsed = match cfg.collapse_over {
            Some(n) if lines > n => {
                self.collapsed_pastes += 1;
                Some(render::placeholder(self.collapsed_pastes, lines))
            }
            _ => None,
        };
        let shown = collapsed.clone().unwrap_or_else(|| text.clone());
        self.segments.push(Segment { text, collapsed });
        self.swallow_enter = cfg.needs_second_enter;
        self.paste_end = Some(now);
        shown
    }

    /// Removes the last character, or a whole collapsed paste; returns what disappeared from the
    /// shown text (`None` when the input was empty).
    pub fn backspace(&mut self) -> Option<String> {
        let last = self.segments.last_mut()?;
        if let Some(p) = last.collapsed.take() {
            self.segments.pop();
            return Some(p);
        }
        let c = last.text.pop();
        if last.text.is_empty() {
            self.segments.pop();
        }
        c.map(String::from)
    }

    /// Decides what an Enter key at `now` does, and adds the newline when that is the answer. The
    /// rules are checked in this order: a swallowed second Enter, the drop window, the newline
    /// window, the multi-line rule; otherwise Enter submits.
    pub fn enter(&mut self, cfg: &Config, now: Instant) -> EnterAction {
        if self.swallow_enter {
            self.swallow_enter = false;
            return EnterAction::Swallowed;
        }
        let since_paste = self.paste_end.map(|t| now.saturating_duration_since(t));
        let within = |window: Option<std::time::Duration>| matches!((since_paste, window), (Some(s), Some(w)) if s < w);
        if within(cfg.enter_drop) {
            return EnterAction::Dropped;
        }
        let newline = within(cfg.enter_newline)
            || match cfg.multiline {
                Some(Multiline::EscEnter) => true,
                Some(Multiline::BlankLine) => self.unfinished_block(),
                None => false,
            };
        if newline {
            self.push_char('\n');
            EnterAction::Newline
        } else {
            EnterAction::Submit
        }
    }

    /// Python's REPL rule: more than one line, and the last one not blank.
    fn unfinished_block(&self) -> bool {
        let text = self.text();
        let mut lines = text.split('\n');
        let last = lines.next_back().unwrap_or_default();
        lines.next().is_some() && !is_blank(last)
    }

    /// Empties the input; returns what is submitted, or `None` when nothing but blank lines was
    /// left (real composers send nothing then).
    pub fn take(&mut self) -> Option<Submission> {
        let text = self.text();
        let shown = self.shown();
        self.segments.clear();
        self.swallow_enter = false;
        let text = trim_trailing_blank_lines(&text);
        if text.is_empty() {
            return None;
        }
        Some(Submission {
            text: text.to_string(),
            shown: trim_trailing_blank_lines(&shown).to_string(),
        })
    }
}

fn is_blank(line: &str) -> bool {
    line.chars().all(|c| c == ' ' || c == '\t')
}

/// Drops trailing newlines and trailing blank (spaces-only) lines, as real composers do before
/// sending; spaces at the end of the last real line stay.
pub fn trim_trailing_blank_lines(s: &str) -> &str {
    let mut t = s;
    loop {
        let stripped = t.trim_end_matches('\n');
        match stripped.rfind('\n') {
            Some(i) if is_blank(&stripped[i + 1..]) => t = &stripped[..i],
            _ if is_blank(stripped) && stripped.len() < t.len() => return "",
            _ => return stripped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_trailing_newlines_and_blank_lines_only() {
        assert_eq!(trim_trailing_blank_lines("a\n  \n\n"), "a");
        assert_eq!(trim_trailing_blank_lines("a\nb\n"), "a\nb");
        assert_eq!(trim_trailing_blank_lines("a  "), "a  ");
        assert_eq!(trim_trailing_blank_lines("  "), "  ");
        assert_eq!(trim_trailing_blank_lines("\n\n"), "");
        assert_eq!(trim_trailing_blank_lines("\n  "), "");
        assert_eq!(trim_trailing_blank_lines(" \n"), "");
        assert_eq!(trim_trailing_blank_lines("\n a"), "\n a");
    }
}
