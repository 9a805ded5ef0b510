//! Bounded deletion of old rows.
//!
//! One call deletes at most `max_rows` rows, in this order:
//! 1. idempotency keys older than the retention window (they no longer
//!    deduplicate anything);
//! 2. events older than `older_than` (the log keeps its `seq`s: later events
//!    are never renumbered and a pruned `seq` is never reused);
//! 3. terminal deliveries whose last change is older than `older_than`:
//!    verified, unverified and also dead letters (dropped, dead) — a dead
//!    letter is kept, listed and replayable for the whole `older_than`
//!    window, then goes like the others. Pending deliveries are never pruned;
//! 4. messages older than `older_than` with no delivery left.
//!
//! Each step uses an index on time, so a call costs O(max_rows · log n).

use rusqlite::params;

use crate::error::{SqlContext, StoreError};
use crate::options::{PrunePolicy, PruneReport, millis};
use crate::writer::Ctx;

const STEPS: [(&str, &str); 4] = [
    (
        "DELETE FROM idempotency_keys WHERE (sender, key) IN \
         (SELECT sender, key FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2)",
        "pruning idempotency keys",
    ),
    (
        "DELETE FROM events WHERE seq IN \
         (SELECT seq FROM events WHERE time < ?1 ORDER BY time LIMIT ?2)",
        "pruning events",
    ),
    (
        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
         WHERE state IN ('verified', 'unverified', 'dropped', 'dead', 'read') AND updated_at < ?1 LIMIT ?2)",
        "pruning deliveries",
    ),
    (
        "DELETE FROM messages WHERE id IN (SELECT id FROM messages AS m WHERE created_at < ?1 \
         AND NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.message_id = m.id) LIMIT ?2)",
        "pruning messages",
    ),
];

pub(crate) fn prune(ctx: &mut Ctx<'_>, policy: PrunePolicy) -> Result<PruneReport, StoreError> {
    let before = |ms: u64| {
        ctx.now
            .as_millis()
            .saturating_sub(i64::try_from(ms).unwrap_or(i64::MAX))
    };
    let key_cutoff = before(millis(ctx.opts.idempotency_retention));
    let cutoff = before(millis(policy.older_than));
    let mut budget = policy.max_rows;
    let mut counts = [0usize; 4];
    for (i, (sql, during)) in STEPS.iter().enumerate() {
        if budget == 0 {
            break;
        }
        let at = if i == 0 { key_cutoff } else { cutoff };
        let mut stmt = ctx.conn.prepare_cached(sql).during(ctx.path, during)?;
        let limit = i64::try_from(budget).unwrap_or(i64::MAX);
        let n = stmt.execute(params![at, limit]).during(ctx.path, during)?;
        counts[i] = n;
        budget -= n.min(budget);
    }
    let report = PruneReport {
        idempotency_keys: counts[0],
        events: counts[1],
        deliveries: counts[2],
        messages: counts[3],
        more: budget == 0,
    };
    if report.total() > 0 {
        tracing::info!(path = %ctx.path.display(), ?report, "pruned the store");
    }
    Ok(report)
}
