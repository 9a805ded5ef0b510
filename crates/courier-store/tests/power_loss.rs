//! Power-loss test: the store runs on a simulated disk (`power_loss/vfs.rs`,
//! the model, and `power_loss/vfs_layer.rs`, its SQLite callbacks: a SQLite
//! VFS over the `unix` one) whose power is cut at a random disk operation
//! while several threads send and one claims. Every write not yet
//! synced is dropped, the files go back to their last-synced state, and the
//! store is reopened from them with the normal VFS. Then:
//!
//! - the file is consistent (`integrity_check`, the event log agrees with
//!   the rows, no idempotency key stored twice) and the store opens;
//! - every acknowledged send is there with exactly its acknowledged
//!   deliveries, each still pending (queued, or injecting if claimed);
//!   every acknowledged claim is still injecting;
//! - a resend of every acknowledged key is a duplicate of the same message;
//! - claiming every queued delivery, from several threads, hands out each
//!   exactly once.
//!
//! With `synchronous=FULL` (the default) nothing acknowledged may be lost.
//! With `synchronous=NORMAL` (WAL commits not synced) the same run must
//! find lost acknowledged sends: the layer really drops writes.
//!
//! `COURIER_POWER_LOSS_POINTS` sets the number of cuts of the FULL run
//! (default 200, about 20 s in debug on 2 shared cores; 1,000 take about
//! 75 s, so they are a manual run: docs/durability.md has the figures) and
//! `COURIER_POWER_LOSS_SEED` replays a seed: it fixes every cut point, while
//! the threads' interleaving still varies from run to run.

mod common;
#[path = "power_loss/vfs.rs"]
mod vfs;
#[path = "power_loss/vfs_layer.rs"]
mod vfs_layer;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use courier_core::{DeliveryId, DeliveryState, MessageId, NewMessage, Recipient};
use courier_store::{AgentRecord, Store, StoreOptions, Synchronous};
use rusqlite::{Connection, OpenFlags};
use vfs::{Disk, Recovery};

const AGENTS: [&str; 4] = ["a0", "a1", "a2", "a3"];
const SENDERS: u64 = 4;
/// Cuts of the FULL run unless `COURIER_POWER_LOSS_POINTS` says otherwise.
const DEFAULT_POINTS: u64 = 200;
/// Cuts of the NORMAL run: enough to be sure to lose acknowledged sends.
const NORMAL_POINTS: u64 = 30;
/// Cuts per database file: a file carries on from one cut to the next
/// (recovering a recovered file), then a fresh file keeps each check's cost
/// flat however many cuts a run makes.
const CUTS_PER_FILE: u64 = 50;
/// Cut points are drawn log-uniformly from 1 to this many disk operations:
/// most cuts come early in a run (open, the first commits, the WAL's
/// creation), and about one in six late enough to follow a WAL checkpoint
/// (after about 1,000 page writes).
const MAX_OPS: u64 = 4_000;
/// One cut in this many lands inside a checkpoint instead, at one of its
/// first [`CHECKPOINT_WRITES`] writes to the database file (which overwrite
/// synced pages): a window too narrow for the log-uniform draw to hit often.
const CHECKPOINT_ONE_IN: u64 = 8;
const CHECKPOINT_WRITES: u64 = 16;

/// xorshift64*: seeded, so a failure's cut points can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Where the next cut lands.
    fn cut(&mut self) -> Cut {
        if self.next().is_multiple_of(CHECKPOINT_ONE_IN) {
            Cut::DatabaseWrite(1 + self.next() % CHECKPOINT_WRITES)
        } else {
            Cut::Op(self.cut_point(MAX_OPS))
        }
    }

    /// Log-uniform in `1..=max`.
    fn cut_point(&mut self, max: u64) -> u64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((max as f64).powf(unit) as u64).clamp(1, max)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn seed() -> u64 {
    env_u64("COURIER_POWER_LOSS_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    })
}

/// Sender and target of send `i` of thread `t` (DM, channel, broadcast).
fn plan(t: u64, i: u64) -> (&'static str, Recipient) {
    let from = AGENTS[(t % 4) as usize];
    let to = match (t + i) % 3 {
        0 => Recipient::Agent(AGENTS[((t + 1) % 4) as usize].to_string()),
        1 => Recipient::Channel("ops".into()),
        _ => Recipient::Broadcast,
    };
    (from, to)
}

fn message(from: &str, to: &Recipient, key: &str) -> NewMessage {
    let mut message = NewMessage::new(from, to.clone(), format!("message {key}"));
    message.idempotency_key = Some(key.to_string());
    message
}

/// Where a cut lands.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// At the n-th operation that changes the disk.
    Op(u64),
    /// At the n-th write to the database file: inside a checkpoint.
    DatabaseWrite(u64),
}

