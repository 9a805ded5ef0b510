//! The writer thread: the only owner of the write connection, with group commit.
//!
//! Requests arrive on a channel. The writer takes the first one, drains every
//! other request already waiting (up to `max_batch`), and runs them in ONE
//! transaction, each inside its own `SAVEPOINT`:
//!
//! - a request whose logic fails (unknown agent, invalid transition, ...)
//!   rolls back its savepoint only and gets its own error;
//! - then the writer `COMMIT`s once (one fsync for the whole batch), sends
//!   the batch's events to subscribers in `seq` order, and only then answers
//!   every caller;
//! - if the transaction itself fails (COMMIT, disk full that aborted the
//!   transaction, ...), it is rolled back, nothing of the batch is visible,
//!   and every caller of the batch gets that storage error.
//!
//! Answers travel on `oneshot` channels, so callers may block or `.await`.

use std::path::{Path, PathBuf};

use courier_core::{Event, EventKind, Timestamp};
use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;

use crate::error::{SqlContext, StoreError};
use crate::options::StoreOptions;
use crate::rows;

/// What a request sees while it runs inside its savepoint.
pub(crate) struct Ctx<'a> {
    pub conn: &'a Connection,
    pub path: &'a Path,
    pub opts: &'a StoreOptions,
    /// The time of this request (one reading of the clock).
    pub now: Timestamp,
    /// Events written by this request so far.
    pub events: Vec<Event>,
    ids: &'a mut ulid::Generator,
    subscribers: &'a mut Vec<Subscriber>,
}

impl Ctx<'_> {
    /// Appends an event to the log (same transaction as the state change).
    pub fn emit(&mut self, kind: EventKind) -> Result<Event, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT INTO events (time, kind, data) VALUES (?1, ?2, ?3)")
            .during(self.path, "preparing an event insert")?;
        stmt.execute(rusqlite::params![
            self.now.as_millis(),
            kind.name(),
            rows::event_data(&kind)
        ])
        .during(self.path, "appending an event")?;
        let seq = u64::try_from(self.conn.last_insert_rowid()).unwrap_or(0);
        let event = Event {
            seq,
            time: self.now,
            kind,
        };
        self.events.push(event.clone());
        Ok(event)
    }

    /// A new id, sortable by creation time and increasing within this store.
    pub fn mint(&mut self) -> String {
        match self.ids.generate() {
            Ok(id) => id.to_string(),
            Err(overflow) => overflow.commit_overflow_increment().to_string(),
        }
    }

    /// Registers a subscriber that receives events with `seq > after`.
    pub fn subscribe(&mut self, after: u64, tx: Sender<Event>) {
        self.subscribers.push(Subscriber { after, tx });
    }
}

pub(crate) struct Subscriber {
    after: u64,
    tx: Sender<Event>,
}

/// A request that runs in the batch's transaction.
pub(crate) trait TxJob: Send {
    /// Runs the request; `Err` means its savepoint must be rolled back.
    fn run(&mut self, ctx: &mut Ctx<'_>) -> Result<(), StoreError>;
    /// Answers the caller once the batch's fate is known.
    fn answer(self: Box<Self>, batch: Result<(), StoreError>);
}

/// Work done on the bare connection, outside any transaction.
pub(crate) type DirectJob = Box<dyn FnOnce(&Connection, &Path) + Send>;

/// Work for the writer thread.
pub(crate) enum Job {
    Tx(Box<dyn TxJob>),
    /// Runs on the connection outside any transaction (fault-injection hooks).
    Direct(DirectJob),
}

/// A caller's request and the channel its answer goes back on.
pub(crate) struct Call<T, F> {
    op: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Call<T, F> {
    pub fn new(op: F, reply: oneshot::Sender<Result<T, StoreError>>) -> Self {
        Call {
            op: Some(op),
            result: None,
            reply,
        }
    }
}

impl<T, F> TxJob for Call<T, F>
where
    T: Send,
    F: FnOnce(&mut Ctx<'_>) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, ctx: &mut Ctx<'_>) -> Result<(), StoreError> {
        let Some(op) = self.op.take() else {
            return Ok(());
        };
        let result = op(ctx);
        let status = result.as_ref().map(|_| ()).map_err(Clone::clone);
        self.result = Some(result);
        status
    }

    fn answer(self: Box<Self>, batch: Result<(), StoreError>) {
        let answer = match (batch, self.result) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::WriterGone {
                path: PathBuf::from("(request never ran)"),
            }),
        };
        // The caller may have stopped waiting; nothing to do then.
        let _ = self.reply.send(answer);
    }
}

pub(crate) struct Writer {
    pub conn: Connection,
    pub path: PathBuf,
    pub opts: StoreOptions,
    ids: ulid::Generator,
    subscribers: Vec<Subscriber>,
    stats: std::sync::Arc<Stats>,
}

