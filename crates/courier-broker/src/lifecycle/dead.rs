//! Declaring an agent dead when its restart policy gives up. A dead
//! agent's pending deliveries become dead letters (`dropped`, reason
//! `agent_dead`, replayable), and so does any later send to it, until it
//! is released and spawned again or the broker restarts (which gives it a
//! fresh start).

use courier_core::event::EventKind;
use courier_core::settle::Gone;
use courier_core::time::{Clock, SystemClock};

use super::state::Lifecycle;
use crate::agents::ops::Dead;
use crate::delivery::ended::end_pending_of;

/// Marks `name` dead (`agent_dead`) and makes its pending deliveries
/// dead letters: nothing waits for an agent that will not come back.
pub async fn declare_dead(
    lifecycle: &Lifecycle,
    name: &str,
    restarts: u32,
    window_s: u64,
    reason: String,
) {
    tracing::warn!(agent = name, restarts, %reason, "agent dead: its restart policy gave up");
    let known = lifecycle.ops.update(name, |o| {
        o.restarting = None;
        o.dead = Some(Dead {
            since: SystemClock.now(),
            restarts,
            reason: reason.clone(),
        });
    });
    if known.is_none() {
        return; // released meanwhile
    }
    let kind = EventKind::AgentDead {
        name: name.to_string(),
        restarts,
        window_s,
        reason,
    };
    let store = &lifecycle.services.store;
    if let Err(e) = store.append_event_async(kind).await {
        tracing::warn!(error = %e, "cannot record agent_dead");
    }
    end_pending_of(store, name, Gone::AgentDead).await;
}
