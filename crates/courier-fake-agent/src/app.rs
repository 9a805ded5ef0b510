//! The fake agent's state machine: dialog, input buffer, submissions, busy output, rendering.
//!
//! Pure except for the transcript file: time comes in as arguments and output is collected in a
//! string that the caller writes to the terminal.

use std::time::{Duration, Instant};

pub use crate::config::{Config, Mode, Outcome};
use crate::input::{Event, Parser};
use crate::render::{self, BoxStyle};
use crate::transcript::Transcript;

/// The header line at the top of the tui screen.
pub const HEADER: &str = "✻ courier-fake-agent";
pub const DIALOG_QUESTION: &str = "Do you trust the files in this folder?";
const BUSY_TICK_TUI: Duration = Duration::from_millis(100);
const BUSY_TICK_LINE: Duration = Duration::from_millis(200);
/// A lone ESC followed by nothing for this long is the Escape key.
const ESC_TIMEOUT: Duration = Duration::from_millis(30);

/// A piece of the input buffer: typed text, or one paste (maybe shown collapsed).
#[derive(Debug, Clone)]
struct Segment {
    text: String,
    collapsed: Option<String>,
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
    segments: Vec<Segment>,
    submitted: usize,
    collapsed_pastes: usize,
    swallow_enter: bool,
    history: Vec<String>,
    busy_until: Option<Instant>,
    busy_started: Instant,
    next_tick: Instant,
    pending_replies: usize,
    /// Line mode: events that arrived while busy, replayed when the prompt is back.
    typeahead: Vec<Event>,
    transcript: Option<Transcript>,
    /// Prompts submitted since the hook last ran (with `--hook-command`).
    hook_prompts: Vec<String>,
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
            render_at: now + cfg.first_render_delay,
            in_dialog: cfg.trust_dialog,
            cfg,
            rows: size.0,
            cols: size.1,
            rendered: false,
            parser: Parser::new(),
            last_input: now,
            segments: Vec::new(),
            submitted: 0,
            collapsed_pastes: 0,
            swallow_enter: false,
            history: Vec::new(),
            busy_until: None,
            busy_started: now,
            next_tick: now,
            pending_replies: 0,
            typeahead: Vec::new(),
            transcript,
            hook_prompts: Vec::new(),
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
        self.submitted += 1;
        if let Some(t) = &mut self.transcript
            && let Err(e) = t.record(self.submitted, context)
        {
            eprintln!(
                "courier-fake-agent: cannot write transcript {}: {e}",
                t.path().display()
            );
        }
        let first = context.lines().next().unwrap_or_default();
        let shown = format!("hook: {first}");
        if self.cfg.mode == Mode::Line {
            self.out.push_str(&shown);
            self.out.push_str("\r\n");
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
        if let Some(until) = self.busy_until {
            consider(self.next_tick.min(until));
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
        if let Some(until) = self.busy_until {
            if now >= until {
                self.finish_busy(now);
            } else if now >= self.next_tick {
                self.busy_tick(now);
            }
        }
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
            self.out.push_str(&self.prompt_prefix());
        }
    }

    fn prompt_prefix(&self) -> String {
        let sep = if self.cfg.nbsp { '\u{a0}' } else { ' ' };
        format!("{}{}", self.cfg.prompt, sep)
    }

    fn dialog_lines() -> Vec<String> {
        vec![
            DIALOG_QUESTION.to_string(),
            String::new(),
            "❯ 1. Yes, proceed".to_string(),
            "  2. No, exit".to_string(),
        ]
    }

