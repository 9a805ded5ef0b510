use super::*;

/// The plainest configuration: a bordered tui (or line program) with no quirk.
pub(crate) fn cfg(mode: Mode) -> Config {
    Config {
        mode,
        prompt: ">".into(),
        nbsp: false,
        border: true,
        width: None,
        bracketed_paste: true,
        first_render_delay: Duration::ZERO,
        collapse_over: None,
        needs_second_enter: false,
        enter_newline: None,
        enter_drop: None,
        multiline: None,
        continuation: None,
        trust_dialog: false,
        black_hole: false,
        crash_after: None,
        busy: Duration::ZERO,
        busy_queue: false,
        busy_forever: false,
        merge_while_busy: false,
        reply: None,
        hook_command: None,
        reject_unparsable: false,
    }
}

fn start(cfg: Config) -> (App, Instant) {
    let now = Instant::now();
    let mut app = App::new(cfg, None, (24, 40), now);
    assert_eq!(app.on_timer(now), Outcome::Continue);
    (app, now)
}

#[test]
fn tui_paste_enter_moves_text_to_history() {
    let (mut app, now) = start(cfg(Mode::Tui));
    let first = app.take_output();
    assert!(first.starts_with("\x1b[?1049h\x1b[?2004h"));
    app.on_bytes(b"\x1b[200~hello\nworld\x1b[201~", now);
    assert!(app.take_output().contains("│ > hello"));
    app.on_bytes(b"\r", now);
    assert_eq!(app.history, vec!["you: hello", "     world"]);
    assert!(app.composer.is_empty());
}

#[test]
fn collapsed_placeholder_shown_and_full_text_submitted() {
    let mut c = cfg(Mode::Tui);
    c.collapse_over = Some(2);
    let (mut app, now) = start(c);
    app.on_bytes(b"\x1b[200~a\nb\x1b[201~", now); // 2 lines: not collapsed
    app.on_bytes(b"\x1b[200~1\n2\n3\x1b[201~", now);
    let out = app.take_output();
    assert!(out.contains("[Pasted text #1 +3 lines]"), "{out:?}");
    assert_eq!(app.composer.text(), "a\nb1\n2\n3");
    app.on_bytes(b"\x7f", now); // backspace removes the whole collapsed paste
    assert_eq!(app.composer.text(), "a\nb");
    app.on_bytes(b"\x1b[200~x\ny\nz\nw\x1b[201~\r", now);
    assert_eq!(
        app.history.last().map(String::as_str),
        Some("     b[Pasted text #2 +4 lines]")
    );
}

#[test]
fn second_enter_needed_after_paste() {
    let mut c = cfg(Mode::Tui);
    c.needs_second_enter = true;
    let (mut app, now) = start(c);
    app.on_bytes(b"\x1b[200~hi\x1b[201~\r", now);
    assert!(app.history.is_empty());
    app.on_bytes(b"\r", now);
    assert_eq!(app.history, vec!["you: hi"]);
}

#[test]
fn input_before_first_render_is_lost() {
    let mut c = cfg(Mode::Tui);
    c.first_render_delay = Duration::from_millis(500);
    let now = Instant::now();
    let mut app = App::new(c, None, (24, 40), now);
    app.on_timer(now);
    assert_eq!(app.take_output(), "");
    app.on_bytes(b"lost", now + Duration::from_millis(100));
    assert_eq!(app.next_deadline(), Some(now + Duration::from_millis(500)));
    app.on_timer(now + Duration::from_millis(500));
    assert!(app.take_output().contains("\x1b[?1049h"));
    assert!(app.composer.is_empty());
    app.on_bytes(b"kept", now + Duration::from_millis(600));
    assert_eq!(app.composer.text(), "kept");
}

#[test]
fn crash_after_second_message_starts() {
    let mut c = cfg(Mode::Tui);
    c.crash_after = Some(2);
    let (mut app, now) = start(c);
    assert_eq!(app.on_bytes(b"one\r", now), Outcome::Continue);
    assert_eq!(app.on_bytes(b"t", now), Outcome::Exit(101));
    let mut c = cfg(Mode::Tui);
    c.crash_after = Some(1);
    let (mut app, now) = start(c);
    assert_eq!(app.on_bytes(b"\x1b[200~", now), Outcome::Exit(101));
}

