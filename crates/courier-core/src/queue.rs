//! The per-agent queue cap. At most `cap` deliveries are *pending* per agent
//! (queued or in flight); a new one over the cap evicts the **oldest queued**
//! delivery (never one in flight), which becomes `dropped` with reason
//! `queue_full`.
//!
//! Counting in-flight deliveries too means that a retry (in flight → queued)
//! almost never pushes the queue over the cap. Almost: when every pending
//! delivery is in flight there is nothing queued to evict, so a new one is
//! still accepted and `pending` briefly exceeds the cap. A delivery that then
//! returns to the queue goes through [`evictions_on_return`], so
//! `queued ≤ cap` holds after every entry point: a new send or a replay
//! ([`evictions_needed`]) and a retry or requeue ([`evictions_on_return`]).

use crate::delivery::{Delivery, REASON_QUEUE_FULL, Transition};
use crate::error::CoreError;
use crate::event::EventKind;
use crate::retry::RetryPolicy;
use crate::time::Timestamp;

/// Default number of queued deliveries per agent.
pub const DEFAULT_QUEUE_CAP: usize = 256;

/// How many of the oldest queued deliveries must go so that `incoming` new
/// ones fit under `cap`, given `pending` deliveries (queued or in flight) of
/// which `queued` may be evicted.
pub fn evictions_needed(pending: usize, queued: usize, incoming: usize, cap: usize) -> usize {
    let cap = cap.max(1);
    (pending + incoming).saturating_sub(cap).min(queued)
}

/// How many of the oldest queued deliveries must go when `returning`
/// deliveries come back from flight (a retry or a requeue) to a queue that
/// holds `queued`. Only the deliveries already queued are candidates: the one
/// coming back keeps its place and is not evicted by its own return.
pub fn evictions_on_return(queued: usize, returning: usize, cap: usize) -> usize {
    let cap = cap.max(1);
    (queued + returning).saturating_sub(cap).min(queued)
}

/// Drops `victims` (the oldest queued deliveries of one agent, oldest first)
/// and returns them with one `delivery_dropped` event that names them all.
pub fn evict(
    agent: &str,
    victims: &[Delivery],
    now: Timestamp,
) -> Result<(Vec<Delivery>, Option<EventKind>), CoreError> {
    let policy = RetryPolicy::default();
    let mut dropped = Vec::with_capacity(victims.len());
    let mut entries = Vec::with_capacity(victims.len());
    for victim in victims {
        let (next, _single_event) = victim.apply(
            Transition::Drop {
                reason: REASON_QUEUE_FULL.into(),
            },
            &policy,
            now,
        )?;
        entries.push(victim.dropped_entry());
        dropped.push(next);
    }
    let event = (!entries.is_empty()).then(|| EventKind::DeliveryDropped {
        name: agent.to_string(),
        count: u32::try_from(entries.len()).unwrap_or(u32::MAX),
        reason: REASON_QUEUE_FULL.into(),
        dropped: entries,
    });
    Ok((dropped, event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::DeliveryState;

    #[test]
    fn evicts_only_what_overflows() {
        assert_eq!(evictions_needed(0, 0, 1, 256), 0);
        assert_eq!(evictions_needed(255, 255, 1, 256), 0);
        assert_eq!(evictions_needed(256, 256, 1, 256), 1);
        assert_eq!(evictions_needed(256, 256, 3, 256), 3);
        assert_eq!(evictions_needed(2, 2, 10, 4), 2);
        // One in flight: it counts against the cap but is never evicted.
        assert_eq!(evictions_needed(4, 3, 1, 4), 1);
        assert_eq!(evictions_needed(4, 0, 1, 4), 0);
    }

    #[test]
    fn a_return_from_flight_never_overfills_the_queue() {
        // Everything was in flight, so a new send was accepted over the cap.
        assert_eq!(evictions_needed(2, 0, 1, 2), 0);
        // When one in-flight delivery comes back, the queue would hold 2 of 1.
        assert_eq!(evictions_on_return(1, 1, 1), 1);
        assert_eq!(evictions_on_return(0, 1, 1), 0);
        assert_eq!(evictions_on_return(3, 1, 256), 0);
        assert_eq!(evictions_on_return(256, 1, 256), 1);
    }

    #[test]
    fn one_event_names_every_victim() {
        let victims: Vec<Delivery> = (0..2)
            .map(|i| {
                Delivery::queued(
                    format!("d{i}").as_str().into(),
                    format!("m{i}").as_str().into(),
                    "bob",
                    "alice",
                    Timestamp(0),
                )
            })
            .collect();
        let (dropped, event) = evict("bob", &victims, Timestamp(5)).unwrap();
        assert!(dropped.iter().all(|d| d.state == DeliveryState::Dropped));
        match event.unwrap() {
            EventKind::DeliveryDropped {
                name,
                count,
                reason,
                dropped,
            } => {
                assert_eq!(
                    (name.as_str(), count, reason.as_str()),
                    ("bob", 2, "queue_full")
                );
                assert_eq!(dropped[1].message_id.as_str(), "m1");
                assert_eq!(dropped[0].from, "alice");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
