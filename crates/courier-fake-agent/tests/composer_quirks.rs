//! The composer quirks of the fake agent, each in a real PTY: Enter as a
//! newline or dropped inside a window, multi-line editors, continuation
//! prefixes, drawing nothing, busy queues.

mod common;

use std::path::Path;

use common::*;

#[test]
fn enter_newline_ms_adds_a_row_in_the_window_and_submits_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--border",
        "--enter-newline-ms",
        WINDOW_MS,
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    a.wait_screen("the box", |c| c.contains("╰"));
    // Paste and Enter in one write: the Enter is inside the window.
    a.send(b"\x1b[200~hello\x1b[201~\r");
    let screen = a.wait_screen("a new continued row", |c| {
        let b = box_text(c);
        b.split('\n').map(str::trim_end).eq(["> hello", ""])
    });
    eprintln!("--- after paste+Enter ---\n{screen}\n---");
    assert_eq!(a.cursor(), (ROWS - 2, 4), "the cursor is on the new row");
    assert_eq!(transcript_now(&t), "", "nothing submitted");
    std::thread::sleep(PAST_WINDOW);
    a.send(b"\r");
    // The newline the first Enter added is not part of the submission.
    assert_eq!(wait_submissions(&t, 1), ["hello"]);
    let screen = a.wait_screen("the submission", |c| c.contains("you: hello"));
    assert_eq!(box_text(&screen).trim_end(), ">", "box emptied");
}

#[test]
fn enter_drop_ms_loses_the_enter_and_the_next_paste_joins_the_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--enter-drop-ms",
        WINDOW_MS,
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    a.wait_screen("the prompt", |c| c.contains("> "));
    a.send(b"\x1b[200~one\x1b[201~\r\x1b[200~two\x1b[201~");
    a.wait_screen("both pastes in one input", |c| {
        rows(c).last().map(String::as_str) == Some("> onetwo")
    });
    assert_eq!(transcript_now(&t), "", "the Enter between them was lost");
    std::thread::sleep(PAST_WINDOW);
    a.send(b"\r");
    a.wait_screen("the submission", |c| c.contains("you: onetwo"));
    assert_eq!(
        transcript_now(&t),
        "{\"n\":1,\"text\":\"onetwo\"}\n",
        "one submission, glued together"
    );
}

#[test]
fn multiline_blank_line_keeps_a_block_until_an_empty_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--mode",
        "line",
        "--multiline",
        "blank-line",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    a.wait_screen("the prompt", |c| c.starts_with("> "));
    a.send(b"x\r");
    assert_eq!(wait_submissions(&t, 1), ["x"], "a single line submits");
    a.send(b"\x1b[200~def f():\n    return 1\x1b[201~\r");
    let screen = a.wait_screen("a continuation row", |c| {
        rows(c).ends_with(&["> def f():".into(), "...     return 1".into(), "...".into()])
    });
    eprintln!("--- block kept ---\n{screen}\n---");
    assert_eq!(a.cursor(), (4, 4));
    assert_eq!(wait_submissions(&t, 1), ["x"]);
    a.send(b"\r");
    assert_eq!(wait_submissions(&t, 2), ["x", "def f():\n    return 1"]);
    a.wait_screen("the submission", |c| {
        c.contains("you: def f():\n         return 1\n> ")
    });
}

#[test]
fn multiline_esc_enter_adds_lines_until_esc_enter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--multiline",
        "esc-enter",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    a.wait_screen("the prompt", |c| c.contains("> "));
    a.send(b"hi\rthere");
    a.wait_screen("two input rows", |c| {
        rows(c).ends_with(&["> hi".into(), "... there".into()])
    });
    assert_eq!(transcript_now(&t), "");
    a.send(b"\x1b\r");
    assert_eq!(wait_submissions(&t, 1), ["hi\nthere"]);
    let screen = a.wait_screen("the submission", |c| c.contains("you: hi"));
    assert_eq!(rows(&screen).last().map(String::as_str), Some(">"));
}

#[test]
fn continuation_prefix_in_line_mode_and_tui() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--mode",
        "line",
        "--continuation",
        "   ...: ",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    a.wait_screen("the prompt", |c| c.starts_with("> "));
    a.send(b"\x1b[200~line1\nline2\nline3\x1b[201~");
    a.wait_screen("the echo", |c| {
        c.starts_with("> line1\n   ...: line2\n   ...: line3")
    });
    // The tty's output processing turns each \n into \r\n: undo it to see what the agent wrote.
    let raw = String::from_utf8_lossy(&a.raw.lock().expect("raw lock")).replace("\r\r\n", "\r\n");
    assert!(
        raw.contains("line1\r\n   ...: line2\r\n   ...: line3"),
        "{raw:?}"
    );
    a.send(b"\r");
    assert_eq!(wait_submissions(&t, 1), ["line1\nline2\nline3"]);

    let mut a = Agent::start(&["--continuation", "... "]);
    a.wait_screen("the prompt", |c| c.contains("> "));
    a.send(b"\x1b[200~a\nb\x1b[201~");
    a.wait_screen("the box", |c| {
        rows(c).ends_with(&["> a".into(), "... b".into()])
    });
}

