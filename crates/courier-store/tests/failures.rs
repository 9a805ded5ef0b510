//! Failures are loud and lossless: full disk, read-only, corrupt or too-new files.

mod common;

use common::*;
use courier_store::{SCHEMA_VERSION, Store, StoreError, StoreOptions};

fn state(store: &Store) -> (Vec<courier_core::Event>, Vec<courier_core::Delivery>, usize) {
    (
        all_events(store),
        store.pending().unwrap(),
        store.queue_depth("bob").unwrap(),
    )
}

#[test]
fn a_full_disk_refuses_sends_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courier.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    with_agents(&store, &["alice", "bob", "carol"]);
    store.send(msg("alice", "*", "before")).unwrap();
    let before = state(&store);
    let pages: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    store.set_max_page_count(Some(pages as u64)).unwrap();
    let big = "x".repeat(60 * 1024);
    for _ in 0..3 {
        let err = store.send(msg("alice", "*", &big)).unwrap_err();
        assert_eq!(err, StoreError::DiskFull { path: path.clone() });
        assert!(err.to_string().contains("courier.db"), "{err}");
    }
    assert_eq!(
        state(&store),
        before,
        "reads show exactly the pre-failure state"
    );
    store.set_max_page_count(None).unwrap();
    let after = store.send(msg("alice", "*", &big)).unwrap();
    assert_eq!(
        after.events[0].seq,
        before.0.last().unwrap().seq + 1,
        "seq stays gap-free"
    );
    drop(store);
    let reopened = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(reopened.pending().unwrap().len(), 4);
    all_events(&reopened);
}

#[test]
fn a_read_only_connection_refuses_writes_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courier.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    with_agents(&store, &["alice", "bob"]);
    store.send(msg("alice", "bob", "kept")).unwrap();
    let before = state(&store);
    store.set_query_only(true).unwrap();
    let err = store.send(msg("alice", "bob", "refused")).unwrap_err();
    assert_eq!(err, StoreError::ReadOnly { path: path.clone() });
    assert!(err.to_string().contains("courier.db"), "{err}");
    assert_eq!(state(&store), before);
    store.set_query_only(false).unwrap();
    let ok = store.send(msg("alice", "bob", "again")).unwrap();
    assert_eq!(ok.events[0].seq, before.0.last().unwrap().seq + 1);
}

#[test]
fn a_file_that_cannot_be_written_opens_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courier.db");
    {
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        with_agents(&store, &["alice", "bob"]);
        store.send(msg("alice", "bob", "kept")).unwrap();
    }
    // We may run as root, so permissions alone do not stop writes; the
    // immutable attribute does (where the filesystem supports it).
    let chattr = |flag: &str| {
        std::process::Command::new("chattr")
            .arg(flag)
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).unwrap();
    let immutable = chattr("+i");
    let result = std::panic::catch_unwind(|| {
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        if !immutable && !store.is_read_only() {
            eprintln!("note: cannot make {path:?} unwritable here (root without chattr)");
            return;
        }
        assert!(store.is_read_only());
        assert_eq!(store.pending().unwrap().len(), 1, "reads still work");
        let err = store.send(msg("alice", "bob", "refused")).unwrap_err();
        assert_eq!(err, StoreError::ReadOnly { path: path.clone() });
        assert_eq!(store.pending().unwrap().len(), 1);
    });
    if immutable {
        chattr("-i");
    }
    result.unwrap();
}

#[test]
fn a_corrupt_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    let bytes: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains("garbage.db"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["garbage.db"], "no WAL or journal left behind");
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE t (x); PRAGMA user_version = {};",
            SCHEMA_VERSION + 1
        ))
        .unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert_eq!(
        err,
        StoreError::SchemaTooNew {
            path: path.clone(),
            found: SCHEMA_VERSION + 1,
            supported: SCHEMA_VERSION
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("future.db") && text.contains(&format!("{}", SCHEMA_VERSION + 1)),
        "{text}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_missing_directory_names_the_file() {
    let err = Store::open("/nonexistent/dir/courier.db", StoreOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/dir/courier.db"),
        "{err}"
    );
}
