//! End-to-end: the real binary in a real PTY, its screen read through the vt100 crate.

mod common;

use std::time::{Duration, Instant};

use common::*;

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
