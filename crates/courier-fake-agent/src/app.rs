//! The fake agent's state machine: dialog, input, submissions, busy output, rendering.
//!
//! Pure except for the transcript file: time comes in as arguments and output is collected in a
//! string that the caller writes to the terminal. What Enter does with the input is decided in
//! `composer`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::busy_merge::{self, Turns};
use crate::composer::{Composer, EnterAction, Multiline, Submission};
pub use crate::config::{Config, Mode, Outcome};
use crate::input::{Event, Parser};
use crate::render::{self, BoxStyle};
use crate::transcript::Transcript;
use crate::validate::Validator;

/// The header line at the top of the tui screen.
pub const HEADER: &str = "✻ courier-fake-agent";
pub const DIALOG_QUESTION: &str = "Do you trust the files in this folder?";
const BUSY_TICK_TUI: Duration = Duration::from_millis(100);
const BUSY_TICK_LINE: Duration = Duration::from_millis(200);
/// A lone ESC followed by nothing for this long is the Escape key.
const ESC_TIMEOUT: Duration = Duration::from_millis(30);

/// A busy period after a submission.
#[derive(Debug, Clone, Copy)]
struct Busy {
    started: Instant,
    /// `None` with `--busy-forever`.
    until: Option<Instant>,
}

pub struct App {
    cfg: Config,
    rows: usize,
    cols: usize,
    render_at: Instant,
    rendered: bool,
    in_dialog: bool,
    parser: Parser,
    last_input: Instant,
    composer: Composer,
    submitted: usize,
    history: Vec<String>,
    busy: Option<Busy>,
    next_tick: Instant,
    pending_replies: usize,
    /// `--busy-queue`: inputs entered while busy, submitted one per busy period's end.
    queue: VecDeque<Submission>,
    /// Line mode: events that arrived while busy, replayed when the prompt is back.
    typeahead: Vec<Event>,
    /// Line mode: the prompt and the input's echo are the last thing on the screen, so output
    /// that arrives meanwhile must erase them and draw them again below itself.
    prompt_live: bool,
    transcript: Option<Transcript>,
    /// Prompts submitted since the hook last ran (with `--hook-command`).
    hook_prompts: Vec<String>,
    /// `--reject-unparsable`: the check an Enter must pass.
    validator: Validator,
    /// `--merge-while-busy`: the turn running (or last run).
    turns: Turns,
    /// `--remote`: the app server's side of things.
    remote: Option<remote_view::RemoteView>,
    out: String,
}

impl App {
    pub fn new(
        cfg: Config,
        transcript: Option<Transcript>,
        size: (usize, usize),
        now: Instant,
    ) -> Self {
        Self {
            validator: Validator::new(cfg.reject_unparsable),
            render_at: now + cfg.first_render_delay,
            in_dialog: cfg.trust_dialog,
            cfg,
            rows: size.0,
            cols: size.1,
            rendered: false,
            parser: Parser::new(),
            last_input: now,
            composer: Composer::default(),
            submitted: 0,
            history: Vec::new(),
            busy: None,
            next_tick: now,
            pending_replies: 0,
            queue: VecDeque::new(),
            typeahead: Vec::new(),
            prompt_live: false,
            transcript,
            hook_prompts: Vec::new(),
            turns: Turns::default(),
            remote: None,
            out: String::new(),
        }
    }

    pub fn hook_command(&self) -> Option<&str> {
        self.cfg.hook_command.as_deref()
    }

    /// Prompts the hook has yet to see.
    pub fn take_hook_prompts(&mut self) -> Vec<String> {
        std::mem::take(&mut self.hook_prompts)
    }

    /// What a hook added to the conversation: recorded like a submission
    /// (so tests count it) and shown in the history.
    pub fn add_context(&mut self, context: &str) {
        self.record(context);
        let first = context.lines().next().unwrap_or_default();
        let shown = format!("hook: {first}");
        if self.cfg.mode == Mode::Line {
            self.line_print(&format!("{shown}\r\n"));
        }
        self.history.push(shown);
    }

    /// Output produced since the last call.
    pub fn take_output(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    /// What to write when leaving (normal exit or signal).
    pub fn goodbye(&self) -> &'static str {
        match (self.rendered, self.cfg.mode) {
            (false, _) => "",
            (true, Mode::Tui) => "\x1b[?2004l\x1b[?1049l",
            (true, Mode::Line) => "\x1b[?2004l\r\n",
        }
    }

