//! Power-loss tests. The layer (`power_loss/vfs.rs`, a SQLite VFS over the
//! `unix` one) drops every write not yet synced when the power is cut; these
//! tests show it does, on a bare connection.

#[path = "power_loss/vfs.rs"]
mod vfs;

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use vfs::Disk;

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