    fn shown(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.collapsed.as_deref().unwrap_or(&s.text))
            .collect()
    }

    fn text(&self) -> String {
        self.segments.iter().map(|s| s.text.as_str()).collect()
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
        };
        let bx = render::render_box(&self.shown(), &style);
        let mut lines = self.history.clone();
        if self.busy_until.is_some() {
            let secs = now
                .saturating_duration_since(self.busy_started)
                .as_secs_f64();
            lines.push(format!("thinking… {secs:.1}s"));
        }
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
                        self.out.push_str(&self.prompt_prefix());
                    }
                    Outcome::Continue
                }
                Event::Char('2') | Event::Esc => Outcome::Exit(2),
                _ => Outcome::Continue,
            };
        }
        let starts_message = match &ev {
            Event::PasteStart => true,
            Event::Char(_) => self.segments.is_empty(),
            _ => false,
        };
        if starts_message && self.cfg.crash_after == Some(self.submitted + 1) {
            return Outcome::Exit(101);
        }
        if ev == Event::CtrlD && self.segments.is_empty() && self.typeahead.is_empty() {
            return Outcome::Exit(0);
        }
        if self.cfg.mode == Mode::Line && self.busy_until.is_some() {
            self.typeahead.push(ev);
            return Outcome::Continue;
        }
        let line = self.cfg.mode == Mode::Line;
        match ev {
            Event::Char(c) => {
                match self.segments.last_mut() {
                    Some(s) if s.collapsed.is_none() => s.text.push(c),
                    _ => self.segments.push(Segment {
                        text: c.to_string(),
                        collapsed: None,
                    }),
                }
                if line {
                    self.out.push(c);
                }
            }
            Event::Backspace => self.backspace(),
            Event::CtrlD | Event::Esc | Event::PasteStart => {}
            Event::Paste(text) => self.paste(text),
            Event::Enter => self.enter(now),
        }
        Outcome::Continue
    }

    fn backspace(&mut self) {
        let Some(last) = self.segments.last_mut() else {
            return;
        };
        let erased = if let Some(p) = &last.collapsed {
            let n = p.chars().count();
            self.segments.pop();
            n
        } else {
            let c = last.text.pop();
            if last.text.is_empty() {
                self.segments.pop();
            }
            usize::from(c.is_some_and(|c| c != '\n'))
        };
        if self.cfg.mode == Mode::Line {
            self.out.push_str(&"\x08 \x08".repeat(erased));
        }
    }

    fn paste(&mut self, text: String) {
        let lines = render::line_count(&text);
        let collapsed = match self.cfg.collapse_over {
            Some(n) if lines > n => {
                self.collapsed_pastes += 1;
                Some(render::placeholder(self.collapsed_pastes, lines))
            }
            _ => None,
        };
        if self.cfg.mode == Mode::Line {
            let echo = collapsed.as_deref().unwrap_or(&text).replace('\n', "\r\n");
            self.out.push_str(&echo);
        }
        self.segments.push(Segment { text, collapsed });
        if self.cfg.needs_second_enter {
            self.swallow_enter = true;
        }
    }

    fn enter(&mut self, now: Instant) {
        if self.swallow_enter {
            self.swallow_enter = false;
            return;
        }
        let line = self.cfg.mode == Mode::Line;
        if self.segments.is_empty() {
            if line {
                self.out.push_str("\r\n");
                self.out.push_str(&self.prompt_prefix());
            }
            return;
        }
        let text = self.text();
        let shown = self.shown();
        self.submitted += 1;
        if let Some(t) = &mut self.transcript
            && let Err(e) = t.record(self.submitted, &text)
        {
            eprintln!(
                "courier-fake-agent: cannot write transcript {}: {e}",
                t.path().display()
            );
        }
        if self.cfg.hook_command.is_some() {
            self.hook_prompts.push(text.clone());
        }
        self.segments.clear();
        let you: Vec<String> = shown
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
        if line {
            self.out.push_str("\r\n");
            self.out.push_str(&you.join("\r\n"));
            self.out.push_str("\r\n");
        }
        self.history.extend(you);
        self.pending_replies += 1;
        if self.cfg.busy.is_zero() {
            self.finish_busy(now);
        } else {
            self.busy_until = Some(now + self.cfg.busy);
            self.busy_started = now;
            self.next_tick = now;
            self.busy_tick(now);
        }
    }

    fn busy_tick(&mut self, now: Instant) {
        match self.cfg.mode {
            Mode::Line => {
                self.out.push_str("thinking…\r\n");
                self.next_tick = now + BUSY_TICK_LINE;
            }
            Mode::Tui => {
                self.redraw(now);
                self.next_tick = now + BUSY_TICK_TUI;
            }
        }
    }

    fn finish_busy(&mut self, now: Instant) {
        self.busy_until = None;
        let replies = std::mem::take(&mut self.pending_replies);
        if let Some(reply) = self.cfg.reply.clone() {
            for _ in 0..replies {
                let l = format!("assistant: {reply}");
                if self.cfg.mode == Mode::Line {
                    self.out.push_str(&l);
                    self.out.push_str("\r\n");
                }
                self.history.push(l);
            }
        }
        match self.cfg.mode {
            Mode::Tui => self.redraw(now),
            Mode::Line => {
                self.out.push_str(&self.prompt_prefix());
                let typeahead = std::mem::take(&mut self.typeahead);
                for ev in typeahead {
                    // Crashes were checked on arrival; a replayed Ctrl-D is ignored.
                    let _ = self.handle(ev, now);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
