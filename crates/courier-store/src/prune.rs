//! Bounded deletion of old rows.
//!
//! One call deletes at most `max_rows` rows, in this order:
//! 1. idempotency keys older than the retention window (they no longer
//!    deduplicate anything);
//! 2. events older than `older_than` (the log keeps its `seq`s: later events
//!    are never renumbered and a pruned `seq` is never reused);
//! 3. finished deliveries (verified, unverified, read) whose last change is
//!    older than `older_than`. Pending deliveries are never pruned, and
//!    neither are dead letters (dropped, dead): the spec says nothing is
//!    deleted silently, so they stay listed and replayable until a person
//!    replays them;
//! 4. messages older than `older_than` with no delivery left — and, when
//!    they carry an idempotency key, older than the key's retention window
//!    too, so a resend inside the window is still answered `duplicate`;
//! 5. replies older than `older_than` whose message is gone.
//!
//! Each step uses an index on time, so a call costs O(max_rows · log n)
//! (plus the old dead letters that step 3 steps over: its condition repeats
//! the partial index's state condition word for word (`reads::FINISHED`), which is what lets SQLite
//! use that index, then leaves the dead letters out).

use rusqlite::params;

use crate::error::{SqlContext, StoreError};
use crate::options::{PrunePolicy, PruneReport, millis};
use crate::writer::Ctx;

const STEPS: [(&str, &str); 5] = [
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
         WHERE (state = 'verified' OR state = 'unverified' \
     OR state = 'dropped' OR state = 'dead' OR state = 'read') \
         AND state NOT IN ('dropped', 'dead') AND updated_at < ?1 LIMIT ?2)",
        "pruning deliveries",
    ),
    (
        "DELETE FROM messages WHERE id IN (SELECT id FROM messages AS m WHERE created_at < ?1 \
         AND (m.idempotency_key IS NULL OR m.created_at < ?3) \
         AND NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.message_id = m.id) LIMIT ?2)",
        "pruning messages",
    ),
    (
        "DELETE FROM replies WHERE id IN (SELECT id FROM replies AS r WHERE created_at < ?1 \
         AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.id = r.reply_to) LIMIT ?2)",
        "pruning replies",
    ),
];

/// The step that deletes messages (its key cutoff is a third parameter).
const MESSAGES_STEP: usize = 3;

pub(crate) fn prune(ctx: &mut Ctx<'_>, policy: PrunePolicy) -> Result<PruneReport, StoreError> {
    let before = |ms: u64| {
        ctx.now
            .as_millis()
            .saturating_sub(i64::try_from(ms).unwrap_or(i64::MAX))
    };
    let key_cutoff = before(millis(ctx.opts.idempotency_retention));
    let cutoff = before(millis(policy.older_than));
    let mut budget = policy.max_rows;
    let mut counts = [0usize; 5];
    for (i, (sql, during)) in STEPS.iter().enumerate() {
        if budget == 0 {
            break;
        }
        let at = if i == 0 { key_cutoff } else { cutoff };
        let mut stmt = ctx.conn.prepare_cached(sql).during(ctx.path, during)?;
        let limit = i64::try_from(budget).unwrap_or(i64::MAX);
        let n = if i == MESSAGES_STEP {
            stmt.execute(params![at, limit, key_cutoff])
        } else {
            stmt.execute(params![at, limit])
        }
        .during(ctx.path, during)?;
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::STEPS;
    use crate::options::Synchronous;
    use crate::schema::{Target, open_writer};

    /// The deliveries step states the partial index's condition word for
    /// word, so it walks that index (by time) instead of the whole table.
    #[test]
    fn the_deliveries_step_walks_the_finished_index() {
        let sql = STEPS[2].0;
        assert!(sql.contains(crate::reads::FINISHED), "{sql}");
        let conn = open_writer(Target::Memory, Path::new(":memory:"), Synchronous::Full)
            .unwrap()
            .conn;
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan = stmt
            .query_map([0, 10], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .join("; ");
        assert!(plan.contains("deliveries_finished"), "{plan}");
    }
}