/// An acknowledged send.
#[derive(Clone)]
struct Sent {
    key: String,
    from: &'static str,
    to: Recipient,
    id: MessageId,
    deliveries: HashSet<DeliveryId>,
}

/// What one run up to its cut acknowledged.
#[derive(Default)]
struct Acked {
    sends: Vec<Sent>,
    claims: Vec<DeliveryId>,
}

/// Totals of a run of many cuts.
#[derive(Debug, Default)]
struct Findings {
    cuts: u64,
    /// Cuts aimed inside a checkpoint ([`Cut::DatabaseWrite`]).
    checkpoint_cuts: u64,
    acked_sends: usize,
    acked_claims: usize,
    lost_sends: usize,
    lost_claims: usize,
    /// What the disk dropped, summed over every cut.
    dropped: Recovery,
}

fn options(synchronous: Synchronous, vfs: Option<&str>) -> StoreOptions {
    StoreOptions {
        synchronous,
        // No eviction: every acknowledged delivery must still be pending.
        queue_cap: 1_000_000,
        readers: 1,
        vfs: vfs.map(str::to_string),
        ..common::options(&common::clock())
    }
}

/// A new database file with the agents and the `#ops` channel (a0..a2).
fn fresh_file(dir: &Path, n: u64) -> PathBuf {
    let db = dir.join(format!("power-loss-{n}.db"));
    let store = Store::open(&db, options(Synchronous::Full, None)).unwrap();
    for name in AGENTS {
        store
            .upsert_agent(AgentRecord::new(name, serde_json::json!({"cmd": "sh"})))
            .unwrap();
    }
    for name in &AGENTS[..3] {
        store.join("#ops", name).unwrap();
    }
    db
}

/// Opens the store on `disk`, arms `cut`, and sends and claims until the
/// power goes. Returns what was acknowledged.
fn run_until_cut(db: &Path, disk: &Disk, synchronous: Synchronous, cut: Cut, round: u64) -> Acked {
    match cut {
        Cut::Op(n) => disk.cut_after(n),
        Cut::DatabaseWrite(n) => disk.cut_at_database_write(n),
    }
    let store = match Store::open(db, options(synchronous, Some(disk.name()))) {
        Ok(store) => store,
        Err(e) => {
            assert!(disk.is_cut(), "open failed with the power on: {e}");
            return Acked::default();
        }
    };
    let acked = std::thread::scope(|s| {
        let store = &store;
        let senders: Vec<_> = (0..SENDERS)
            .map(|t| {
                s.spawn(move || {
                    let mut sent = Vec::new();
                    for i in 0.. {
                        let key = format!("r{round}-t{t}-{i}");
                        let (from, to) = plan(t, i);
                        match store.send(message(from, &to, &key)) {
                            Ok(receipt) => {
                                assert!(!receipt.duplicate, "{key} is new");
                                sent.push(Sent {
                                    key,
                                    from,
                                    to,
                                    id: receipt.message.id,
                                    deliveries: receipt
                                        .deliveries
                                        .into_iter()
                                        .map(|d| d.id)
                                        .collect(),
                                });
                            }
                            Err(e) => {
                                assert!(disk.is_cut(), "send {key} failed with the power on: {e}");
                                break;
                            }
                        }
                    }
                    sent
                })
            })
            .collect();
        let claimer = s.spawn(move || {
            let mut claims = Vec::new();
            for n in 0.. {
                // A claim of an empty queue may be answered from SQLite's
                // cache: the cut flag, not an error, ends this loop.
                if disk.is_cut() {
                    break;
                }
                match store.claim_next(AGENTS[n % AGENTS.len()], "session") {
                    Ok(Some((delivery, _))) => claims.push(delivery.id),
                    Ok(None) => std::thread::yield_now(),
                    Err(e) => {
                        assert!(disk.is_cut(), "claim failed with the power on: {e}");
                        break;
                    }
                }
            }
            claims
        });
        Acked {
            sends: senders
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect(),
            claims: claimer.join().unwrap(),
        }
    });
    drop(store); // closes every file, so the disk can roll them back
    acked
}

