//! The stuck-delivery watchdog: a delivery that makes no progress within
//! its bound (core's `mode::stuck_for`: `BrokerConfig::stuck_after` while
//! its agent is not ready, ready and idle, or while it is in flight;
//! `busy_stuck_after` while its ready agent keeps working) raises one
//! `delivery_stuck` event with the reason and an excerpt of the agent's
//! screen, and health reports `degraded` while any is stuck.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use courier_core::event::EventKind;
use courier_core::mode::{AgentView, StuckBounds, StuckReason, stuck_for, stuck_since};
use courier_core::time::{Clock, SystemClock};
use courier_core::{Delivery, DeliveryId, DeliveryState, MessageId, Timestamp};
use courier_terminal::Terminal;
use serde::Serialize;

use crate::agents::registry::Registry;
use crate::error::BrokerError;
use crate::metrics::Metrics;
use crate::services::Services;

/// Rows of screen put in a `delivery_stuck` event.
pub const EXCERPT_ROWS: usize = 10;

/// One delivery the watchdog holds stuck.
#[derive(Debug, Clone, Serialize)]
pub struct Stuck {
    pub delivery_id: DeliveryId,
    pub message_id: MessageId,
    pub agent: String,
    pub state: DeliveryState,
    /// No progress since then.
    pub since: Timestamp,
    pub waited_ms: u64,
    /// Why it counts (`agent_not_ready`, `agent_busy`, `agent_idle`,
    /// `in_flight`).
    pub reason: StuckReason,
    /// The same for a person: what the agent was doing.
    pub why: String,
    pub screen: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Watchdog {
    stuck: Mutex<BTreeMap<DeliveryId, Stuck>>,
}

impl Watchdog {
    /// Every delivery stuck right now, by id.
    pub fn stuck(&self) -> Vec<Stuck> {
        self.stuck
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

/// The last `n` non-blank rows of a screen.
pub fn excerpt(rows: &[String], n: usize) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .rev()
        .filter(|r| !r.trim().is_empty())
        .take(n)
        .map(|r| r.trim_end().to_string())
        .collect();
    out.reverse();
    out
}

/// What the agent was doing, for a person; `not_ready` is the agent's own
/// account of why it is not ready (`AgentStatus::not_ready`), if any.
fn why(reason: StuckReason, state: DeliveryState, not_ready: Option<&str>) -> String {
    match reason {
        StuckReason::AgentNotReady => match not_ready {
            Some(what) => format!(
                "agent not ready: queued while the agent never became ready ({what})"
            ),
            None => "agent not ready: queued while the agent never became ready".into(),
        },
        StuckReason::AgentBusy => {
            "agent busy: queued while the agent has been working past the busy bound (looping, or retrying something unreachable?)".into()
        }
        StuckReason::AgentIdle => {
            "agent idle: queued while the agent is ready and idle, but its delivery task is not taking it".into()
        }
        StuckReason::InFlight => match state {
            DeliveryState::Injecting => {
                "in flight: being typed in, but the text never showed on the screen (input swallowed?)".into()
            }
            DeliveryState::Injected => {
                "in flight: typed in and submitted, but never resolved".into()
            }
            other => format!("in flight: no progress in state {other}"),
        },
    }
}

/// Checks every pending delivery, every quarter of the shorter bound
/// (50 ms–1 s), until shutdown.
pub async fn run(services: Services, registry: Arc<Registry>, watchdog: Arc<Watchdog>) {
    let bounds = services.config.stuck_bounds();
    let period = (bounds.shortest() / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = services.shutdown.wait() => return,
            _ = tokio::time::sleep(period) => {}
        }
        if let Err(e) = check(&services, &registry, &watchdog, bounds).await {
            tracing::warn!(error = %e, "watchdog cannot read pending deliveries");
        }
    }
}

/// What the watchdog reads of one agent at one instant.
struct Seen {
    view: AgentView,
    not_ready: Option<String>,
    rows: Vec<String>,
}

async fn check(
    services: &Services,
    registry: &Registry,
    watchdog: &Watchdog,
    bounds: StuckBounds,
) -> Result<(), BrokerError> {
    // A full read of the pending rows: answered by the store's read pool,
    // so a long backlog or a slow disk never stalls the tasks that deliver.
    let pending = services.store.pending_async().await?;
    let now = SystemClock.now();
    let seen = look(registry).await;
    let found = find(pending, &seen, now, bounds);
    for s in watchdog.hold(found) {
        raise(services, s).await;
    }
    Ok(())
}

/// Every running agent's view, its account of not being ready and its
/// screen, read under one registry lock.
async fn look(registry: &Registry) -> HashMap<String, Seen> {
    let agents = registry.lock().await;
    agents
        .iter()
        .map(|(name, handle)| {
            let not_ready = {
                let s = handle.status.borrow();
                s.held.clone().or_else(|| s.not_ready.clone())
            };
            let seen = Seen {
                view: handle.view(),
                not_ready,
                rows: handle.session.snapshot(0).rows,
            };
            (name.clone(), seen)
        })
        .collect()
}

/// The pending deliveries that are stuck now, by id.
fn find(
    pending: Vec<Delivery>,
    seen: &HashMap<String, Seen>,
    now: Timestamp,
    bounds: StuckBounds,
) -> BTreeMap<DeliveryId, Stuck> {
    let mut found = BTreeMap::new();
    for d in pending {
        // An agent that is not running (released, failed to start) is not
        // the watchdog's: its deliveries were dropped or wait for a respawn.
        let Some(agent) = seen.get(&d.agent) else {
            continue;
        };
        let Some(wait) = stuck_for(&d, agent.view, now, bounds) else {
            continue;
        };
        let stuck = Stuck {
            delivery_id: d.id.clone(),
            message_id: d.message_id.clone(),
            agent: d.agent.clone(),
            state: d.state,
            since: stuck_since(&d, agent.view),
            waited_ms: wait.waited.as_millis() as u64,
            reason: wait.reason,
            why: why(wait.reason, d.state, agent.not_ready.as_deref()),
            screen: excerpt(&agent.rows, EXCERPT_ROWS),
        };
        found.insert(d.id, stuck);
    }
    found
}

impl Watchdog {
    /// Holds `found` as the stuck set and returns the ones to raise.
    ///
    /// Raised once per stuck episode: a delivery already held since the same
    /// instant is not raised again, even if its reason changed meanwhile
    /// (e.g. not ready, then ready and idle); `/healthz` shows the current one.
    fn hold(&self, found: BTreeMap<DeliveryId, Stuck>) -> Vec<Stuck> {
        let mut held = self
            .stuck
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = found
            .values()
            .filter(|s| held.get(&s.delivery_id).is_none_or(|h| h.since != s.since))
            .cloned()
            .collect();
        *held = found;
        fresh
    }
}

/// One `delivery_stuck`: a metric, a warning and an event.
async fn raise(services: &Services, s: Stuck) {
    Metrics::inc(&services.metrics.deliveries_stuck);
    tracing::warn!(delivery = %s.delivery_id, agent = %s.agent, state = %s.state, reason = %s.reason, waited_ms = s.waited_ms, "delivery stuck: {}", s.why);
    let kind = EventKind::DeliveryStuck {
        delivery_id: s.delivery_id,
        message_id: s.message_id,
        agent: s.agent,
        state: s.state,
        reason: s.reason,
        seconds: s.waited_ms / 1000,
        waited_ms: s.waited_ms,
        screen: s.screen,
    };
    if let Err(e) = services.store.append_event_async(kind).await {
        tracing::warn!(error = %e, "cannot record delivery_stuck");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_keeps_the_last_non_blank_rows_in_order() {
        let rows: Vec<String> = ["a", "", "b  ", " ", "c", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(excerpt(&rows, 2), ["b", "c"]);
        assert_eq!(excerpt(&rows, 10), ["a", "b", "c"]);
    }

    #[test]
    fn why_names_the_reason_for_a_person() {
        let text = why(
            StuckReason::AgentNotReady,
            DeliveryState::Queued,
            Some("no output yet"),
        );
        assert!(text.starts_with("agent not ready:"), "{text}");
        assert!(text.contains("no output yet"), "{text}");
        assert!(
            why(StuckReason::AgentBusy, DeliveryState::Queued, None).starts_with("agent busy:")
        );
        assert!(
            why(StuckReason::AgentIdle, DeliveryState::Queued, None).starts_with("agent idle:")
        );
        for state in [DeliveryState::Injecting, DeliveryState::Injected] {
            assert!(why(StuckReason::InFlight, state, None).starts_with("in flight:"));
        }
    }
}
