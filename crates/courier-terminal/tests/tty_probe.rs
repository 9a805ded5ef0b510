//! The kernel probe of an agent's terminal, against real programs in real
//! PTYs. Every wait polls the probe until it answers as expected, within a
//! generous bound, so the tests are fast when things work and never flaky
//! when the machine is slow.

mod common;

use std::time::{Duration, Instant};

use common::*;
use courier_terminal::Terminal;
use courier_terminal::tty_probe::{TtyState, probe, waits_for_a_line};

const BOUND: Duration = Duration::from_secs(10);

/// Probes `a` until `want` holds (bounded); panics with the last answer
/// and the screen if it never does.
async fn until(a: &Agent, what: &str, want: impl Fn(&TtyState) -> bool) -> TtyState {
    let deadline = Instant::now() + BOUND;
    loop {
        let state = probe(a.pid());
        if let Some(s) = state.filter(|s| want(s)) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: never seen in {BOUND:?}; last probe: {state:?}\nscreen:\n{}",
            a.screen()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The name the kernel gives process `pid` (empty once it is gone).
fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[tokio::test]
async fn cat_waits_for_a_line() {
    let a = spawn_cmd("cat", "cat", &[], &[]);
    let pid = a.pid() as i32;
    let s = until(&a, "cat reading", |s| s.foreground_reading).await;
    assert!(s.canonical && s.echo, "{s:?}");
    assert_eq!(s.foreground_pgid, Some(pid));
    assert!(waits_for_a_line(&s));
    // Still so after a line went through (cat reads again).
    a.write(b"one line\r").await.expect("write to cat");
    let deadline = Instant::now() + BOUND;
    while a.screen().matches("one line").count() < 2 {
        assert!(
            Instant::now() < deadline,
            "cat never echoed:\n{}",
            a.screen()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    until(&a, "cat reading again", waits_for_a_line).await;
    a.kill().await;
}

#[tokio::test]
async fn sleep_is_canonical_but_reads_nothing() {
    let a = spawn_cmd("sleep", "sleep", &["30"], &[]);
    let pid = a.pid();
    // Once the program is `sleep` (exec done) and asleep, it never reads.
    let deadline = Instant::now() + BOUND;
    while comm(pid) != "sleep" {
        assert!(Instant::now() < deadline, "never became sleep");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = until(&a, "sleep's terminal", |s| s.canonical).await;
    assert_eq!(s.foreground_pgid, Some(pid as i32));
    for _ in 0..5 {
        let s = probe(pid).expect("sleep's terminal can be probed");
        assert!(s.canonical && !s.foreground_reading, "{s:?}");
        assert!(!waits_for_a_line(&s));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill().await;
}

#[tokio::test]
async fn bash_edits_in_raw_mode_then_cat_waits_for_a_line() {
    let a = spawn_cmd(
        "bash",
        "bash",
        &["--norc", "--noprofile", "-i"],
        &[("PS1", "$ ")],
    );
    let bash = a.pid() as i32;
    // readline switches the terminal to raw mode while it edits a line
    // (and waits in pselect, not read: it is not "reading" either).
    let s = until(&a, "bash editing in raw mode", |s| !s.canonical).await;
    assert_eq!(s.foreground_pgid, Some(bash));
    assert!(!waits_for_a_line(&s));
    a.write(b"cat\r").await.expect("write to bash");
    let s = until(&a, "cat in front, reading", waits_for_a_line).await;
    assert!(s.canonical, "{s:?}");
    let cat = s.foreground_pgid.expect("a foreground group");
    assert_ne!(cat, bash, "cat runs as its own job");
    assert_eq!(comm(cat as u32), "cat");
    a.kill().await;
}

#[tokio::test]
async fn python_waits_for_one_line_then_sleeps() {
    let a = spawn_cmd(
        "python",
        "python3",
        &[
            "-c",
            "import sys; sys.stdin.readline(); import time; time.sleep(30)",
        ],
        &[],
    );
    until(&a, "python reading a line", waits_for_a_line).await;
    a.write(b"hello\r").await.expect("write to python");
    let s = until(&a, "python past its read", |s| !waits_for_a_line(s)).await;
    assert!(s.canonical && !s.foreground_reading, "{s:?}");
    a.kill().await;
}

#[tokio::test]
async fn a_reader_that_is_not_the_group_leader_counts() {
    // sh waits for cat, which runs in sh's group: the leader does not read,
    // another member does.
    let a = spawn_cmd("sh", "sh", &["-c", "cat; exit 0"], &[]);
    let s = until(&a, "cat under sh reading", waits_for_a_line).await;
    assert_eq!(s.foreground_pgid, Some(a.pid() as i32));
    assert_eq!(comm(a.pid()), "sh", "sh forked cat instead of exec'ing it");
    a.kill().await;
}

#[tokio::test]
async fn a_reader_thread_that_is_not_the_main_thread_counts() {
    let a = spawn_cmd(
        "python",
        "python3",
        &[
            "-c",
            "import sys, threading; t = threading.Thread(target=sys.stdin.readline); \
             t.start(); t.join(); import time; time.sleep(30)",
        ],
        &[],
    );
    until(&a, "python's thread reading", waits_for_a_line).await;
    a.write(b"hello\r").await.expect("write to python");
    until(&a, "python past its read", |s| !waits_for_a_line(s)).await;
    a.kill().await;
}

#[test]
fn a_missing_process_gives_nothing() {
    assert_eq!(probe(i32::MAX as u32), None);
    assert_eq!(probe(u32::MAX), None);
}

#[test]
fn a_process_without_a_terminal_gives_nothing() {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let pid = child.id();
    let answer = probe(pid);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answer, None);
}
