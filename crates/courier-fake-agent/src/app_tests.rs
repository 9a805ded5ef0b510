use super::*;

fn cfg(mode: Mode) -> Config {
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
        trust_dialog: false,
        black_hole: false,
        crash_after: None,
        busy: Duration::ZERO,
        reply: None,
        hook_command: None,
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
    assert!(app.segments.is_empty());
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
    assert_eq!(app.text(), "a\nb1\n2\n3");
    app.on_bytes(b"\x7f", now); // backspace removes the whole collapsed paste
    assert_eq!(app.text(), "a\nb");
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
    assert!(app.segments.is_empty());
    app.on_bytes(b"kept", now + Duration::from_millis(600));
    assert_eq!(app.text(), "kept");
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
