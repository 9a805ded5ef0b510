//! What the flags decide, and what the main loop does next.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Tui,
    Line,
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
    pub trust_dialog: bool,
    pub black_hole: bool,
    pub crash_after: Option<usize>,
    pub busy: Duration,
    pub reply: Option<String>,
    /// A command run like a UserPromptSubmit hook on every submission.
    pub hook_command: Option<String>,
}

/// What the main loop should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    Exit(i32),
}