#[test]
fn trust_dialog_accept_refuse_ignore() {
    let mut c = cfg(Mode::Tui);
    c.trust_dialog = true;
    let (mut app, now) = start(c.clone());
    assert!(app.take_output().contains(DIALOG_QUESTION));
    assert_eq!(app.on_bytes(b"x", now), Outcome::Continue);
    assert!(app.in_dialog);
    app.on_bytes(b"\r", now);
    assert!(!app.in_dialog);
    let (mut app, now) = start(c.clone());
    assert_eq!(app.on_bytes(b"2", now), Outcome::Exit(2));
    let (mut app, now) = start(c);
    assert_eq!(app.on_bytes(b"\x1b", now), Outcome::Continue);
    assert_eq!(
        app.on_timer(now + Duration::from_millis(40)),
        Outcome::Exit(2)
    );
}

#[test]
fn line_mode_echo_paste_submit_reply_busy() {
    let mut c = cfg(Mode::Line);
    c.reply = Some("ok".into());
    c.busy = Duration::from_millis(300);
    c.nbsp = true;
    let (mut app, now) = start(c);
    assert_eq!(app.take_output(), "\x1b[?2004h>\u{a0}");
    app.on_bytes(b"ab\x7f\x1b[200~x\ny\x1b[201~", now);
    assert_eq!(app.take_output(), "ab\x08 \x08x\r\ny");
    app.on_bytes(b"\r", now);
    assert_eq!(app.take_output(), "\r\nyou: ax\r\n     y\r\nthinking…\r\n");
    app.on_bytes(b"q", now); // typeahead while busy
    assert_eq!(app.take_output(), "");
    app.on_timer(now + Duration::from_millis(300));
    assert_eq!(app.take_output(), "assistant: ok\r\n>\u{a0}q");
}

#[test]
fn ctrl_d_exits_only_on_empty_input_and_black_hole_ignores_all() {
    let (mut app, now) = start(cfg(Mode::Tui));
    app.on_bytes(b"a", now);
    assert_eq!(app.on_bytes(b"\x04", now), Outcome::Continue);
    app.on_bytes(b"\x7f", now);
    assert_eq!(app.on_bytes(b"\x04", now), Outcome::Exit(0));
    let mut c = cfg(Mode::Tui);
    c.black_hole = true;
    let (mut app, now) = start(c);
    app.take_output();
    assert_eq!(app.on_bytes(b"hello\r\x04", now), Outcome::Continue);
    assert_eq!(app.take_output(), "");
}

/// An app with a real transcript file and a vt100 screen fed with everything it writes.
struct Harness {
    app: App,
    t0: Instant,
    screen: vt100::Parser,
    transcript: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new(cfg: Config) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.jsonl");
        let t = Transcript::open(&path).expect("transcript");
        let t0 = Instant::now();
        let mut app = App::new(cfg, Some(t), (24, 40), t0);
        assert_eq!(app.on_timer(t0), Outcome::Continue);
        let mut h = Harness {
            app,
            t0,
            screen: vt100::Parser::new(
                std::num::NonZeroU16::new(24).expect("24 rows"),
                std::num::NonZeroU16::new(40).expect("40 columns"),
                0,
            ),
            transcript: path,
            _dir: dir,
        };
        h.pump();
        h
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn pump(&mut self) {
        let out = self.app.take_output();
        self.screen.process(out.as_bytes());
    }

    /// Bytes read `ms` after the start.
    fn bytes(&mut self, b: &[u8], ms: u64) -> Outcome {
        let o = self.app.on_bytes(b, self.at(ms));
        self.pump();
        o
    }

    fn timer(&mut self, ms: u64) {
        self.app.on_timer(self.at(ms));
        self.pump();
    }

    fn screen(&self) -> String {
        self.screen.screen().contents()
    }

    fn cursor(&self) -> (u16, u16) {
        self.screen.screen().cursor_position()
    }

    /// The texts recorded in the transcript, in order.
    fn submissions(&self) -> Vec<String> {
        std::fs::read_to_string(&self.transcript)
            .expect("read transcript")
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json line");
                v["text"].as_str().expect("text").to_string()
            })
            .collect()
    }

    /// The screen's non-empty rows, right-trimmed.
    fn rows(&self) -> Vec<String> {
        self.screen()
            .lines()
            .map(|l| l.trim_end().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }
}

