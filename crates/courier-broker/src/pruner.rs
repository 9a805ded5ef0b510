//! Keeps the store from growing without bound: now and then, deletes what
//! the retention setting lets go (old events, finished deliveries, their
//! messages, expired idempotency keys; see `courier_store::prune` for what
//! is never deleted). Each store call is bounded, so the single writer is
//! never held for long; a backlog is worked off in several calls.

use std::time::Duration;

use courier_store::PrunePolicy;

use crate::services::Services;

/// Rows deleted by one store call at most.
const ROWS_PER_CALL: usize = 2_000;
/// Calls in one round at most, so a huge backlog is spread over rounds.
const CALLS_PER_ROUND: usize = 50;

/// Runs until shutdown: one round at start, then one per `every`.
pub async fn run(services: Services, retention: Duration, every: Duration) {
    let shutdown = services.shutdown_signal().clone();
    loop {
        round(&services, retention).await;
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

async fn round(services: &Services, retention: Duration) {
    let policy = PrunePolicy {
        older_than: retention,
        max_rows: ROWS_PER_CALL,
    };
    for _ in 0..CALLS_PER_ROUND {
        if services.shutdown_signal().is_triggered() {
            return;
        }
        // The store answers after its commit; awaited, that wait parks no
        // runtime thread.
        match services.store.prune_async(policy).await {
            Ok(report) if report.more => continue,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot prune the store; trying again next round");
                return;
            }
        }
    }
}