/// Reopens the recovered file with the normal VFS and checks it against
/// what was acknowledged. Returns the sends found intact.
fn check(db: &Path, acked: &Acked, findings: &mut Findings) -> Vec<Sent> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    common::check_file(&conn);
    let queued: HashSet<DeliveryId> = conn
        .prepare("SELECT id FROM deliveries WHERE state = 'queued'")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0).map(DeliveryId))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(conn);
    // The check runs on the real disk: its own commits need no fsync.
    let store = Store::open(db, options(Synchronous::Normal, None))
        .unwrap_or_else(|e| panic!("the store does not open after a power cut: {e}"));
    findings.acked_sends += acked.sends.len();
    findings.acked_claims += acked.claims.len();
    let mut intact = Vec::new();
    for sent in &acked.sends {
        let Some((message, deliveries)) = store.message(&sent.id).unwrap() else {
            findings.lost_sends += 1;
            continue;
        };
        assert_eq!(message.idempotency_key.as_deref(), Some(sent.key.as_str()));
        let ids: HashSet<DeliveryId> = deliveries.iter().map(|d| d.id.clone()).collect();
        assert_eq!(ids, sent.deliveries, "the deliveries of {}", sent.key);
        for delivery in &deliveries {
            assert!(
                matches!(
                    delivery.state,
                    DeliveryState::Queued | DeliveryState::Injecting
                ),
                "{} of {} is {:?}, not pending",
                delivery.id,
                sent.key,
                delivery.state
            );
        }
        intact.push(sent);
    }
    for id in &acked.claims {
        match store.delivery(id).unwrap() {
            Some(d) if d.state == DeliveryState::Injecting => {}
            _ => findings.lost_claims += 1,
        }
    }
    resend(&store, &intact);
    claim_all(&store, &queued);
    intact.into_iter().cloned().collect()
}

/// Every acknowledged key, sent again, is a duplicate of its message.
fn resend(store: &Store, sends: &[&Sent]) {
    std::thread::scope(|s| {
        for chunk in sends.chunks(sends.len().div_ceil(SENDERS as usize).max(1)) {
            s.spawn(move || {
                for sent in chunk {
                    let receipt = store.send(message(sent.from, &sent.to, &sent.key)).unwrap();
                    assert!(receipt.duplicate, "{} was forgotten", sent.key);
                    assert_eq!(receipt.message.id, sent.id, "{} changed message", sent.key);
                }
            });
        }
    });
}

/// Claims every queued delivery from three threads at once: each exactly once.
fn claim_all(store: &Store, queued: &HashSet<DeliveryId>) {
    let claimed: Vec<DeliveryId> = std::thread::scope(|s| {
        let claimers: Vec<_> = (0..3)
            .map(|k| {
                s.spawn(move || {
                    let mut claimed = Vec::new();
                    let mut empty = 0;
                    let mut n = k;
                    while empty < AGENTS.len() {
                        match store.claim_next(AGENTS[n % AGENTS.len()], "check").unwrap() {
                            Some((delivery, _)) => {
                                claimed.push(delivery.id);
                                empty = 0;
                            }
                            None => empty += 1,
                        }
                        n += 1;
                    }
                    claimed
                })
            })
            .collect();
        claimers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let unique: HashSet<DeliveryId> = claimed.iter().cloned().collect();
    assert_eq!(unique.len(), claimed.len(), "a delivery was claimed twice");
    assert_eq!(&unique, queued, "the claims are not the queued deliveries");
}

fn add(total: &mut Recovery, one: Recovery) {
    total.ranges_restored += one.ranges_restored;
    total.bytes_truncated += one.bytes_truncated;
    total.files_removed += one.files_removed;
    total.files_restored += one.files_restored;
    total.databases_rolled_back += one.databases_rolled_back;
}

/// `points` power cuts under a send load, each checked.
fn run(synchronous: Synchronous, points: u64, seed: u64) -> Findings {
    let dir = tempfile::tempdir().unwrap();
    let disk = Disk::register();
    let mut rng = Rng(seed | 1);
    let mut findings = Findings::default();
    let mut db = PathBuf::new();
    let mut intact: Vec<Sent> = Vec::new();
    for round in 0..points {
        if round % CUTS_PER_FILE == 0 {
            db = fresh_file(dir.path(), round / CUTS_PER_FILE);
            intact.clear();
        }
        let cut = rng.cut();
        findings.checkpoint_cuts += u64::from(matches!(cut, Cut::DatabaseWrite(_)));
        let acked = run_until_cut(&db, disk, synchronous, cut, round);
        add(&mut findings.dropped, disk.recover());
        intact.extend(check(&db, &acked, &mut findings));
        findings.cuts += 1;
        if (round + 1) % CUTS_PER_FILE == 0 || round + 1 == points {
            // Every send found intact after its own cut is still there
            // after every later cut on the same file.
            let store = Store::open(&db, options(Synchronous::Full, None)).unwrap();
            for sent in &intact {
                let (_, deliveries) = store
                    .message(&sent.id)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{} lost by a later cut", sent.key));
                assert_eq!(deliveries.len(), sent.deliveries.len(), "{}", sent.key);
            }
        }
    }
    findings
}

#[test]
fn acknowledged_sends_survive_power_loss() {
    let points = env_u64("COURIER_POWER_LOSS_POINTS").unwrap_or(DEFAULT_POINTS);
    let seed = seed();
    eprintln!("power-loss seed {seed} (COURIER_POWER_LOSS_SEED={seed} replays its cut points)");
    let start = Instant::now();
    let findings = run(Synchronous::Full, points, seed);
    eprintln!(
        "synchronous=FULL: {findings:?}, {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(
        findings.lost_sends, 0,
        "acknowledged sends lost: {findings:?}"
    );
    assert_eq!(
        findings.lost_claims, 0,
        "acknowledged claims lost: {findings:?}"
    );
    assert!(findings.acked_sends > 0, "the load acknowledged nothing");
    assert!(
        findings.dropped.ranges_restored + findings.dropped.bytes_truncated as usize > 0,
        "no cut found a write to drop: {findings:?}"
    );
    assert!(
        findings.dropped.databases_rolled_back > 0,
        "no cut fell inside a checkpoint: {findings:?}"
    );
}

#[test]
fn without_synced_commits_the_layer_loses_acknowledged_sends() {
    let seed = seed();
    eprintln!("power-loss seed {seed} (COURIER_POWER_LOSS_SEED={seed} replays its cut points)");
    let start = Instant::now();
    let findings = run(Synchronous::Normal, NORMAL_POINTS, seed);
    eprintln!(
        "synchronous=NORMAL: {findings:?}, {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert!(
        findings.lost_sends > 0,
        "synchronous=NORMAL lost no acknowledged send: the layer drops nothing ({findings:?})"
    );
}

// The layer itself, on a bare connection.

fn open_on(disk: &Disk, db: &Path) -> Connection {
    Connection::open_with_flags_and_vfs(db, OpenFlags::default(), disk.name()).unwrap()
}

fn rows(db: &Path) -> Vec<i64> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_cut_keeps_synced_commits_and_drops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let disk = Disk::register();
    let conn = open_on(disk, &db);
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);
         PRAGMA synchronous = OFF; INSERT INTO t VALUES (2);",
    )
    .unwrap();
    disk.cut();
    let after = conn.execute("INSERT INTO t VALUES (3)", []);
    assert!(after.is_err(), "a write after the cut must fail");
    drop(conn);
    let dropped = disk.recover();
    assert!(dropped.bytes_truncated > 0, "{dropped:?}");
    assert_eq!(rows(&db), [1], "the unsynced commit must be gone");
}

