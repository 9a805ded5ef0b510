//! End-to-end: the real binary in a real PTY, its screen read through the vt100 crate.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

const ROWS: u16 = 24;
const COLS: u16 = 80;
/// Generous: tests only wait this long when something is broken.
const TIMEOUT: Duration = Duration::from_secs(15);

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("non-zero terminal size")
}

struct Agent {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    /// Every byte the agent wrote.
    raw: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
    master: Box<dyn MasterPty + Send>,
}

impl Agent {
    fn start(args: &[&str]) -> Agent {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_courier-fake-agent"));
        cmd.args(args);
        let child = pair.slave.spawn_command(cmd).expect("spawn fake agent");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(nz(ROWS), nz(COLS), 0)));
        let s2 = Arc::clone(&screen);
        let raw = Arc::new(Mutex::new(Vec::new()));
        let r2 = Arc::clone(&raw);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s2.lock().expect("screen lock").process(&buf[..n]);
                r2.lock().expect("raw lock").extend_from_slice(&buf[..n]);
            }
        });
        Agent {
            child,
            writer,
            screen,
            raw,
            reader: Some(reader),
            master: pair.master,
        }
    }

    fn pid(&self) -> i32 {
        let pid = self.child.process_id().expect("child pid");
        i32::try_from(pid).expect("pid fits i32")
    }

    fn contents(&self) -> String {
        self.screen.lock().expect("screen lock").screen().contents()
    }

    /// (row, col), 0-based.
    fn cursor(&self) -> (u16, u16) {
        self.screen
            .lock()
            .expect("screen lock")
            .screen()
            .cursor_position()
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    fn wait_screen(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let c = self.contents();
            if pred(&c) {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{c}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.exit_code();
            }
            assert!(Instant::now() < deadline, "fake agent did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // portable-pty makes the child a session (and process group) leader.
            // SAFETY: plain kill(2) on our own child's process group.
            unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
            let _ = self.child.wait();
        }
        drop(self.reader.take());
    }
}

