//! Opening a database file and bringing its schema up to date.
//!
//! The schema version lives in `PRAGMA user_version`; [`MIGRATIONS`] holds one
//! SQL step per version, applied in order, each in its own transaction. A
//! file is probed *read-only first* (header, version) so that a corrupt file
//! or one written by a newer Courier is refused without a byte changing.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{SqlContext, StoreError};
use crate::options::Synchronous;

/// One step per schema version: `MIGRATIONS[n]` takes version `n` to `n + 1`.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1. Deliveries are ordered in their agent's queue by `queue_pos`,
/// the `seq` of the event that (re)queued them. `queue_counts` holds, per
/// agent, the number of queued and of pending (queued or in flight)
/// deliveries, kept by triggers: the cap check is one lookup and the counts
/// can never drift from the rows they count.
const V1: &str = r#"
CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    thread TEXT,
    idempotency_key TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_by_created ON messages(created_at);

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    sender TEXT NOT NULL,
    state TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    verification TEXT,
    reason TEXT,
    session TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    queue_pos INTEGER NOT NULL
);
CREATE INDEX deliveries_by_message ON deliveries(message_id);
CREATE INDEX deliveries_queued ON deliveries(agent, queue_pos) WHERE state = 'queued';
CREATE INDEX deliveries_pending ON deliveries(agent, queue_pos)
    WHERE state IN ('queued', 'injecting', 'injected');
CREATE INDEX deliveries_dead_letters ON deliveries(updated_at) WHERE state IN ('dropped', 'dead');
CREATE INDEX deliveries_finished ON deliveries(updated_at)
    WHERE state IN ('verified', 'unverified', 'dropped', 'dead');