fn tui() -> Config {
    let mut c = cfg(Mode::Tui);
    c.border = false;
    c
}

#[test]
fn enter_within_the_newline_window_adds_a_row_and_after_it_submits() {
    let mut c = tui();
    c.enter_newline = Some(Duration::from_millis(300));
    let mut h = Harness::new(c);
    h.bytes(b"\x1b[200~hello\x1b[201~", 1000);
    h.bytes(b"\r", 1000 + 299);
    assert_eq!(h.app.composer.text(), "hello\n");
    assert!(h.submissions().is_empty());
    // The text stays, a new empty continued row is added and the cursor is on it.
    assert_eq!(h.rows(), ["✻ courier-fake-agent", "> hello"]);
    assert_eq!(h.cursor(), (23, 2));
    h.bytes(b"\r", 1000 + 299 + 301);
    // The trailing newline the first Enter added is not sent.
    assert_eq!(h.submissions(), ["hello"]);
    assert_eq!(h.rows(), ["✻ courier-fake-agent", "you: hello", ">"]);
    assert_eq!(h.cursor(), (23, 2));

    // Out of the window at once: a plain submission.
    let mut c = tui();
    c.enter_newline = Some(Duration::from_millis(300));
    let mut h = Harness::new(c);
    h.bytes(b"\x1b[200~hello\x1b[201~", 1000);
    h.bytes(b"\r", 1000 + 301);
    assert_eq!(h.submissions(), ["hello"]);
}

#[test]
fn line_mode_echoes_the_newline_enter_with_the_continuation() {
    let mut c = cfg(Mode::Line);
    c.enter_newline = Some(Duration::from_millis(300));
    c.continuation = Some("... ".into());
    let (mut app, now) = start(c);
    app.take_output();
    app.on_bytes(b"\x1b[200~a\nb\x1b[201~\r", now);
    assert_eq!(app.take_output(), "a\r\n... b\r\n... ");
    app.on_bytes(b"\r", now + Duration::from_millis(400));
    assert_eq!(app.take_output(), "\r\nyou: a\r\n     b\r\n> ");
}

#[test]
fn enter_within_the_drop_window_is_lost_and_the_next_paste_joins_the_input() {
    let mut c = tui();
    c.enter_drop = Some(Duration::from_millis(300));
    let mut h = Harness::new(c);
    h.bytes(b"\x1b[200~one\x1b[201~", 1000);
    let before = h.screen();
    h.bytes(b"\r", 1000 + 299);
    assert_eq!(h.screen(), before, "nothing changes");
    h.bytes(b"\x1b[200~two\x1b[201~", 1000 + 299);
    assert_eq!(h.rows(), ["✻ courier-fake-agent", "> onetwo"]);
    h.bytes(b"\r", 1000 + 299 + 301);
    assert_eq!(h.submissions(), ["onetwo"], "one submission, glued");
    assert_eq!(h.rows(), ["✻ courier-fake-agent", "you: onetwo", ">"]);

    let mut c = tui();
    c.enter_drop = Some(Duration::from_millis(300));
    let mut h = Harness::new(c);
    h.bytes(b"\x1b[200~one\x1b[201~", 1000);
    h.bytes(b"\r", 1000 + 301);
    assert_eq!(h.submissions(), ["one"]);
}

#[test]
fn the_drop_window_is_checked_before_the_newline_window() {
    let mut c = tui();
    c.enter_drop = Some(Duration::from_millis(100));
    c.enter_newline = Some(Duration::from_millis(300));
    let mut h = Harness::new(c);
    h.bytes(b"\x1b[200~x\x1b[201~", 0);
    h.bytes(b"\r", 50);
    assert_eq!(h.app.composer.text(), "x");
    h.bytes(b"\r", 200);
    assert_eq!(h.app.composer.text(), "x\n");
    h.bytes(b"\r", 400);
    assert_eq!(h.submissions(), ["x"]);
}