fn wait_file(path: &Path, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let s = std::fs::read_to_string(path).unwrap_or_default();
        if pred(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {}: {s:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// All whitespace (spaces, NBSP, line breaks) removed: the way a checker compares wrapped text.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The text inside the box's side borders, row by row.
fn box_text(screen: &str) -> String {
    screen
        .lines()
        .filter_map(|l| l.strip_prefix("│ "))
        .map(|l| l.trim_end().trim_end_matches('│'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn tui_bordered_paste_wraps_in_box_then_submits_to_transcript() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("transcript.jsonl");
    let tp = t.to_str().expect("utf-8 path");
    let mut a = Agent::start(&[
        "--border",
        "--prompt",
        "❯",
        "--nbsp",
        "--width",
        "40",
        "--transcript",
        tp,
        "--reply",
        "ok",
    ]);
    a.wait_screen("the empty box", |c| {
        c.contains("╰") && c.contains("❯\u{a0}")
    });
    let msg = "Please review the pull request about the retry logic and report back\nthanks";
    a.send(format!("\x1b[200~{msg}\x1b[201~").as_bytes());
    let screen = a.wait_screen("the pasted text in the box", |c| {
        squash(&box_text(c)).contains(&squash(msg))
    });
    eprintln!("--- screen with the pasted text ---\n{screen}\n---");
    assert!(
        screen.contains("│ ❯\u{a0}Please review the pull request     │"),
        "{screen}"
    );
    assert_eq!(
        std::fs::read_to_string(&t).unwrap_or_default(),
        "",
        "not submitted yet"
    );
    // The cursor sits right after "thanks" on the last text row of the box (just above ╰).
    assert_eq!(a.cursor(), (ROWS - 2, 2 + 2 + 6));

    a.send(b"\r");
    let line = wait_file(&t, |s| s.ends_with('\n'));
    let v: serde_json::Value = serde_json::from_str(line.trim_end()).expect("json line");
    assert_eq!(v, serde_json::json!({"n": 1, "text": msg}));
    let screen = a.wait_screen("the submission in the transcript area", |c| {
        c.contains("you: Please review") && c.contains("assistant: ok")
    });
    eprintln!("--- screen after Enter ---\n{screen}\n---");
    assert!(
        !squash(&box_text(&screen)).contains("Please"),
        "box emptied"
    );

    a.send(b"\x04");
    assert_eq!(a.wait_exit(), 0);
}

#[test]
fn line_mode_without_bracketed_paste_submits_each_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--mode",
        "line",
        "--bracketed-paste",
        "off",
        "--transcript",
        t.to_str().expect("utf-8 path"),
    ]);
    a.wait_screen("the prompt", |c| c.starts_with("> "));
    a.send(b"hello\nworld\r");
    let s = wait_file(&t, |s| s.lines().count() == 2);
    assert_eq!(
        s,
        "{\"n\":1,\"text\":\"hello\"}\n{\"n\":2,\"text\":\"world\"}\n"
    );
    let screen = a.wait_screen("both submissions", |c| c.contains("you: world"));
    assert!(
        screen.starts_with("> hello\nyou: hello\n> world\nyou: world\n> "),
        "{screen}"
    );
    a.send(b"\x04");
    assert_eq!(a.wait_exit(), 0);
}

#[test]
fn crash_after_exits_101_on_first_byte_of_nth_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--crash-after",
        "2",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    a.wait_screen("the box", |c| c.contains("> "));
    a.send(b"\x1b[200~one\x1b[201~\r");
    wait_file(&t, |s| s.contains("one"));
    a.send(b"\x1b[200~two\x1b[201~\r");
    assert_eq!(a.wait_exit(), 101);
    assert_eq!(
        std::fs::read_to_string(&t).expect("transcript"),
        "{\"n\":1,\"text\":\"one\"}\n"
    );
}

#[test]
fn grandchild_outlives_parent_in_same_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("gc.pid");
    let mut a = Agent::start(&["--spawn-grandchild", pidfile.to_str().expect("utf-8")]);
    let gc: i32 = wait_file(&pidfile, |s| s.ends_with('\n'))
        .trim()
        .parse()
        .expect("pid in pidfile");
    a.wait_screen("the box", |c| c.contains("> "));
    // SAFETY: getpgid/kill on pids this test started.
    unsafe {
        assert_eq!(libc::getpgid(gc), libc::getpgid(a.pid()));
        assert_eq!(libc::kill(gc, 0), 0, "grandchild alive");
    }
    // The agent leaving does not take the grandchild with it...
    a.send(b"\x04");
    assert_eq!(a.wait_exit(), 0);
    // SAFETY: as above.
    assert_eq!(
        unsafe { libc::kill(gc, 0) },
        0,
        "grandchild survives its parents"
    );
    // ...killing the process group does.
    // SAFETY: as above.
    unsafe { libc::kill(-a.pid(), libc::SIGKILL) };
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{gc}/stat")).unwrap_or_default();
        let gone = stat.is_empty()
            || stat
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'));
        if gone {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "grandchild still running: {stat}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn trust_dialog_after_first_render_delay_busy_output_then_sigterm_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut a = Agent::start(&[
        "--trust-dialog",
        "--first-render-delay-ms",
        "300",
        "--busy-ms",
        "200",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    let screen = a.wait_screen("the dialog", |c| c.contains("Do you trust the files"));
    assert!(
        screen.contains("❯ 1. Yes, proceed\n  2. No, exit"),
        "{screen}"
    );
    a.send(b"x"); // ignored by the dialog
    a.send(b"\r");
    a.wait_screen("the input box", |c| {
        c.contains("> ") && !c.contains("Do you trust")
    });
    a.send(b"\x1b[200~hi\x1b[201~\r");
    a.wait_screen("busy over", |c| {
        c.contains("you: hi") && !c.contains("thinking…")
    });
    let raw = String::from_utf8_lossy(&a.raw.lock().expect("raw lock")).into_owned();
    assert!(raw.contains("thinking… 0."), "busy output was drawn");
    assert_eq!(
        wait_file(&t, |s| s.ends_with('\n')),
        "{\"n\":1,\"text\":\"hi\"}\n"
    );
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(a.pid(), libc::SIGTERM) };
    assert_eq!(a.wait_exit(), 0);
}

/// The transcript's texts, once it holds `n` lines.
fn wait_submissions(path: &Path, n: usize) -> Vec<String> {
    wait_file(path, |s| s.lines().count() >= n && s.ends_with('\n'))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v["text"].as_str().expect("text").to_string()
        })
        .collect()
}

fn transcript_now(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The screen's rows without trailing spaces, empty rows dropped.
fn rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Longer than any window the tests below use: waiting this long after the screen showed a paste
/// puts the next key out of the window for sure.
const PAST_WINDOW: Duration = Duration::from_millis(600);
const WINDOW_MS: &str = "500";

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