    /// When the loop must wake up even without input.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        let mut consider = |t: Instant| d = Some(d.map_or(t, |x: Instant| x.min(t)));
        if !self.rendered {
            consider(self.render_at);
        }
        if let Some(busy) = self.busy {
            consider(busy.until.map_or(self.next_tick, |u| u.min(self.next_tick)));
        }
        if self.parser.pending_esc() {
            consider(self.last_input + ESC_TIMEOUT);
        }
        d
    }

    pub fn resize(&mut self, size: (usize, usize)) {
        (self.rows, self.cols) = size;
        if self.rendered && self.cfg.mode == Mode::Tui {
            self.redraw(Instant::now());
        }
    }

    /// Timers: first render, busy output, a lone Escape.
    pub fn on_timer(&mut self, now: Instant) -> Outcome {
        if !self.rendered {
            if now < self.render_at {
                return Outcome::Continue;
            }
            self.first_render(now);
        }
        if let Some(busy) = self.busy {
            if busy.until.is_some_and(|u| now >= u) {
                self.finish_busy(now);
            } else if now >= self.next_tick {
                self.busy_tick(now);
            }
        }
        self.flush_esc(now)
    }

    /// A lone ESC that waited out its timeout is the Escape key.
    fn flush_esc(&mut self, now: Instant) -> Outcome {
        if self.parser.pending_esc() && now >= self.last_input + ESC_TIMEOUT {
            let events = self.parser.flush();
            return self.handle_events(events, now);
        }
        Outcome::Continue
    }

    /// Bytes read from the terminal.
    pub fn on_bytes(&mut self, bytes: &[u8], now: Instant) -> Outcome {
        if !self.rendered && now >= self.render_at {
            self.first_render(now);
        }
        if !self.rendered || self.cfg.black_hole {
            return Outcome::Continue; // lost before the first render / black hole
        }
        // An ESC whose timeout passed before these bytes came is Escape, not Alt+<these bytes>,
        // even when the timer did not run in between.
        if let o @ Outcome::Exit(_) = self.flush_esc(now) {
            return o;
        }
        self.last_input = now;
        let events = self.parser.feed(bytes);
        self.handle_events(events, now)
    }

    fn first_render(&mut self, now: Instant) {
        self.rendered = true;
        if self.cfg.mode == Mode::Tui {
            self.out.push_str("\x1b[?1049h");
        }
        if self.cfg.bracketed_paste {
            self.out.push_str("\x1b[?2004h");
        }
        if self.in_dialog || self.cfg.mode == Mode::Tui {
            self.redraw(now);
        } else {
            self.show_prompt();
        }
    }

    fn prompt_prefix(&self) -> String {
        let sep = if self.cfg.nbsp { '\u{a0}' } else { ' ' };
        format!("{}{}", self.cfg.prompt, sep)
    }

    /// Line mode's continuation prefix (none unless `--continuation` or `--multiline`).
    fn line_continuation(&self) -> &str {
        self.cfg.continuation.as_deref().unwrap_or_default()
    }

    /// Line mode: the prompt and the current input, on a fresh line.
    fn show_prompt(&mut self) {
        let echo = render::line_echo(
            &self.prompt_prefix(),
            self.line_continuation(),
            &self.composer.shown(),
        );
        self.out.push_str(&echo);
        self.prompt_live = true;
    }

    /// Line mode: prints `s` (whole lines) where the prompt is, and the prompt and input again
    /// below it, so that the echo still shows exactly what is in the input.
    fn line_print(&mut self, s: &str) {
        if !self.prompt_live {
            self.out.push_str(s);
            return;
        }
        let erase = render::line_erase(
            &self.prompt_prefix(),
            self.line_continuation(),
            &self.composer.shown(),
            self.cols,
        );
        self.out.push_str(&erase);
        self.out.push_str(s);
        self.show_prompt();
    }

    fn dialog_lines() -> Vec<String> {
        vec![
            DIALOG_QUESTION.to_string(),
            String::new(),
            "❯ 1. Yes, proceed".to_string(),
            "  2. No, exit".to_string(),
        ]
    }

    /// Full-screen redraw (tui), or the dialog (both modes).
    fn redraw(&mut self, now: Instant) {
        if self.in_dialog {
            match self.cfg.mode {
                Mode::Tui => {
                    let f = render::dialog_frame(&Self::dialog_lines(), self.rows, self.cols);
                    self.out.push_str(&f);
                }
                Mode::Line => self
                    .out
                    .push_str(&(Self::dialog_lines().join("\r\n") + "\r\n")),
            }
            return;
        }
        let width = self.cfg.width.unwrap_or(self.cols).min(self.cols);
        let style = BoxStyle {
            prompt: self.cfg.prompt.clone(),
            sep: if self.cfg.nbsp { '\u{a0}' } else { ' ' },
            border: self.cfg.border,
            width,
            continuation: self.cfg.continuation.clone(),
        };
        let mut bx = render::render_box(&self.composer.shown(), &style);
        // Under the input it kept; the cursor stays in the text.
        bx.lines
            .extend(self.validator.error_line().map(String::from));
        let mut lines = self.history.clone();
        if let Some(busy) = self.busy {
            if self.remote_live() {
                lines.extend(self.remote_busy_lines(busy.started, now));
            } else if self.cfg.merge_while_busy {
                lines.push(busy_merge::status_line(busy.started, now));
            } else {
                let secs = now.saturating_duration_since(busy.started).as_secs_f64();
                lines.push(format!("thinking… {secs:.1}s"));
            }
        }
        // Queued inputs sit right above the box, below everything else.
        lines.extend(self.queue.iter().map(|q| queued_line(&q.shown)));
        let header = [HEADER.to_string(), String::new()];
        self.out
            .push_str(&render::frame(&header, &lines, &bx, self.rows, self.cols));
    }

    fn handle_events(&mut self, events: Vec<Event>, now: Instant) -> Outcome {
        for ev in events {
            let outcome = self.handle(ev, now);
            if outcome != Outcome::Continue {
                return outcome;
            }
        }
        if self.cfg.mode == Mode::Tui {
            self.redraw(now);
        }
        Outcome::Continue
    }

    fn handle(&mut self, ev: Event, now: Instant) -> Outcome {
        if self.in_dialog {
            return match ev {
                Event::Char('1') | Event::Enter => {
                    self.in_dialog = false;
                    if self.cfg.mode == Mode::Line {
                        self.show_prompt();
                    }
                    Outcome::Continue
                }
                Event::Char('2') | Event::Esc => Outcome::Exit(2),
                _ => Outcome::Continue,
            };
        }
        let starts_message = match &ev {
            Event::PasteStart => true,
            Event::Char(_) => self.composer.is_empty(),
            _ => false,
        };
        if starts_message && self.cfg.crash_after == Some(self.submitted + 1) {
            return Outcome::Exit(101);
        }
        if ev == Event::CtrlD && self.composer.is_empty() && self.typeahead.is_empty() {
            return Outcome::Exit(0);
        }
        // Without a queue, line mode shows no prompt while busy: keys wait for it.
        if self.cfg.mode == Mode::Line && self.busy.is_some() && !self.cfg.busy_queue {
            self.typeahead.push(ev);
            return Outcome::Continue;
        }
        let line = self.cfg.mode == Mode::Line;
        if matches!(ev, Event::Char(_) | Event::Backspace | Event::Paste(_)) {
            self.validator.edited();
        }
        match ev {
            Event::Char(c) => {
                self.composer.push_char(c);
                if line {
                    self.out.push(c);
                }
            }
            Event::Backspace => self.backspace(),
            Event::Esc => self.remote_escape(),
            Event::CtrlD | Event::PasteStart => {}
            Event::Paste(text) => {
                let shown = self.composer.paste(&self.cfg, text, now);
                if line {
                    let echo = render::line_echo("", self.line_continuation(), &shown);
                    self.out.push_str(&echo);
                }
            }
            Event::Enter => match self.composer.enter(&self.cfg, now) {
                EnterAction::Swallowed | EnterAction::Dropped => {}
                EnterAction::Newline => {
                    if line {
                        let echo = render::line_echo("", self.line_continuation(), "\n");
                        self.out.push_str(&echo);
                    }
                }
                EnterAction::Submit if !self.validator.accepts(&self.composer.text()) => {}
                EnterAction::Submit => self.enter(now),
            },
            Event::AltEnter => {
                if self.cfg.multiline == Some(Multiline::EscEnter) {
                    self.enter(now);
                }
            }
        }
        Outcome::Continue
    }

    fn backspace(&mut self) {
        let before = self.composer.shown();
        let Some(erased) = self.composer.backspace() else {
            return;
        };
        if self.cfg.mode != Mode::Line {
            return;
        }
        if erased.contains('\n') {
            // The cursor has to go back up a row: erase the whole echo and draw it again.
            let erase = render::line_erase(
                &self.prompt_prefix(),
                self.line_continuation(),
                &before,
                self.cols,
            );
            self.out.push_str(&erase);
            self.show_prompt();
        } else {
            self.out
                .push_str(&"\x08 \x08".repeat(erased.chars().count()));
        }
    }

    /// An Enter that submits: the input leaves the box now, or joins the queue while busy.
    fn enter(&mut self, now: Instant) {
        let line = self.cfg.mode == Mode::Line;
        let taken = self.composer.take();
        if line {
            // The echo stays on the screen above what comes next.
            self.out.push_str("\r\n");
            self.prompt_live = false;
        }
        let Some(sub) = taken else {
            if line {
                self.show_prompt();
            }
            return;
        };
        let Some(sub) = self.remote_enter(sub) else {
            return; // queued for the app server
        };
        if self.cfg.merge_while_busy && self.busy.is_some() {
            self.merge(&sub);
            return;
        }
        if self.cfg.busy_queue && self.busy.is_some() {
            if line {
                self.out.push_str(&queued_line(&sub.shown));
                self.out.push_str("\r\n");
                self.show_prompt();
            }
            self.queue.push_back(sub);
            return;
        }
        self.submit(sub, now);
    }

    /// `--merge-while-busy`: an input entered while a turn runs joins it
    /// (shown as `you: …` like any other, no new busy period).
    fn merge(&mut self, sub: &Submission) {
        self.record_as(&sub.text, true);
        let first = sub.shown.split('\n').next().unwrap_or_default();
        self.history.push(format!("you: {first}"));
    }

    /// Appends one submission to the transcript (flushed and fsync'd before anything shows it).
    fn record(&mut self, text: &str) {
        self.record_as(text, false);
    }

    fn record_as(&mut self, text: &str, merged: bool) {
        self.submitted += 1;
        let (n, turns) = (self.submitted, self.turns);
        let merge_while_busy = self.cfg.merge_while_busy;
        if let Some(t) = &mut self.transcript
            && let Err(e) = if merge_while_busy {
                t.record_value(&busy_merge::entry(n, text, turns.current(), merged))
            } else {
                t.record(n, text)
            }
        {
            eprintln!(
                "courier-fake-agent: cannot write transcript {}: {e}",
                t.path().display()
            );
        }
    }

    /// Records a submission, shows it as `you: …`, and starts the busy period.
    fn submit(&mut self, sub: Submission, now: Instant) {
        if self.remote_submit(&sub, now) {
            return;
        }
        self.turns.start();
        self.record(&sub.text);
        if self.cfg.hook_command.is_some() {
            self.hook_prompts.push(sub.text.clone());
        }
        let you: Vec<String> = sub
            .shown
            .split('\n')
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    format!("you: {l}")
                } else {
                    format!("     {l}")
                }
            })
            .collect();
        if self.cfg.mode == Mode::Line {
            self.line_print(&(you.join("\r\n") + "\r\n"));
        }
        self.history.extend(you);
        self.pending_replies += 1;
        let until = if self.cfg.busy_forever {
            None
        } else if self.cfg.busy.is_zero() {
            self.finish_busy(now);
            return;
        } else {
            Some(now + self.cfg.busy)
        };
        self.busy = Some(Busy {
            started: now,
            until,
        });
        self.next_tick = now;
        self.busy_tick(now);
        if self.cfg.mode == Mode::Line && self.cfg.busy_queue && !self.prompt_live {
            // With a queue the prompt stays usable while busy.
            self.show_prompt();
        }
    }

    fn busy_tick(&mut self, now: Instant) {
        match self.cfg.mode {
            Mode::Line => {
                self.line_print("thinking…\r\n");
                self.next_tick = now + BUSY_TICK_LINE;
            }
            Mode::Tui => {
                self.redraw(now);
                self.next_tick = now
                    + if self.cfg.merge_while_busy {
                        busy_merge::STATUS_REDRAW
                    } else {
                        BUSY_TICK_TUI
                    };
            }
        }
    }

    fn finish_busy(&mut self, now: Instant) {
        self.busy = None;
        let replies = std::mem::take(&mut self.pending_replies);
        if let Some(reply) = self.cfg.reply.clone() {
            for _ in 0..replies {
                let l = format!("assistant: {reply}");
                if self.cfg.mode == Mode::Line {
                    self.line_print(&format!("{l}\r\n"));
                }
                self.history.push(l);
            }
        }
        if let Some(next) = self.queue.pop_front() {
            // Starts the next busy period (and draws it).
            self.submit(next, now);
            return;
        }
        match self.cfg.mode {
            Mode::Tui => self.redraw(now),
            Mode::Line => {
                if !self.prompt_live {
                    self.show_prompt();
                }
                let typeahead = std::mem::take(&mut self.typeahead);
                for ev in typeahead {
                    // Crashes were checked on arrival; a replayed Ctrl-D is ignored.
                    let _ = self.handle(ev, now);
                }
            }
        }
    }
}

/// The row that shows a queued input: its first line.
fn queued_line(shown: &str) -> String {
    format!("queued: {}", shown.split('\n').next().unwrap_or_default())
}

#[path = "app_remote.rs"]
mod remote_view;

#[cfg(test)]
#[path = "app_tests.rs"]
pub(crate) mod tests;