CREATE TABLE queue_counts (
    agent TEXT PRIMARY KEY NOT NULL,
    queued INTEGER NOT NULL,
    pending INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries BEGIN
    INSERT INTO queue_counts (agent, queued, pending) VALUES (NEW.agent,
        NEW.state = 'queued', NEW.state IN ('queued', 'injecting', 'injected'))
        ON CONFLICT (agent) DO UPDATE SET queued = queued + excluded.queued,
            pending = pending + excluded.pending;
END;
CREATE TRIGGER deliveries_count_update AFTER UPDATE OF state ON deliveries BEGIN
    UPDATE queue_counts SET
        queued = queued + (NEW.state = 'queued') - (OLD.state = 'queued'),
        pending = pending + (NEW.state IN ('queued', 'injecting', 'injected'))
            - (OLD.state IN ('queued', 'injecting', 'injected'))
        WHERE agent = NEW.agent AND OLD.state <> NEW.state;
END;
CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries BEGIN
    UPDATE queue_counts SET queued = queued - (OLD.state = 'queued'),
        pending = pending - (OLD.state IN ('queued', 'injecting', 'injected'))
        WHERE agent = OLD.agent;
END;

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_by_time ON events(time);

CREATE TABLE idempotency_keys (
    sender TEXT NOT NULL,
    key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (sender, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_created ON idempotency_keys(created_at);

CREATE TABLE agents (
    name TEXT PRIMARY KEY NOT NULL,
    spec TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE channel_members (
    channel TEXT NOT NULL,
    agent TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (channel, agent)
) WITHOUT ROWID;
CREATE INDEX channel_members_by_agent ON channel_members(agent);
"#;

/// Version 2: read receipts, channels and delivery modes. A delivery
/// records the `channel` that delivered it (`pty`, `hook`) and when its agent
/// `read` it; `read` is a finished state; each agent has a delivery `mode`
/// (`idle` by default). Deliveries already typed in by a version-1 broker went
/// through the terminal, so they get `channel = 'pty'`.
const V2: &str = r#"
ALTER TABLE deliveries ADD COLUMN channel TEXT;
ALTER TABLE deliveries ADD COLUMN read_at INTEGER;
UPDATE deliveries SET channel = 'pty'
    WHERE state IN ('injecting', 'injected', 'verified', 'unverified');
DROP INDEX deliveries_finished;
CREATE INDEX deliveries_finished ON deliveries(updated_at)
    WHERE state IN ('verified', 'unverified', 'dropped', 'dead', 'read');
CREATE INDEX deliveries_unread ON deliveries(agent, queue_pos)
    WHERE state IN ('verified', 'unverified');
ALTER TABLE agents ADD COLUMN mode TEXT NOT NULL DEFAULT 'idle';
"#;

/// Version 3: tokens the owner issued (observers). Only the SHA-256 of a
/// token is stored (`hash`, hex), never the token; a revoked token keeps
/// its row (`revoked_at`) so the list shows it.
const V3: &str = r#"
CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    label TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) WITHOUT ROWID;
"#;

/// Version 4: federation. A delivery forwarded to another host records
/// that host (`forwarded_to`) and the `seq` of the last event of that
/// host's log it mirrored (`remote_seq`, so a redelivered or late outcome
/// is applied once and in order); one received from another host records
/// where it came from (`origin_host`). `remote_agents` mirrors the
/// workspace directory (agents of other hosts, with their channels and
/// presence) so a send resolves them in its own transaction, even while
/// NATS is unreachable. `federation_cursors` holds how far the outcome
/// publisher got in this host's event log.
const V4: &str = r#"
ALTER TABLE deliveries ADD COLUMN forwarded_to TEXT;
ALTER TABLE deliveries ADD COLUMN origin_host TEXT;
ALTER TABLE deliveries ADD COLUMN remote_seq INTEGER;
CREATE TABLE remote_agents (
    name TEXT PRIMARY KEY NOT NULL,
    host TEXT NOT NULL,
    presence TEXT NOT NULL,
    channels TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE federation_cursors (
    name TEXT PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Version 5, replies (issue 21): each reply to a message, with its link
/// (`reply_to`), who gave it and how (`via`: `protocol`, a headless
/// agent's final answer to the turn the message started; `message`, a
/// message sent with `thread` set, then `message_id` is that message).
/// Kept apart from `messages`: a protocol reply is no message and is
/// delivered to nobody.
const V5: &str = r#"
CREATE TABLE replies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reply_to TEXT NOT NULL,
    sender TEXT NOT NULL,
    via TEXT NOT NULL,
    body TEXT NOT NULL,
    message_id TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX replies_by_reply_to ON replies(reply_to);
"#;

/// Version 6, no `IN` lists of more than two constants where rows are
/// written. SQLite evaluates `state IN ('a', 'b', 'c')` by building a
/// temporary table of the constants each time (two or fewer it compares
/// directly), and it evaluates the partial indexes' `WHERE` and the counting
/// triggers at every insert and update of a delivery: a claim, a transition
/// or an eviction built six such tables, a new delivery three (~10 % of the
/// writer's CPU, `sqlite3BtreeOpen`/`Close` in the profile). The same
/// conditions as `OR`s of equalities are plain comparisons. A query that
/// walks one of these indexes states the index's condition as written here
/// (`reads::PENDING`, `reads::FINISHED`) so the planner sees it is covered.
const V6: &str = r#"
DROP INDEX deliveries_pending;
CREATE INDEX deliveries_pending ON deliveries(agent, queue_pos)
    WHERE state = 'queued' OR state = 'injecting' OR state = 'injected';
DROP INDEX deliveries_finished;
CREATE INDEX deliveries_finished ON deliveries(updated_at)
    WHERE state = 'verified' OR state = 'unverified' OR state = 'dropped' OR state = 'dead'
        OR state = 'read';
DROP TRIGGER deliveries_count_insert;
CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries BEGIN
    INSERT INTO queue_counts (agent, queued, pending) VALUES (NEW.agent,
        NEW.state = 'queued',
        NEW.state = 'queued' OR NEW.state = 'injecting' OR NEW.state = 'injected')
        ON CONFLICT (agent) DO UPDATE SET queued = queued + excluded.queued,
            pending = pending + excluded.pending;
END;
DROP TRIGGER deliveries_count_update;
CREATE TRIGGER deliveries_count_update AFTER UPDATE OF state ON deliveries BEGIN
    UPDATE queue_counts SET
        queued = queued + (NEW.state = 'queued') - (OLD.state = 'queued'),
        pending = pending
            + (NEW.state = 'queued' OR NEW.state = 'injecting' OR NEW.state = 'injected')
            - (OLD.state = 'queued' OR OLD.state = 'injecting' OR OLD.state = 'injected')
        WHERE agent = NEW.agent AND OLD.state <> NEW.state;
END;
DROP TRIGGER deliveries_count_delete;
CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries BEGIN
    UPDATE queue_counts SET queued = queued - (OLD.state = 'queued'),
        pending = pending
            - (OLD.state = 'queued' OR OLD.state = 'injecting' OR OLD.state = 'injected')
        WHERE agent = OLD.agent;
END;
"#;

/// Version 7, replies from other hosts (issue 21 across federation): a
/// reply recorded on the host of the agent that gave it comes back to the
/// sender's host as an outcome, and is kept here with the host it came from
/// (`origin_host`) and the `seq` of its `message_replied` in that host's log
/// (`origin_seq`). The unique index is what applies each one once: an
/// outcome batch published again (after a crash of either host) finds its
/// row and adds nothing, the same rule as a delivery's `remote_seq`. Local
/// replies leave both NULL and are outside the index.
const V7: &str = r#"
ALTER TABLE replies ADD COLUMN origin_host TEXT;
ALTER TABLE replies ADD COLUMN origin_seq INTEGER;
CREATE UNIQUE INDEX replies_from_hosts ON replies(origin_host, origin_seq)
    WHERE origin_host IS NOT NULL;
"#;

/// Prepared statements kept per connection: more than the store uses, so
/// no statement is ever prepared twice.
const STATEMENT_CACHE: usize = 128;

/// Where the data lives.
#[derive(Debug, Clone)]
pub(crate) enum Target<'a> {
    /// A file, opened through the named SQLite VFS (`None`: the default).
    File(&'a Path, Option<&'a str>),
    Memory,
}

/// Process-wide SQLite settings, applied once before the first connection.
///
/// Memory statistics off: with them on (SQLite's default), every
/// `sqlite3_malloc`/`free` takes a global mutex to keep counters nobody here
/// reads (`sqlite3_memory_used`, the soft heap limit); that was ~10 % of the
/// writer's CPU under load (benchmarks/profiles/README.md). It can only be
/// set before SQLite initializes; if something in the process initialized
/// it first (a test registering a VFS), the call is refused and the default
/// stays, which changes nothing but speed.
fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called with the argument type that
        // SQLITE_CONFIG_MEMSTATUS takes (an int); SQLite itself refuses it
        // (SQLITE_MISUSE) when already initialized, and `Once` keeps two of
        // our threads from calling it at the same time.
        let rc =
            unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0) };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite already initialized: memory statistics stay on");
        }
    });
}

