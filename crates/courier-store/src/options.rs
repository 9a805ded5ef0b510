//! How a store is opened and pruned. Every default is documented on its field.

use std::sync::Arc;
use std::time::Duration;

use courier_core::message::DEFAULT_MAX_BODY_BYTES;
use courier_core::queue::DEFAULT_QUEUE_CAP;
use courier_core::retry::RetryPolicy;
use courier_core::time::{Clock, SystemClock};

/// Default idempotency retention: a key is remembered for 24 hours.
pub const DEFAULT_IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// Default reader threads of a file store: the broker's reads are short
/// indexed lookups, and a second reader keeps one long read (an events page,
/// an inbox) from holding up the others, without taking a core per agent.
pub const DEFAULT_READERS: usize = 2;

/// SQLite's `synchronous` setting for the write connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// fsync on every commit: an acknowledged send survives power loss (default).
    #[default]
    Full,
    /// WAL without fsync per commit: survives a process crash, not power loss.
    Normal,
}

impl Synchronous {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Options of [`crate::Store::open`].
#[derive(Clone)]
pub struct StoreOptions {
    /// Default [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// Queued deliveries per agent before the oldest is dropped. Default 256.
    pub queue_cap: usize,
    /// Attempts before a delivery is dead. Default 3.
    pub retry: RetryPolicy,
    /// How long an idempotency key is remembered. Default 24 h.
    pub idempotency_retention: Duration,
    /// Largest body accepted, in bytes. Default 64 KiB.
    pub max_body_bytes: usize,
    /// Where "now" comes from. Default the system clock; tests use `ManualClock`.
    pub clock: Arc<dyn Clock>,
    /// Most requests committed together by one group commit. Default 1024.
    pub max_batch: usize,
    /// Reader threads of a file store, each with its own read-only
    /// connection (WAL lets them read beside the writer). Default
    /// [`DEFAULT_READERS`]; 0 counts as 1. An in-memory store has none: its
    /// reads are answered by the writer thread.
    pub readers: usize,
    /// The SQLite VFS, by its registered name, that every connection of a
    /// file store opens its file with. Default `None`: SQLite's default VFS
    /// (`unix`). Tests name a VFS that simulates power loss
    /// (`tests/power_loss/vfs.rs` and `vfs_layer.rs`); nothing else needs
    /// this.
    pub vfs: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            synchronous: Synchronous::Full,
            queue_cap: DEFAULT_QUEUE_CAP,
            retry: RetryPolicy::default(),
            idempotency_retention: DEFAULT_IDEMPOTENCY_RETENTION,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            clock: Arc::new(SystemClock),
            max_batch: 1024,
            readers: DEFAULT_READERS,
            vfs: None,
        }
    }
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("synchronous", &self.synchronous)
            .field("queue_cap", &self.queue_cap)
            .field("retry", &self.retry)
            .field("idempotency_retention", &self.idempotency_retention)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("now", &self.clock.now())
            .field("max_batch", &self.max_batch)
            .field("readers", &self.readers)
            .field("vfs", &self.vfs)
            .finish()
    }
}

/// What [`crate::Store::prune`] may delete in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunePolicy {
    /// Events, and terminal deliveries (dead letters included) whose last
    /// change is older than this, are deleted; messages once they are older
    /// and have no delivery left.
    pub older_than: Duration,
    /// Most rows deleted by one call (all tables together), so one call has a
    /// bounded cost; call again while [`PruneReport::more`] is true.
    pub max_rows: usize,
}

/// What one [`crate::Store::prune`] call deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneReport {
    pub idempotency_keys: usize,
    pub events: usize,
    pub deliveries: usize,
    pub messages: usize,
    /// The row budget ran out: there may be more to prune.
    pub more: bool,
}

impl PruneReport {
    pub fn total(&self) -> usize {
        self.idempotency_keys + self.events + self.deliveries + self.messages
    }
}

/// Milliseconds of a duration, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
