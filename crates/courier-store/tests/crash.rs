//! Crash test: a child process sends from several threads and is killed with
//! SIGKILL at a random moment; every acknowledged send must survive, exactly
//! once, with its full fan-out, and the log must stay gap-free and consistent.
//!
//! `COURIER_CRASH_KILLS` sets the number of kills (default 50).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use courier_core::MessageId;
use courier_store::{Store, StoreOptions};

/// Expected deliveries of key `r<round>-t<t>-<i>` (mirrors the child's plan).
fn expected_fanout(key: &str) -> usize {
    let parts: Vec<&str> = key.split('-').collect();
    let t: u64 = parts[1][1..].parse().unwrap();
    let i: u64 = parts[2].parse().unwrap();
    match (t + i) % 3 {
        0 => 1,
        1 if t % 4 == 3 => 3, // a3 is not in #ops: every member receives it
        1 => 2,
        _ => 3,
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs one child, kills it after `delay`, returns its ACK lines.
fn run_child(db: &Path, round: u64, delay: Duration) -> Vec<(String, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_courier-store-crash-child"))
        .arg(db)
        .arg(round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(60));
    if ready.as_deref() != Ok("READY") {
        let _ = child.kill();
        let _ = child.wait();
        panic!("child did not get ready: {ready:?}");
    }
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    reader.join().unwrap();
    rx.try_iter()
        .filter_map(|line| {
            let mut words = line.split(' ');
            (words.next() == Some("ACK")).then(|| {
                let key = words.next().unwrap().to_string();
                let id = words.next().unwrap().to_string();
                (key, id)
            })
        })
        .collect()
}

/// Checks the whole file's consistency (`whole`: integrity and the global
/// counts, which read every row) and that every key in `acked` is stored
/// exactly once with its full fan-out.
fn check(db: &Path, acked: &HashMap<String, String>, whole: bool) {
    let conn = rusqlite::Connection::open(db).unwrap();
    if whole {
        common::check_file(&conn);
    }
    check_keys(&conn, db, acked);
}

fn check_keys(conn: &rusqlite::Connection, db: &Path, acked: &HashMap<String, String>) {
    // Each key to check is looked up by its message id (the primary key), so
    // a round costs about the same at kill 1,000 as at kill 1.
    let mut key_of = conn
        .prepare("SELECT idempotency_key FROM messages WHERE id = ?1")
        .unwrap();
    let store = Store::open(db, StoreOptions::default()).unwrap();
    for (key, id) in acked {
        let stored: Option<String> = key_of
            .query_row([id], |r| r.get(0))
            .unwrap_or_else(|e| panic!("acked key {key} lost: {e}"));
        assert_eq!(stored.as_deref(), Some(key.as_str()), "key {key}");
        let (_, deliveries) = store.message(&MessageId(id.clone())).unwrap().unwrap();
        assert_eq!(deliveries.len(), expected_fanout(key), "fan-out of {key}");
    }
}

#[test]
fn acknowledged_sends_survive_sigkill() {
    let kills: u64 = std::env::var("COURIER_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed | 1);
    let mut acked: HashMap<String, String> = HashMap::new();
    let start = Instant::now();
    for round in 0..kills {
        let delay = Duration::from_millis(5 + rng.next() % 56);
        let mut fresh = HashMap::new();
        for (key, id) in run_child(&db, round, delay) {
            if let Some(before) = acked.insert(key.clone(), id.clone()) {
                assert_eq!(before, id, "key {key} acknowledged with two message ids");
            }
            fresh.insert(key, id);
        }
        // The whole-file checks read every row: each round in the normal
        // run, every 50th in a long one (which would otherwise spend its
        // time re-reading a file of 100,000 messages 1,000 times).
        let whole = kills <= 100 || (round + 1) % 50 == 0;
        check(&db, &fresh, whole);
        if kills >= 100 && (round + 1) % 100 == 0 {
            eprintln!(
                "{} kills, {} acknowledged keys, {:?}",
                round + 1,
                acked.len(),
                start.elapsed()
            );
        }
    }
    // Every key acknowledged in any round is still there, exactly once, at the end.
    check(&db, &acked, true);
    eprintln!(
        "{kills} kills, {} acknowledged keys, 0 lost, 0 duplicated, integrity ok, {:?}",
        acked.len(),
        start.elapsed()
    );
    assert!(!acked.is_empty());
}
