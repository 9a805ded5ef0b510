//! What the flags decide, and what the main loop does next.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Tui,
    Line,
}

/// `--multiline`: when Enter adds a line instead of submitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multiline {
    /// Python's REPL: Enter on more than one line whose last line is not blank adds a line.
    BlankLine,
    /// Enter always adds a line; Esc+Enter (Alt+Enter) submits.
    EscEnter,
}

/// Everything the flags decide.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub prompt: String,
    pub nbsp: bool,
    pub border: bool,
    pub width: Option<usize>,
    pub bracketed_paste: bool,
    pub first_render_delay: Duration,
    pub collapse_over: Option<usize>,
    pub needs_second_enter: bool,
    /// An Enter less than this long after the end of a paste becomes a newline.
    pub enter_newline: Option<Duration>,
    /// An Enter less than this long after the end of a paste is lost.
    pub enter_drop: Option<Duration>,
    pub multiline: Option<Multiline>,
    /// Drawn before each continued line of the input; `None`: the prompt's width in spaces (tui),
    /// nothing (line mode).
    pub continuation: Option<String>,
    pub trust_dialog: bool,
    pub black_hole: bool,
    pub crash_after: Option<usize>,
    pub busy: Duration,
    /// While busy, Enter queues the input; each busy period's end submits the next queued item.
    pub busy_queue: bool,
    /// The first submission starts a busy period that never ends.
    pub busy_forever: bool,
    /// While busy, Enter merges the input into the running turn, and the
    /// busy line is a slow "esc to interrupt" status line (`busy_merge`).
    pub merge_while_busy: bool,
    pub reply: Option<String>,
    /// A command run like a UserPromptSubmit hook on every submission.
    pub hook_command: Option<String>,
    /// Enter keeps input that does not parse, with an error line under it (tui).
    pub reject_unparsable: bool,
}

/// What the main loop should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    Exit(i32),
}
