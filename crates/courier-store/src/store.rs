//! The [`Store`] handle: opening, the request/response plumbing to the writer
//! thread and to the read pool, fault-injection hooks and shutdown. The
//! operations themselves are in `api.rs` (writes) and `queries.rs` (reads).

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use rusqlite::Connection;

use crate::error::{MEMORY_PATH, SqlContext, StoreError};
use crate::options::StoreOptions;
use crate::read_pool::{ReadJob, ReadPool};
use crate::schema::{self, Target};
use crate::writer::{Call, Ctx, Job, Writer};

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

/// A durable (or, with [`Store::open_in_memory`], ephemeral) Courier store.
///
/// `Store` is `Send + Sync`: share it behind an `Arc`. Async code calls the
/// `_async` forms; the blocking forms are for the CLI and tests. Dropping it
/// (or [`Store::close`]) lets the writer finish the requests already queued
/// and joins its thread and the readers' (this waits: drop the last handle
/// outside the async runtime's threads, or accept that brief wait).
pub struct Store {
    path: PathBuf,
    jobs: Option<Sender<Job>>,
    reader: Reader,
    writer: Option<JoinHandle<()>>,
    read_only: bool,
    stats: std::sync::Arc<crate::writer::Stats>,
}

/// How reads reach the data.
enum Reader {
    /// File stores: the read pool (`read_pool.rs`), reader threads with
    /// read-only connections; WAL lets them read while the writer writes.
    /// Each read runs in one read transaction (a consistent snapshot of
    /// committed data).
    Pool(ReadPool),
    /// In-memory stores: reads are requests to the writer thread, served
    /// between its writes. An in-memory database belongs to the connection
    /// that made it; the ways to share one (shared cache, the `memdb` VFS)
    /// bring table locks or a rollback journal, so readers would block the
    /// writer's commits: the writer would no longer behave as it does on a
    /// file.
    Writer,
}

/// An answer the writer thread or a reader will give: for a write, once the
/// request's batch committed; for a read, once it ran.
pub(crate) struct Pending<T> {
    rx: Option<oneshot::Receiver<Result<T>>>,
    /// What the caller gets if the answer never comes (the thread that was
    /// to answer stopped, or the store closed first).
    unanswered: StoreError,
}

impl<T> Pending<T> {
    /// Blocks until the answer arrives.
    pub fn wait(self) -> Result<T> {
        match self.rx {
            Some(rx) => rx.recv().unwrap_or(Err(self.unanswered)),
            None => Err(self.unanswered),
        }
    }

    /// Waits without blocking the thread (any async runtime).
    pub async fn wait_async(self) -> Result<T> {
        match self.rx {
            Some(rx) => rx.await.unwrap_or(Err(self.unanswered)),
            None => Err(self.unanswered),
        }
    }
}

fn gone(path: &Path) -> StoreError {
    StoreError::WriterGone {
        path: path.to_path_buf(),
    }
}