#[test]
fn draw_nothing_reads_lines_in_canonical_mode_and_prints_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&["--draw-nothing", "--transcript", t.to_str().expect("utf-8")]);
    // Idle means blocked in read(2) on fd 0, where the kernel can see it (when /proc shows it).
    let syscall = format!("/proc/{}/syscall", a.pid());
    let reading = format!("{} 0x0 ", libc::SYS_read);
    if std::fs::read_to_string(&syscall).is_ok() {
        wait_file(Path::new(&syscall), |s| s.starts_with(&reading));
    } else {
        eprintln!("{syscall} is not readable here: not checking the blocked read");
    }
    // The tty was left in canonical mode with echo.
    let fd = a.master.as_raw_fd().expect("master fd");
    // SAFETY: termios is plain old data; tcgetattr fills it from a valid fd.
    let mut tio: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    assert_eq!(unsafe { libc::tcgetattr(fd, &mut tio) }, 0);
    assert_ne!(tio.c_lflag & libc::ICANON, 0, "canonical mode");
    assert_ne!(tio.c_lflag & libc::ECHO, 0, "kernel echo");

    a.send(b"hello\r");
    assert_eq!(wait_submissions(&t, 1), ["hello"]);
    // The kernel's line editing: an erase, then the rest of the line.
    a.send(b"hellp\x7fo world\r");
    assert_eq!(wait_submissions(&t, 2), ["hello", "hello world"]);
    a.wait_screen("the kernel's echo", |c| c == "hello\nhello world");
    let raw = a.raw.lock().expect("raw lock").clone();
    assert!(!raw.contains(&0x1b), "no escape sequence ever: {raw:?}");
    a.send(b"\x04");
    assert_eq!(a.wait_exit(), 0);
}

#[test]
fn busy_forever_with_busy_queue_keeps_ticking_and_shows_the_queue_above_the_box() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--busy-forever",
        "--busy-queue",
        "--border",
        "--reply",
        "never",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    a.wait_screen("the box", |c| c.contains("╰"));
    a.send(b"first\r");
    assert_eq!(wait_submissions(&t, 1), ["first"]);
    a.send(b"\x1b[200~second\nmore\x1b[201~\r");
    let screen = a.wait_screen("the queued row", |c| c.contains("queued: second"));
    let r = rows(&screen);
    let n = r.len();
    assert!(r[n - 4].starts_with("queued: second"), "{screen}");
    assert!(r[n - 3].starts_with("╭"), "right above the box: {screen}");
    assert_eq!(box_text(&screen).trim_end(), ">", "box emptied");
    // The spinner goes on past a second, long after a --busy-ms 0 agent would have stopped.
    let screen = a.wait_screen("a second of thinking", |c| c.contains("thinking… 1."));
    assert!(!screen.contains("assistant"), "{screen}");
    assert!(screen.contains("queued: second"));
    assert_eq!(transcript_now(&t), "{\"n\":1,\"text\":\"first\"}\n");
}

#[test]
fn busy_queue_submits_each_queued_input_after_a_busy_period() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--busy-ms",
        "200",
        "--busy-queue",
        "--reply",
        "ok",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    a.wait_screen("the prompt", |c| c.contains("> "));
    // One write: the first starts a busy period, so the others are queued for sure.
    a.send(b"first\rsecond\rthird\r");
    assert_eq!(wait_submissions(&t, 3), ["first", "second", "third"]);
    let screen = a.wait_screen("all answered", |c| {
        c.contains(
            "you: first\nassistant: ok\nyou: second\nassistant: ok\nyou: third\nassistant: ok",
        )
    });
    assert!(!screen.contains("queued:"), "{screen}");
    let raw = String::from_utf8_lossy(&a.raw.lock().expect("raw lock")).into_owned();
    assert!(raw.contains("queued: second") && raw.contains("queued: third"));
}

#[test]
fn line_mode_busy_queue_prints_queued_and_a_fresh_prompt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--mode",
        "line",
        "--busy-ms",
        "200",
        "--busy-queue",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    a.wait_screen("the prompt", |c| c.starts_with("> "));
    a.send(b"first\rsecond\r");
    assert_eq!(wait_submissions(&t, 2), ["first", "second"]);
    let screen = a.wait_screen("the prompt after the second submission", |c| {
        let r = rows(c);
        r.iter().any(|l| l == "you: second") && r.last().map(String::as_str) == Some(">")
    });
    eprintln!("--- line mode queue ---\n{screen}\n---");
    let r = rows(&screen);
    let at = |s: &str| {
        r.iter()
            .position(|l| l == s)
            .unwrap_or_else(|| panic!("{s:?} in {r:?}"))
    };
    assert_eq!(r[..3], ["> first", "you: first", "thinking…"]);
    assert!(at("> second") < at("queued: second"));
    assert!(at("queued: second") < at("you: second"));
}