#[test]
fn a_counted_cut_fails_the_operation_it_lands_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let disk = Disk::register();
    let conn = open_on(disk, &db);
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);",
    )
    .unwrap();
    // A commit in WAL mode writes at least one frame, then syncs: a cut at
    // its first operation fails it, and nothing of it survives.
    disk.cut_after(1);
    assert!(conn.execute("INSERT INTO t VALUES (2)", []).is_err());
    assert!(disk.is_cut());
    drop(conn);
    disk.recover();
    assert_eq!(rows(&db), [1]);
}

#[test]
fn a_file_whose_directory_was_never_synced_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let disk = Disk::register();
    let conn = open_on(disk, &db);
    // Rollback journal and no sync at all: nothing ever syncs the directory.
    conn.execute_batch("PRAGMA synchronous = OFF; CREATE TABLE t (x INTEGER);")
        .unwrap();
    assert!(db.exists());
    disk.cut();
    drop(conn);
    let dropped = disk.recover();
    assert!(
        !db.exists(),
        "the database file was never durable: {dropped:?}"
    );
}

/// In rollback-journal mode, `synchronous=FULL` commits by deleting the
/// journal without syncing the directory: after a cut the journal is back
/// and the commit rolls back (SQLite's documented reason for `EXTRA`).
#[test]
fn an_unsynced_delete_comes_back() {
    for (synchronous, survives) in [("FULL", false), ("EXTRA", true)] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let setup = Connection::open(&db).unwrap();
        setup
            .execute_batch("PRAGMA journal_mode = DELETE; CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        drop(setup);
        let disk = Disk::register();
        let conn = open_on(disk, &db);
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {synchronous}; INSERT INTO t VALUES (2);"
        ))
        .unwrap();
        disk.cut();
        drop(conn);
        let dropped = disk.recover();
        let expected: &[i64] = if survives { &[1, 2] } else { &[1] };
        assert_eq!(
            rows(&db),
            expected,
            "synchronous={synchronous}: {dropped:?}"
        );
    }
}
