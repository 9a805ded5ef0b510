//! Live output for viewers, for a local session and a hosted one: a screen
//! copy plus the bytes after it rebuild the session's screen exactly (no
//! byte missed or repeated, even while output flows), and a viewer that
//! falls behind lags instead of holding anything up.

mod common;

use std::time::{Duration, Instant};

use common::*;
use courier_terminal::host::{HostOptions, RemoteSession, serve};
use courier_terminal::screen::ScreenState;
use courier_terminal::*;
use tokio::sync::broadcast::error::RecvError;

/// Prints numbered lines once it reads a line, then `END`, then waits.
const COUNTER: &str =
    "read go; i=0; while [ $i -lt 1500 ]; do echo \"line $i\"; i=$((i+1)); done; echo END; read x";

fn counter_spec(dir: &std::path::Path) -> SpawnSpec {
    SpawnSpec::new("counter", "sh")
        .args(["-c", COUNTER])
        .cwd(dir)
        .size(10, 40)
}

/// Starts the count and watches it mid-stream; the copy plus every chunk
/// after it must give the session's own screen.
async fn replica_matches<T: Terminal>(t: &T) {
    t.write(b"\r").await.unwrap();
    // Take the copy while lines are being printed (anywhere works).
    let deadline = Instant::now() + PATIENCE;
    while !t.snapshot(0).text().contains("line") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let watch = t.watch_output();
    let mut replica = ScreenState::new(watch.rows, watch.cols, 0);
    replica.feed(watch.screen.as_bytes(), Instant::now());
    let mut output = watch.output;
    while !replica.snapshot(0).text().contains("END") {
        let chunk = tokio::time::timeout(PATIENCE, output.recv())
            .await
            .expect("output within the patience")
            .expect("no lag with a large bound");
        replica.feed(&chunk, Instant::now());
    }
    let (mine, theirs) = (replica.snapshot(0), t.snapshot(0));
    assert_eq!(mine.rows, theirs.rows);
    assert_eq!(mine.cursor, theirs.cursor);
    assert_eq!(theirs.rows[theirs.rows.len() - 3], "line 1499");
}

/// A bound of one chunk: a viewer that does not read lags, the program
/// never waits for it, and a new watch starts it again from the screen.
async fn lagging_viewer_resyncs<T: Terminal>(t: &T) {
    let mut idle = t.subscribe_output();
    t.write(b"\r").await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    while !t.snapshot(0).text().contains("END") {
        assert!(Instant::now() < deadline, "{}", t.snapshot(0).text());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(matches!(idle.recv().await, Err(RecvError::Lagged(_))));
    let watch = t.watch_output();
    let mut replica = ScreenState::new(watch.rows, watch.cols, 0);
    replica.feed(watch.screen.as_bytes(), Instant::now());
    assert_eq!(replica.snapshot(0).rows, t.snapshot(0).rows);
}

/// The program's last words, written right before it exits, reach a
/// watcher before the exit does: the exit is published after the output.
async fn last_words_before_the_exit<T: Terminal>(t: &T) {
    let watch = t.watch_output();
    let mut output = watch.output;
    t.write(b"\r").await.unwrap();
    let info = tokio::time::timeout(PATIENCE, t.wait_exit()).await.unwrap();
    assert_eq!(info.code, Some(5));
    let mut seen = Vec::new();
    while let Ok(chunk) = output.try_recv() {
        seen.extend_from_slice(&chunk);
    }
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.contains("last words"), "{seen:?}");
}

fn last_words_spec(dir: &std::path::Path) -> SpawnSpec {
    SpawnSpec::new("short", "sh")
        .args(["-c", "read x; printf 'last words'; exit 5"])
        .cwd(dir)
}

fn local(bound: usize) -> (Session, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let session = Session::spawn_with_output(&counter_spec(dir.path()), bound).unwrap();
    (session, dir)
}

async fn hosted(bound: usize) -> (RemoteSession, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("counter.sock");
    let opts = HostOptions {
        socket: socket.clone(),
        orphan_timeout: Duration::from_secs(30),
        adopter: None,
    };
    tokio::spawn(serve(counter_spec(dir.path()), opts));
    (connect_host(&socket, bound, PATIENCE).await, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_session_streams_a_consistent_copy_then_every_byte() {
    let (s, _dir) = local(10_000);
    replica_matches(&s).await;
    s.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_session_streams_a_consistent_copy_then_every_byte() {
    let (s, _dir) = hosted(10_000).await;
    replica_matches(&s).await;
    s.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_falls_behind_lags_and_starts_again_locally() {
    let (s, _dir) = local(1);
    lagging_viewer_resyncs(&s).await;
    s.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_falls_behind_lags_and_starts_again_when_hosted() {
    let (s, _dir) = hosted(1).await;
    lagging_viewer_resyncs(&s).await;
    s.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_output_comes_before_the_exit() {
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let session = Session::spawn(&last_words_spec(dir.path())).unwrap();
        last_words_before_the_exit(&session).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("short.sock");
    let opts = HostOptions {
        socket: socket.clone(),
        orphan_timeout: Duration::from_secs(30),
        adopter: None,
    };
    tokio::spawn(serve(last_words_spec(dir.path()), opts));
    let remote = connect_host(&socket, DEFAULT_OUTPUT_CHUNKS, PATIENCE).await;
    last_words_before_the_exit(&remote).await;
}
