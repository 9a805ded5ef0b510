//! Courier's durable store: SQLite in WAL mode behind one writer thread.
//!
//! # Components
//!
//! - [`Store`] (`store.rs`, `api.rs`, `queries.rs`): the handle. Writes are
//!   requests to the writer thread; reads are requests to the read pool
//!   (file stores) or to the writer thread (in-memory stores). Every
//!   operation has an `_async` form that awaits its answer on a `oneshot`
//!   and never blocks the caller's thread (what async code calls), and a
//!   blocking form built on the same request (the CLI and tests).
//! - `read_pool.rs`: the reader threads, each with its own read-only
//!   connection (WAL lets them read beside the writer); a read sees every
//!   write acknowledged before it was asked.
//! - `writer.rs`: the **group commit** writer. It drains every waiting
//!   request, runs each in its own SAVEPOINT of one transaction, COMMITs once
//!   (fsync with `synchronous=FULL`, the default), publishes the events, and
//!   only then answers each caller. An acknowledged write is durable.
//! - `ops/`: the writes (send, transitions, claim, agents and channels). Each
//!   asks `courier-core` for every decision (`NewMessage::validate`,
//!   `fanout::recipients`, `queue::evict`, `Delivery::apply`) and writes the
//!   state change and its events in the same transaction.
//! - `tokens.rs`: issued tokens (observers), stored as SHA-256 hashes only.
//! - `reads.rs`, `prune.rs`, `rows.rs` (row mapping), `schema.rs` (versioned
//!   migrations in `PRAGMA user_version`), `error.rs`, `options.rs`.
//!
//! # Guarantees
//!
//! - State and event log never disagree; event `seq`s are gap-free and never
//!   reused (`AUTOINCREMENT`, rolled back with a failed transaction).
//! - A failed write (disk full, read-only file, ...) refuses the request with
//!   a [`StoreError`] naming the file; the database keeps exactly what was
//!   committed before (the store caches no state outside SQLite), and the
//!   next successful write carries on from there.
//! - The queue cap (core counts pending = queued + in flight) holds for every
//!   way into a queue: a send or a replay drops the oldest queued deliveries
//!   with one `delivery_dropped`; a retry never exceeds it.
//! - Queue order: a delivery's place is the `seq` of the event that queued
//!   it. Retries keep their place; replays go to the back.

mod api;
mod check;
mod error;
mod federation;
mod ops;
mod options;
mod prune;
mod queries;
mod read_pool;
mod reads;
mod rows;
mod schema;
mod store;
mod tokens;
mod types;
mod writer;

pub use check::quick_check;
pub use error::{MEMORY_PATH, StoreError};
pub use federation::{ForwardPage, Inbound, InboundDelivery, RemoteAgent, RemoteOutcome, ReplyKey};
pub use options::{
    DEFAULT_IDEMPOTENCY_RETENTION, DEFAULT_READERS, PrunePolicy, PruneReport, StoreOptions,
    Synchronous,
};
pub use schema::{MIGRATIONS, SCHEMA_VERSION};
pub use store::Store;
pub use tokens::{NewToken, TokenRecord, TokenState};
pub use types::{AgentRecord, SendOutcome, SendReceipt, Subscription};
