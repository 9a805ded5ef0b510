//! Deliveries a previous run left in flight, resolved at start: here for
//! agents whose session is new, by the agent's delivery task (`resume.rs`)
//! when their session survived.

use std::collections::HashMap;

use courier_core::settle::{Gone, settle_pending};
use courier_store::Store;
use courier_terminal::Terminal;
use courier_terminal::host::RemoteSession;

use crate::error::BrokerError;

/// Resolves deliveries the previous run left in flight, before anything else
/// is sent. For agents whose session survived (a session host), the agent's
/// own task settles them from the screen. Other sessions are new, so:
/// - `injecting`: Enter was never sent (the broker commits `injected` right
///   before it), so the text was never submitted; the new process never saw
///   it: requeue, it is typed again.
/// - `injected`: Enter may have reached the old process; the screen that
///   could prove it is gone, so it ends `unverified`, never typed twice.
pub async fn resolve_in_flight(
    store: &Store,
    survivors: &HashMap<String, RemoteSession>,
) -> Result<usize, BrokerError> {
    let mut resolved = 0;
    for delivery in store.pending_async().await? {
        let survived = survivors
            .get(&delivery.agent)
            .is_some_and(|s| delivery.session.as_deref() == Some(s.id()));
        if survived {
            // Its session lives on: the agent's task settles it from the
            // screen before it sends anything else (`courier_terminal::resume`).
            continue;
        }
        let steps = settle_pending(delivery.state, Gone::BrokerRestarted);
        if steps.is_empty() {
            continue;
        }
        for step in steps {
            store.transition_async(&delivery.id, step).await?;
        }
        resolved += 1;
    }
    Ok(resolved)
}