/// Opens `file` through `vfs` (SQLite's default when `None`).
fn open_file(file: &Path, flags: OpenFlags, vfs: Option<&str>) -> rusqlite::Result<Connection> {
    configure_sqlite();
    match vfs {
        None => Connection::open_with_flags(file, flags),
        Some(vfs) => Connection::open_with_flags_and_vfs(file, flags, vfs),
    }
}

/// An open, migrated write connection.
pub(crate) struct Opened {
    pub conn: Connection,
    /// The file could only be opened read-only: every write is refused.
    pub read_only: bool,
}

/// Opens (creating if needed) and migrates the write connection.
pub(crate) fn open_writer(
    target: Target<'_>,
    path: &Path,
    synchronous: Synchronous,
) -> Result<Opened, StoreError> {
    let conn = match target {
        Target::Memory => {
            configure_sqlite();
            Connection::open_in_memory()
        }
        Target::File(file, vfs) => open_file(
            file,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            vfs,
        )
        .or_else(|first| {
            tracing::warn!(path = %path.display(), error = %first, "cannot open read-write, trying read-only");
            open_file(file, read_only_flags(), vfs)
        }),
    }
    .map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let read_only = conn.is_readonly("main").during(path, "checking access")?;
    let found = probe(&conn, path)?;
    if read_only {
        tracing::warn!(path = %path.display(), "store opened read-only: every write will be refused");
        if found < SCHEMA_VERSION {
            return Err(StoreError::ReadOnly {
                path: path.to_path_buf(),
            });
        }
        return Ok(Opened { conn, read_only });
    }
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .during(path, "setting the busy timeout")?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .during(path, "switching to WAL")?;
    // temp_store = MEMORY keeps the per-request savepoint journals off disk.
    let pragmas = format!(
        "PRAGMA synchronous = {}; PRAGMA temp_store = MEMORY;",
        synchronous.pragma()
    );
    conn.execute_batch(&pragmas)
        .during(path, "setting synchronous")?;
    migrate(&conn, path, found)?;
    Ok(Opened { conn, read_only })
}

