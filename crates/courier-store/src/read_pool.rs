//! The read pool: a few reader threads, each with its own read-only
//! connection to the store's file, taking reads from one shared queue.
//!
//! Why threads: a SQLite read blocks its thread. Async callers hand the read
//! to the pool and await the answer on a `oneshot`, so no runtime thread ever
//! waits on the disk; blocking callers (CLI, tests) wait on the same answer.
//! WAL lets these connections read while the writer thread writes.
//!
//! Guarantees:
//! - Each read runs in its own read transaction, begun when a reader takes
//!   it. The writer answers a write only after its COMMIT, so a read asked
//!   after a write was acknowledged sees it (read-your-writes), and every
//!   read sees one consistent snapshot.
//! - Every read is answered. When the pool closes, reads still queued are
//!   dropped unrun; a read whose code panics is dropped too (the panic is
//!   caught, so the pool keeps its size). A dropped read closes its
//!   `oneshot`, which its caller turns into [`StoreError::ReaderGone`].
//!   Should every reader thread be gone, the queue has no receiver left and
//!   refuses new reads at once.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;

use crate::error::StoreError;
use crate::schema;

/// A read for one of the pool's connections; it answers its caller itself.
pub(crate) type ReadJob = Box<dyn FnOnce(&mut Connection, &Path) + Send>;

pub(crate) struct ReadPool {
    path: PathBuf,
    jobs: Option<Sender<ReadJob>>,
    /// Set by [`ReadPool::close`]: readers drop what is still queued.
    closed: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl ReadPool {
    /// Opens `readers` (at least one) read-only connections to `file`, and a
    /// thread for each. The connections are opened here so that a file that
    /// cannot be read fails the store's open, not its first read. `vfs`:
    /// the SQLite VFS to open them through (`None`: the default).
    pub fn open(file: &Path, readers: usize, vfs: Option<&str>) -> Result<ReadPool, StoreError> {
        let conns = (0..readers.max(1))
            .map(|_| schema::open_reader(file, vfs))
            .collect::<Result<Vec<_>, _>>()?;
        let (jobs, queue) = crossbeam_channel::unbounded();
        let mut pool = ReadPool {
            path: file.to_path_buf(),
            jobs: Some(jobs),
            closed: Arc::new(AtomicBool::new(false)),
            threads: Vec::with_capacity(conns.len()),
        };
        for (n, conn) in conns.into_iter().enumerate() {
            let reader = Reader {
                conn,
                path: pool.path.clone(),
                closed: pool.closed.clone(),
            };
            let queue = queue.clone();
            let thread = std::thread::Builder::new()
                .name(format!("courier-store-reader-{n}"))
                .spawn(move || reader.run(queue))
                .map_err(|e| StoreError::Open {
                    path: pool.path.clone(),
                    detail: format!("cannot start a reader thread: {e}"),
                })?;
            pool.threads.push(thread);
        }
        Ok(pool)
    }

    /// Queues `job`; `false` (and the job dropped, so its caller is
    /// answered) when the pool is closed or has no reader left.
    pub fn submit(&self, job: ReadJob) -> bool {
        self.jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok())
    }

    /// Stops taking reads and drops those still queued; reads already
    /// running finish. Does not wait for them (see [`ReadPool::close`]).
    fn refuse_queued(&mut self) {
        self.closed.store(true, Ordering::Release);
        self.jobs = None;
    }

    /// Refuses the queued reads and joins every reader thread.
    pub fn close(&mut self) {
        self.refuse_queued();
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::warn!(path = %self.path.display(), "store reader thread panicked");
            }
        }
    }
}

impl Drop for ReadPool {
    fn drop(&mut self) {
        self.close();
    }
}

/// One reader thread's state.
struct Reader {
    conn: Connection,
    path: PathBuf,
    closed: Arc<AtomicBool>,
}

impl Reader {
    /// Serves reads until the pool is closed and the queue is empty.
    fn run(mut self, queue: Receiver<ReadJob>) {
        while let Ok(job) = queue.recv() {
            if self.closed.load(Ordering::Acquire) {
                // Dropping the job closes its oneshot: its caller is answered.
                continue;
            }
            let ran =
                std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut self.conn, &self.path)));
            if ran.is_err() {
                tracing::warn!(path = %self.path.display(), "a store read panicked; its caller gets an error");
            }
        }
        tracing::debug!(path = %self.path.display(), "store reader stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreOptions};

    /// A pool on a real store file in a temp dir (kept alive by the guard).
    fn pool(readers: usize) -> (tempfile::TempDir, ReadPool) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pool.db");
        drop(Store::open(&file, StoreOptions::default()).unwrap());
        let pool = ReadPool::open(&file, readers, None).unwrap();
        (dir, pool)
    }

    /// A read that answers `last_seq` on `reply`.
    fn last_seq_job(reply: oneshot::Sender<Result<u64, StoreError>>) -> ReadJob {
        Box::new(move |conn, path| {
            let _ = reply.send(crate::reads::last_seq(conn, path));
        })
    }

    /// Takes the pool's only reader until the returned sender is dropped;
    /// returns once the reader is inside the job.
    fn hold_reader(pool: &ReadPool) -> std::sync::mpsc::Sender<()> {
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        assert!(pool.submit(Box::new(move |_, _| {
            started_tx.send(()).unwrap();
            let _ = released.recv();
        })));
        started.recv().unwrap();
        release
    }

    #[test]
    fn reads_queued_when_the_pool_closes_are_answered_with_an_error() {
        let (_dir, mut pool) = pool(1);
        let release = hold_reader(&pool);
        let (reply, answer) = oneshot::channel();
        assert!(pool.submit(last_seq_job(reply)));
        pool.refuse_queued();
        drop(release);
        // The queued read is dropped unrun: its oneshot closes (no hang).
        assert!(answer.recv().is_err());
        pool.close();
        let (reply, _answer) = oneshot::channel();
        assert!(
            !pool.submit(last_seq_job(reply)),
            "a closed pool takes no reads"
        );
    }

    #[test]
    fn a_panicking_read_is_answered_and_the_reader_keeps_serving() {
        let (_dir, pool) = pool(1);
        let (reply, answer) = oneshot::channel::<Result<u64, StoreError>>();
        assert!(pool.submit(Box::new(move |_, _| {
            let _keep = reply;
            panic!("a read with a bug");
        })));
        assert!(answer.recv().is_err());
        let (reply, answer) = oneshot::channel();
        assert!(pool.submit(last_seq_job(reply)));
        assert_eq!(answer.recv().unwrap(), Ok(0));
    }
}