impl Store {
    /// Opens (creating and migrating if needed) the store at `path`.
    ///
    /// A file that cannot be opened for writing is opened read-only: reads
    /// work and every write is refused with [`StoreError::ReadOnly`]. A
    /// corrupt file or one from a newer Courier is refused untouched.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        let path = path.as_ref();
        let vfs = options.vfs.as_deref();
        let opened = schema::open_writer(Target::File(path, vfs), path, options.synchronous)?;
        let reader = Reader::Pool(ReadPool::open(path, options.readers, vfs)?);
        tracing::info!(path = %path.display(), read_only = opened.read_only, "store opened");
        Self::start(path.to_path_buf(), opened, reader, options)
    }

    /// An ephemeral store in memory (same code, nothing survives the process).
    pub fn open_in_memory(options: StoreOptions) -> Result<Store> {
        let path = Path::new(MEMORY_PATH);
        let opened = schema::open_writer(Target::Memory, path, options.synchronous)?;
        Self::start(path.to_path_buf(), opened, Reader::Writer, options)
    }

    fn start(
        path: PathBuf,
        opened: schema::Opened,
        reader: Reader,
        options: StoreOptions,
    ) -> Result<Store> {
        let (jobs, inbox) = crossbeam_channel::unbounded();
        let stats = std::sync::Arc::new(crate::writer::Stats::default());
        let writer = Writer::new(opened.conn, path.clone(), options, stats.clone());
        let handle = std::thread::Builder::new()
            .name("courier-store-writer".into())
            .spawn(move || writer.run(inbox))
            .map_err(|e| StoreError::Open {
                path: path.clone(),
                detail: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Store {
            stats,
            path,
            jobs: Some(jobs),
            reader,
            writer: Some(handle),
            read_only: opened.read_only,
        })
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file could only be opened read-only; every write is refused.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Sends `op` to the writer thread; it runs in its own savepoint of the
    /// next group commit and is answered after that commit.
    pub(crate) fn call<T, F>(&self, op: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx<'_>) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job = Job::Tx(Box::new(Call::new(op, tx)));
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        Pending {
            rx: sent.then_some(rx),
            unanswered: gone(&self.path),
        }
    }

    /// Asks for a read on a consistent snapshot of committed data, without
    /// waiting: a reader of the pool (or, in memory, the writer) answers.
    /// `operation` (e.g. "reading agents") names it if it is never answered.
    pub(crate) fn query<T, F>(&self, operation: &'static str, f: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Path) -> Result<T> + Send + 'static,
    {
        let pool = match &self.reader {
            Reader::Pool(pool) => pool,
            Reader::Writer => return self.call(move |ctx| f(ctx.conn, ctx.path)),
        };
        let (reply, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn, path| {
            let answer = conn
                .transaction()
                .during(path, "starting a read")
                .and_then(|snapshot| f(&snapshot, path));
            // The caller may have stopped waiting; nothing to do then.
            let _ = reply.send(answer);
        });
        Pending {
            rx: pool.submit(job).then_some(rx),
            unanswered: StoreError::ReaderGone {
                path: self.path.clone(),
                operation,
            },
        }
    }

    /// A read, blocking the calling thread until answered (CLI, tests).
    pub(crate) fn read<T, F>(&self, operation: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Path) -> Result<T> + Send + 'static,
    {
        self.query(operation, f).wait()
    }

    /// A read awaited without blocking the calling thread (async code).
    pub(crate) async fn read_async<T, F>(&self, operation: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Path) -> Result<T> + Send + 'static,
    {
        self.query(operation, f).wait_async().await
    }

    /// Runs `f` on the write connection between transactions.
    fn direct<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Path) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let job = Job::Direct(Box::new(move |conn: &Connection, path: &Path| {
            let _ = tx.send(f(conn, path));
        }));
        match &self.jobs {
            Some(jobs) if jobs.send(job).is_ok() => {
                rx.recv().unwrap_or_else(|_| Err(gone(&self.path)))
            }
            _ => Err(gone(&self.path)),
        }
    }

    /// **Fault-injection hook** (tests): caps the database at `pages` pages
    /// (`PRAGMA max_page_count`) so writes that need more fail as with a full
    /// disk. `None` lifts the cap. Returns the cap now in force.
    pub fn set_max_page_count(&self, pages: Option<u64>) -> Result<u64> {
        let pages = pages.unwrap_or(u64::from(u32::MAX - 1));
        self.direct(move |conn, path| {
            let sql = format!("PRAGMA max_page_count = {pages}");
            conn.query_row(&sql, [], |r| r.get::<_, i64>(0))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .during(path, "setting max_page_count")
        })
    }

    /// **Fault-injection hook** (tests): `PRAGMA query_only` on the write
    /// connection, so every write fails as on a read-only file.
    pub fn set_query_only(&self, on: bool) -> Result<()> {
        self.direct(move |conn, path| {
            conn.execute_batch(&format!("PRAGMA query_only = {}", u8::from(on)))
                .during(path, "setting query_only")
        })
    }

    /// Finishes the queued writes and stops the writer thread, then the
    /// readers (a read still queued is answered with
    /// [`StoreError::ReaderGone`]).
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.jobs = None;
        if let Some(handle) = self.writer.take()
            && handle.join().is_err()
        {
            tracing::warn!(path = %self.path.display(), "store writer thread panicked");
        }
        if let Reader::Pool(pool) = &mut self.reader {
            pool.close();
        }
    }
}