#[test]
fn blank_line_rule_keeps_an_unfinished_block() {
    let mut c = tui();
    c.multiline = Some(Multiline::BlankLine);
    c.continuation = Some("... ".into());
    let mut h = Harness::new(c);
    h.bytes(b"x\r", 0); // one line: submits
    assert_eq!(h.submissions(), ["x"]);
    h.bytes(b"\x1b[200~def f():\n    return 1\x1b[201~\r", 10);
    assert_eq!(h.submissions(), ["x"], "two lines, the last not blank");
    assert_eq!(
        h.rows(),
        [
            "✻ courier-fake-agent",
            "you: x",
            "> def f():",
            "...     return 1",
            "..."
        ]
    );
    assert_eq!(h.cursor(), (23, 4));
    h.bytes(b"\r", 20); // the last line is empty now
    assert_eq!(h.submissions(), ["x", "def f():\n    return 1"]);
    assert!(h.app.composer.is_empty());
    // A last line of only spaces is blank too.
    h.bytes(b"\x1b[200~a\n  \x1b[201~\r", 30);
    assert_eq!(h.submissions().last().map(String::as_str), Some("a"));
}

#[test]
fn esc_enter_submits_and_enter_adds_a_line() {
    let mut c = tui();
    c.multiline = Some(Multiline::EscEnter);
    c.continuation = Some("... ".into());
    let mut h = Harness::new(c);
    h.bytes(b"hi\r", 0);
    h.bytes(b"there", 0);
    assert!(h.submissions().is_empty());
    assert_eq!(h.rows(), ["✻ courier-fake-agent", "> hi", "... there"]);
    h.bytes(b"\x1b\r", 0);
    assert_eq!(h.submissions(), ["hi\nthere"]);
    assert_eq!(
        h.rows(),
        ["✻ courier-fake-agent", "you: hi", "     there", ">"]
    );
    // ESC, then Enter within the escape timeout: still Alt+Enter.
    h.bytes(b"two", 100);
    h.bytes(b"\x1b", 100);
    h.bytes(b"\r", 100 + 29);
    assert_eq!(h.submissions(), ["hi\nthere", "two"]);
    // After the timeout (even with no timer in between) they are Escape and Enter: a new line.
    h.bytes(b"three\x1b", 200);
    h.bytes(b"\r", 200 + 31);
    assert_eq!(h.submissions().len(), 2);
    assert_eq!(h.app.composer.text(), "three\n");
}

#[test]
fn alt_enter_does_nothing_without_esc_enter() {
    let mut h = Harness::new(tui());
    h.bytes(b"hi\x1b\r", 0);
    assert!(h.submissions().is_empty());
    assert_eq!(h.app.composer.text(), "hi");
}

#[test]
fn continuation_prefix_in_the_box_and_the_line_echo() {
    let mut c = tui();
    c.continuation = Some("   ...: ".into());
    let mut h = Harness::new(c);
    h.bytes(b"\x1b[200~a\nb\nc\x1b[201~", 0);
    assert_eq!(
        h.rows(),
        ["✻ courier-fake-agent", "> a", "   ...: b", "   ...: c"]
    );
    let mut c = cfg(Mode::Line);
    c.continuation = Some("   ...: ".into());
    let (mut app, now) = start(c);
    app.take_output();
    app.on_bytes(b"\x1b[200~line1\nline2\nline3\x1b[201~", now);
    assert_eq!(app.take_output(), "line1\r\n   ...: line2\r\n   ...: line3");
}

#[test]
fn line_mode_backspace_over_a_newline_draws_the_echo_again() {
    let mut c = cfg(Mode::Line);
    c.continuation = Some("... ".into());
    let mut h = Harness::new(c);
    h.bytes(b"\x1b[200~ab\nc\x1b[201~", 0);
    assert_eq!(h.rows(), ["> ab", "... c"]);
    h.bytes(b"\x7f\x7f", 0);
    assert_eq!(h.rows(), ["> ab"]);
    assert_eq!(h.cursor(), (0, 4));
}

#[test]
fn a_submission_drops_trailing_newlines_and_blank_lines() {
    let mut h = Harness::new(tui());
    h.bytes(b"\x1b[200~a\nb\n \n\n\x1b[201~\r", 0);
    assert_eq!(h.submissions(), ["a\nb"]);
    // Nothing but newlines: the input empties and nothing is sent.
    h.bytes(b"\x1b[200~\n\n\x1b[201~\r", 0);
    assert_eq!(h.submissions(), ["a\nb"]);
    assert!(h.app.composer.is_empty());
}