/// Opens a second, read-only connection to a file the writer already opened
/// (through the same VFS: `None` is SQLite's default).
pub(crate) fn open_reader(file: &Path, vfs: Option<&str>) -> Result<Connection, StoreError> {
    let conn = open_file(file, read_only_flags(), vfs).map_err(|e| StoreError::Open {
        path: file.to_path_buf(),
        detail: e.to_string(),
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .during(file, "setting the busy timeout")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn read_only_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// Reads the header and the schema version without writing anything.
fn probe(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    // Reading the schema catches files whose header is fine but whose first
    // page is not.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

fn migrate(conn: &Connection, path: &Path, found: i64) -> Result<(), StoreError> {
    let start = usize::try_from(found).unwrap_or(0);
    for (index, step) in MIGRATIONS.iter().enumerate().skip(start) {
        let version = index + 1;
        tracing::info!(path = %path.display(), version, "migrating store schema");
        let sql = format!("BEGIN IMMEDIATE; {step}; PRAGMA user_version = {version}; COMMIT;");
        if let Err(e) = conn.execute_batch(&sql) {
            // Leave the file as it was before this step.
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::sqlite(path, "migrating the schema", e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_gets_the_latest_version() {
        let opened = open_writer(Target::Memory, Path::new(":memory:"), Synchronous::Full).unwrap();
        let v: i64 = opened
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        assert!(!opened.read_only);
    }

    #[test]
    fn queue_lookups_use_the_partial_indexes() {
        let opened = open_writer(Target::Memory, Path::new(":memory:"), Synchronous::Full).unwrap();
        let plan = |sql: &str| -> String {
            let mut stmt = opened
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
        };
        let queued = plan(&crate::reads::oldest_queued_sql(1).replace("+?1", "'a'"));
        assert!(queued.contains("deliveries_queued"), "{queued}");
        let pending = plan(&format!(
            "SELECT id FROM deliveries WHERE {} ORDER BY agent, queue_pos",
            crate::reads::PENDING
        ));
        assert!(pending.contains("deliveries_pending"), "{pending}");
        let finished = plan(&format!(
            "SELECT id FROM deliveries WHERE {} AND updated_at < 5 LIMIT 3",
            crate::reads::FINISHED
        ));
        assert!(finished.contains("deliveries_finished"), "{finished}");
        let unread = plan(
            "SELECT id FROM deliveries WHERE agent = 'a' AND state IN ('verified', 'unverified') ORDER BY queue_pos",
        );
        assert!(unread.contains("deliveries_unread"), "{unread}");
    }
}