impl Store {
    /// (transactions committed, requests they answered) so far: with
    /// concurrent callers, fewer commits than requests is group commit at work.
    pub fn write_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.stats.commits.load(Relaxed),
            self.stats.requests.load(Relaxed),
        )
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::{Arc, mpsc};
    use std::task::{Context, Poll, Wake, Waker};

    use super::*;
    use crate::types::AgentRecord;

    /// Wakes the test's thread when an answer arrives.
    struct Unpark(std::thread::Thread);

    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    fn one_reader(dir: &tempfile::TempDir) -> Store {
        let options = StoreOptions {
            readers: 1,
            ..StoreOptions::default()
        };
        Store::open(dir.path().join("store.db"), options).unwrap()
    }

    /// Keeps the only reader busy until the returned sender is dropped.
    fn hold_reader(store: &Store) -> (mpsc::Sender<()>, Pending<()>) {
        let (started_tx, started) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let held = store.query("holding the reader", move |_, _| {
            started_tx.send(()).unwrap();
            let _ = released.recv();
            Ok(())
        });
        started.recv().unwrap();
        (release, held)
    }

    /// An async read hands its work to the pool and returns: polled while
    /// every reader is busy, it is pending, and the caller's thread is free.
    #[test]
    fn an_async_read_never_blocks_its_caller() {
        let dir = tempfile::tempdir().unwrap();
        let store = one_reader(&dir);
        store
            .upsert_agent(AgentRecord::new("bob", serde_json::json!({})))
            .unwrap();
        let (release, held) = hold_reader(&store);
        let mut read = std::pin::pin!(store.agents_async());
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        assert!(read.as_mut().poll(&mut cx).is_pending());
        drop(release);
        held.wait().unwrap();
        let agents = loop {
            if let Poll::Ready(answer) = read.as_mut().poll(&mut cx) {
                break answer.unwrap();
            }
            std::thread::park();
        };
        assert_eq!(agents.len(), 1);
    }

    /// Reads do not queue behind the writer: while a write's transaction is
    /// open (its request still running), the pool answers from the last
    /// commit, and once the write is acknowledged a read sees it.
    #[test]
    fn reads_are_answered_beside_an_open_write_and_see_it_once_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let store = one_reader(&dir);
        let (inside_tx, inside) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let write = store.call(move |ctx| {
            crate::ops::agents::upsert_agent(ctx, AgentRecord::new("bob", serde_json::json!({})))?;
            inside_tx.send(()).unwrap();
            let _ = released.recv();
            Ok(())
        });
        inside.recv().unwrap();
        assert_eq!(store.agents().unwrap(), [], "uncommitted work is not seen");
        drop(release);
        write.wait().unwrap();
        assert_eq!(store.agents().unwrap().len(), 1);
    }

    /// A read that never gets its answer (here: its code panics, so the
    /// reader drops it; the same as a read still queued when the store
    /// closes) is an error naming the file and the operation, not a hang.
    #[test]
    fn an_unanswered_read_names_the_operation_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = one_reader(&dir);
        let read: Pending<()> = store.query("reading agents", |_, _| panic!("a bug in a read"));
        let err = read.wait().unwrap_err();
        assert_eq!(
            err,
            StoreError::ReaderGone {
                path: dir.path().join("store.db"),
                operation: "reading agents"
            }
        );
        assert!(
            err.to_string().contains("store.db")
                && err.to_string().contains("while reading agents")
        );
        assert_eq!(store.agents().unwrap(), [], "the reader still serves");
    }

    /// The broker awaits these inside spawned tasks: they must be `Send`.
    #[test]
    fn async_forms_are_send() {
        fn send<T: Send>(_: T) {}
        let store = Store::open_in_memory(StoreOptions::default()).unwrap();
        send(store.agents_async());
        send(store.inbox_async("bob", 1));
        send(store.set_mode_async("bob", courier_core::DeliveryMode::Idle));
        send(store.subscribe_async());
    }
}