#[test]
fn busy_queue_shows_queued_rows_then_submits_them_one_per_busy_period() {
    let mut c = tui();
    c.busy = Duration::from_millis(1000);
    c.busy_queue = true;
    c.reply = Some("ok".into());
    let mut h = Harness::new(c);
    h.bytes(b"first\r", 0);
    h.bytes(b"\x1b[200~second\nmore\x1b[201~\rthird\r", 10);
    h.bytes(b"typing", 20);
    assert_eq!(h.submissions(), ["first"]);
    assert_eq!(
        h.rows(),
        [
            "✻ courier-fake-agent",
            "you: first",
            "thinking… 0.0s",
            "queued: second",
            "queued: third",
            "> typing",
        ]
    );
    h.timer(1000);
    assert_eq!(h.submissions(), ["first", "second\nmore"]);
    assert_eq!(
        h.rows(),
        [
            "✻ courier-fake-agent",
            "you: first",
            "assistant: ok",
            "you: second",
            "     more",
            "thinking… 0.0s",
            "queued: third",
            "> typing",
        ]
    );
    h.timer(2000);
    h.timer(3000);
    assert_eq!(h.submissions(), ["first", "second\nmore", "third"]);
    assert!(h.app.busy.is_none());
    assert!(!h.screen().contains("queued:"));
    assert!(h.screen().contains("you: third\nassistant: ok\n"));
}

#[test]
fn line_mode_busy_queue_prints_queued_and_a_fresh_prompt() {
    let mut c = cfg(Mode::Line);
    c.busy = Duration::from_millis(1000);
    c.busy_queue = true;
    let mut h = Harness::new(c);
    h.bytes(b"first\r", 0);
    h.bytes(b"second\r", 10);
    h.bytes(b"tail", 10);
    assert_eq!(
        h.rows(),
        [
            "> first",
            "you: first",
            "thinking…",
            "> second",
            "queued: second",
            "> tail"
        ]
    );
    h.timer(200); // a busy tick goes above the prompt, which keeps its input
    assert_eq!(h.rows()[5..], ["thinking…", "> tail"]);
    h.timer(1000);
    assert_eq!(h.submissions(), ["first", "second"]);
    assert_eq!(h.rows()[6..], ["you: second", "thinking…", "> tail"]);
    assert_eq!(h.cursor(), (8, 6));
    h.timer(2000);
    assert_eq!(h.rows().last().map(String::as_str), Some("> tail"));
    assert!(h.app.busy.is_none());
}

#[test]
fn busy_forever_never_ends() {
    let mut c = tui();
    c.busy_forever = true;
    c.reply = Some("never".into());
    let mut h = Harness::new(c);
    h.bytes(b"hello\r", 0);
    for s in 1..=3600 {
        h.timer(s * 1000);
    }
    assert!(h.screen().contains("thinking… 3600.0s"), "{}", h.screen());
    assert!(!h.screen().contains("assistant"));
    assert!(h.app.next_deadline().is_some(), "it keeps ticking");
}

#[test]
fn an_unparsable_input_stays_with_an_error_under_it_and_the_cursor_in_it() {
    let mut c = cfg(Mode::Tui);
    c.reject_unparsable = true;
    let (mut app, now) = start(c);
    app.take_output();
    app.on_bytes(b"\x1b[200~[courier] from a\nhello\x1b[201~\r", now);
    let frame = app.take_output();
    assert!(app.history.is_empty(), "{:?}", app.history);
    assert_eq!(app.composer.text(), "[courier] from a\nhello");
    // The error is the last row; the cursor ends on the text's row above it.
    assert!(frame.contains("SyntaxError: invalid syntax"), "{frame:?}");
    let rows = 24;
    assert!(
        frame.contains(&format!("\x1b[{rows};1HSyntaxError")),
        "{frame:?}"
    );
    // Bordered box: the top border, the two text rows, the bottom border, the error.
    let cursor = frame
        .rsplit("\x1b[")
        .find(|s| s.ends_with('H') && s.contains(';'))
        .unwrap_or_default();
    assert!(cursor.starts_with(&format!("{};", rows - 2)), "{frame:?}");
    // Edited into something that parses: the error goes, Enter submits.
    app.on_bytes(&[0x7f; 22], now);
    app.on_bytes(b"\x1b[200~# [courier] ok\x1b[201~\r", now);
    assert!(!app.take_output().contains("SyntaxError"));
    assert_eq!(app.history, vec!["you: # [courier] ok"]);
}
