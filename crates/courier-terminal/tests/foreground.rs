//! Which process reads an agent's terminal, against real programs in real
//! PTYs: a shell at its prompt, the job it started, a reader blocked on
//! the terminal, and the terminal `script` opens. Every wait polls until
//! the answer comes (bounded), so nothing depends on timing.

mod common;

use std::time::{Duration, Instant};

use common::*;
use courier_terminal::Terminal;
use courier_terminal::foreground::{Foreground, foreground, foreground_below};

const BOUND: Duration = Duration::from_secs(10);

async fn until(a: &Agent, what: &str, want: impl Fn(&Foreground) -> bool) -> Foreground {
    let deadline = Instant::now() + BOUND;
    loop {
        let found = foreground(a.pid());
        if let Some(f) = found.clone().filter(|f| want(f)) {
            // The walk of the tree below the agent's parent (this test
            // process spawned it) finds the same reader as the scan of all
            // of /proc, on a screen that waits.
            let below = foreground_below(a.pid(), std::process::id());
            assert_eq!(
                below.as_ref().map(|b| (b.reader.pid, b.reading)),
                Some((f.reader.pid, f.reading)),
                "{what}: the tree walk found {below:?}, the scan {f:?}"
            );
            return f;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: never seen in {BOUND:?}; last: {found:?}\nscreen:\n{}",
            a.screen()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn program(f: &Foreground) -> &str {
    f.reader
        .argv
        .first()
        .map_or("", |a| a.rsplit('/').next().unwrap_or(a))
}

#[tokio::test]
async fn a_shell_then_its_job_then_the_shell_again() {
    let a = spawn_cmd(
        "sh",
        "bash",
        &["--norc", "--noprofile", "-i"],
        &[("PS1", "$ ")],
    );
    let shell = until(&a, "bash at its prompt", |f| program(f) == "bash").await;
    assert_eq!(shell.reader.pid, a.pid());
    assert!(shell.via.is_empty(), "{shell:?}");
    // A job that does not read: what is typed now waits for bash.
    a.write(b"sleep 30\r").await.expect("write");
    let job = until(&a, "sleep in the foreground", |f| program(f) == "sleep").await;
    assert_eq!(job.via.first().map(|p| p.pid), Some(a.pid()), "{job:?}");
    let job = until(&a, "text typed ahead", |f| f.typed_ahead).await;
    assert!(!job.reading, "{job:?}");
    a.write(b"\x03").await.expect("interrupt");
    // A job that reads the terminal.
    a.write(b"cat\r").await.expect("write");
    let cat = until(&a, "cat reading", |f| program(f) == "cat" && f.reading).await;
    assert!(!cat.typed_ahead, "{cat:?}");
    a.write(b"\x04").await.expect("end cat");
    until(&a, "bash again", |f| program(f) == "bash").await;
    a.kill().await;
}

#[tokio::test]
async fn the_terminal_script_opens_is_followed() {
    let a = spawn_cmd(
        "relay",
        "script",
        &["-qfc", "exec cat", "/dev/null"],
        &[("SHELL", "/bin/sh")],
    );
    let found = until(&a, "cat behind script", |f| program(f) == "cat").await;
    assert_ne!(found.reader.pid, a.pid());
    let names: Vec<&str> = found.via.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"script"), "{found:?}");
    a.kill().await;
}