/// What the writer did so far, for tests and benchmarks to see batching.
#[derive(Debug, Default)]
pub struct Stats {
    /// Transactions committed (one fsync each with `synchronous=FULL`).
    pub commits: std::sync::atomic::AtomicU64,
    /// Requests answered by those commits.
    pub requests: std::sync::atomic::AtomicU64,
}

/// The batch in progress.
#[derive(Default)]
struct Batch {
    open: bool,
    done: Vec<Box<dyn TxJob>>,
    events: Vec<Event>,
}

impl Writer {
    pub fn new(
        conn: Connection,
        path: PathBuf,
        opts: StoreOptions,
        stats: std::sync::Arc<Stats>,
    ) -> Self {
        Writer {
            conn,
            path,
            opts,
            ids: ulid::Generator::new(),
            subscribers: Vec::new(),
            stats,
        }
    }

    /// Serves requests until every sender is gone.
    pub fn run(mut self, jobs: Receiver<Job>) {
        let max = self.opts.max_batch.max(1);
        while let Ok(first) = jobs.recv() {
            let mut batch = Batch::default();
            self.execute(first, &mut batch);
            for job in jobs.try_iter().take(max - 1) {
                self.execute(job, &mut batch);
            }
            self.commit(&mut batch);
        }
        tracing::debug!(path = %self.path.display(), "store writer stopped");
    }

    fn execute(&mut self, job: Job, batch: &mut Batch) {
        match job {
            Job::Direct(f) => {
                self.commit(batch);
                f(&self.conn, &self.path);
            }
            Job::Tx(job) => self.execute_tx(job, batch),
        }
    }

    fn execute_tx(&mut self, mut job: Box<dyn TxJob>, batch: &mut Batch) {
        if !batch.open {
            if let Err(e) = self.sql("BEGIN IMMEDIATE", "beginning a transaction") {
                tracing::warn!(path = %self.path.display(), error = %e, "store write refused");
                job.answer(Err(e));
                return;
            }
            batch.open = true;
        }
        if let Err(e) = self.sql("SAVEPOINT request", "opening a savepoint") {
            self.abort(batch, e.clone());
            job.answer(Err(e));
            return;
        }
        let mut ctx = Ctx {
            conn: &self.conn,
            path: &self.path,
            opts: &self.opts,
            now: self.opts.clock.now(),
            events: Vec::new(),
            ids: &mut self.ids,
            subscribers: &mut self.subscribers,
        };
        let status = job.run(&mut ctx);
        let events = ctx.events;
        match status {
            Ok(()) => match self.sql("RELEASE request", "releasing a savepoint") {
                Ok(()) => {
                    batch.events.extend(events);
                    batch.done.push(job);
                }
                Err(e) => {
                    self.abort(batch, e.clone());
                    job.answer(Err(e));
                }
            },
            Err(own) => {
                if own.is_storage() {
                    tracing::warn!(path = %self.path.display(), error = %own, "store request failed");
                }
                let undo = self
                    .sql("ROLLBACK TO request", "rolling back a savepoint")
                    .and_then(|()| self.sql("RELEASE request", "releasing a savepoint"));
                if self.conn.is_autocommit() || undo.is_err() {
                    // SQLite gave up the whole transaction (e.g. disk full).
                    let cause = if own.is_storage() {
                        own
                    } else {
                        undo.err().unwrap_or_else(|| own.clone())
                    };
                    self.abort(batch, cause);
                }
                // Its own result (the error) is what this caller gets.
                job.answer(Ok(()));
            }
        }
    }

    /// Rolls back the open transaction and fails every request in it.
    fn abort(&mut self, batch: &mut Batch, cause: StoreError) {
        tracing::warn!(path = %self.path.display(), error = %cause, requests = batch.done.len(), "store transaction rolled back");
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        batch.open = false;
        batch.events.clear();
        for job in batch.done.drain(..) {
            job.answer(Err(cause.clone()));
        }
    }

    /// Commits the open transaction, publishes its events, answers its callers.
    fn commit(&mut self, batch: &mut Batch) {
        if !batch.open {
            return;
        }
        if let Err(e) = self.sql("COMMIT", "committing") {
            self.abort(batch, e);
            return;
        }
        batch.open = false;
        use std::sync::atomic::Ordering::Relaxed;
        self.stats.commits.fetch_add(1, Relaxed);
        self.stats
            .requests
            .fetch_add(batch.done.len() as u64, Relaxed);
        let events = std::mem::take(&mut batch.events);
        self.publish(&events);
        for job in batch.done.drain(..) {
            job.answer(Ok(()));
        }
    }

    fn publish(&mut self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        self.subscribers.retain(|sub| {
            events
                .iter()
                .filter(|e| e.seq > sub.after)
                .all(|e| sub.tx.send(e.clone()).is_ok())
        });
    }

    fn sql(&self, sql: &str, during: &'static str) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).during(&self.path, during)?;
        stmt.execute([]).map(|_| ()).during(&self.path, during)
    }
}
