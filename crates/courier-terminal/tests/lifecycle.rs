//! Sessions: spawn with env, cwd and size; resize; exit codes and signals;
//! release leaves no process behind.

mod common;

use std::time::{Duration, Instant};

use common::*;
use courier_terminal::*;

async fn screen_until(a: &Agent, what: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    let found = wait::wait_for(&a.session, 0, deadline, |snap, _| {
        if snap.text().contains(what) {
            wait::Step::Done(snap.text())
        } else {
            wait::Step::Wait(None)
        }
    })
    .await;
    found.unwrap_or_else(|| panic!("never saw {what:?}; screen:\n{}", a.screen()))
}

#[tokio::test]
async fn env_cwd_and_size_reach_the_program_and_resize_works() {
    let a = spawn_cmd(
        "sh",
        "sh",
        &[
            "-c",
            "echo \"v=$COURIER_TEST_VAR d=$(pwd) s=$(stty size)\"; read x; stty size",
        ],
        &[("COURIER_TEST_VAR", "hello")],
    );
    let dir = a.dir.path().canonicalize().unwrap();
    let text = screen_until(&a, "s=24 80").await;
    assert!(
        text.contains(&format!("v=hello d={}", dir.display())),
        "{text}"
    );
    a.resize(30, 100).unwrap();
    assert_eq!(a.snapshot(0).size, (30, 100));
    a.write(b"\r").await.unwrap();
    screen_until(&a, "30 100").await;
    assert_eq!(
        a.wait_exit().await,
        ExitInfo {
            code: Some(0),
            signal: None
        }
    );
    assert!(a.formatted().contains("30 100"));
}

#[tokio::test]
async fn exit_code_and_signal_are_reported() {
    let a = spawn_cmd("sh", "sh", &["-c", "exit 7"], &[]);
    assert_eq!(
        a.wait_exit().await,
        ExitInfo {
            code: Some(7),
            signal: None
        }
    );
    assert_eq!(a.exit_status().unwrap().to_string(), "exited with code 7");
    let b = spawn_cmd("sh", "sh", &["-c", "kill -9 $$"], &[]);
    assert_eq!(
        b.wait_exit().await,
        ExitInfo {
            code: None,
            signal: Some(9)
        }
    );
}

#[tokio::test]
async fn release_kills_the_group_and_a_detached_grandchild() {
    release_kills_grandchild(&[]).await;
}

/// A grandchild in a session of its own is outside the process group: the
/// session cookie in its environment is what finds it.
#[tokio::test]
async fn release_kills_a_grandchild_that_left_the_process_group() {
    release_kills_grandchild(&["--grandchild-setsid"]).await;
}

async fn release_kills_grandchild(extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    let mut args = vec!["--spawn-grandchild", pidfile.to_str().unwrap()];
    args.extend_from_slice(extra);
    let a = spawn_fake(&args);
    ready(&a, &ReadinessConfig::default()).await;
    let deadline = Instant::now() + PATIENCE;
    let grandchild: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "no grandchild pid written");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(!gone(grandchild), "grandchild runs before release");
    let pid = a.pid() as i32;
    let exit = a.kill().await.expect("exit status after release");
    assert_eq!(
        exit.code,
        Some(0),
        "the fake agent exits 0 on SIGTERM/SIGHUP"
    );
    let deadline = Instant::now() + PATIENCE;
    while !(gone(grandchild) && gone(pid)) {
        assert!(
            Instant::now() < deadline,
            "grandchild {grandchild} survived release"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_program_ignoring_sigterm_is_killed_after_the_grace() {
    let a = spawn_cmd(
        "stubborn",
        "sh",
        &["-c", "trap '' TERM HUP; sleep 1000 & echo armed; wait"],
        &[],
    );
    screen_until(&a, "armed").await;
    let members = process_group::members(a.pid() as i32, a.id());
    assert!(!members.is_empty(), "the sleep child is a member");
    let exit = a.kill().await.expect("exit");
    assert_eq!(exit.signal, Some(9));
    // SIGKILL is sent to every member; on a busy machine one may take a
    // moment to be scheduled and die.
    let deadline = Instant::now() + Duration::from_secs(5);
    for m in members {
        while !gone(m) {
            assert!(Instant::now() < deadline, "member {m} survived");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn when_the_program_exits_its_helpers_go_too() {
    let a = spawn_cmd(
        "quitter",
        "sh",
        &["-c", "sleep 1000 & echo $!; read x"],
        &[],
    );
    let deadline = Instant::now() + PATIENCE;
    let helper: i32 = loop {
        if let Some(pid) = a
            .screen()
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    a.write(b"\r").await.unwrap();
    a.wait_exit().await;
    while !gone(helper) {
        assert!(
            Instant::now() < deadline,
            "helper {helper} outlived its program"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn dropping_a_session_releases_it() {
    let a = spawn_cmd("dropped", "sleep", &["1000"], &[]);
    let pid = a.pid() as i32;
    assert!(!gone(pid));
    drop(a);
    let deadline = Instant::now() + PATIENCE;
    while !gone(pid) {
        assert!(
            Instant::now() < deadline,
            "dropped session {pid} still runs"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn spawn_errors_name_the_agent_and_command() {
    let spec = SpawnSpec::new("ghost", "/nonexistent/courier-no-such-program");
    let err = Session::spawn(&spec).err().expect("spawn fails");
    let msg = err.to_string();
    assert!(
        msg.contains("ghost") && msg.contains("courier-no-such-program"),
        "{msg}"
    );
}
