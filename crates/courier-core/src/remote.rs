//! Federation: a delivery to an agent of another host.
//!
//! The sending host commits the delivery (as for a local agent) and
//! forwards it; the receiving host commits it under the same delivery id
//! and is from then on the authority on what happens to it. The sending
//! host's copy *mirrors* the receiving host's events, applied in the order
//! of that host's event log (the caller drops any it already applied):
//!
//! ```text
//! queued ──delivery_received──▶ forwarded ──injecting / injected / retry / stuck──▶ forwarded
//!                                   └──verified / unverified / read / dropped / dead──▶ the same
//! ```
//!
//! While the remote delivery is in progress the local copy stays
//! `forwarded`: never `injecting` or `injected` here, so nothing on this host
//! (recovery after a crash, a release) mistakes it for one of its own
//! terminal's deliveries.

use crate::delivery::{Delivery, DeliveryState, Verification};
use crate::event::EventKind;
use crate::time::Timestamp;

/// The local copy after the remote event `remote` of host `host`, and the
/// events to record here (the remote one itself, or `delivery_forwarded`
/// for the receipt). `None` when the event does not change this copy (it
/// is about another delivery, or is the remote `delivery_queued` that
/// mirrors this host's own).
pub fn mirror(
    local: &Delivery,
    host: &str,
    remote: &EventKind,
    now: Timestamp,
) -> Option<(Delivery, Vec<EventKind>)> {
    if !remote.delivery_ids().contains(&&local.id) {
        return None;
    }
    let mut next = local.clone();
    next.updated_at = now;
    next.forwarded_to = Some(host.to_string());
    next.session = None;
    let event = match remote {
        EventKind::DeliveryReceived {
            delivery_id,
            message_id,
            agent,
            ..
        } => {
            next.state = DeliveryState::Forwarded;
            next.reason = None;
            EventKind::DeliveryForwarded {
                delivery_id: delivery_id.clone(),
                message_id: message_id.clone(),
                agent: agent.clone(),
                host: host.to_string(),
            }
        }
        EventKind::DeliveryQueued { .. } | EventKind::DeliveryForwarded { .. } => return None,
        EventKind::DeliveryInjecting { attempt, .. }
        | EventKind::DeliveryInjected { attempt, .. } => {
            next.state = DeliveryState::Forwarded;
            next.attempt = *attempt;
            remote.clone()
        }
        EventKind::DeliveryRetry {
            attempt, reason, ..
        } => {
            next.state = DeliveryState::Forwarded;
            next.attempt = *attempt;
            next.reason = Some(reason.clone());
            remote.clone()
        }
        EventKind::DeliveryReplayed { .. } => {
            next.state = DeliveryState::Forwarded;
            next.attempt = 0;
            next.reason = None;
            next.verification = None;
            next.read_at = None;
            remote.clone()
        }
        // Progress is not a change of state: the event is worth seeing here.
        EventKind::DeliveryStuck { .. } => {
            return Some((local.clone(), vec![remote.clone()]));
        }
        EventKind::DeliveryVerified {
            verification,
            reason,
            ..
        } => {
            next.state = match verification {
                Verification::Echo => DeliveryState::Verified,
                Verification::TimeoutFallback => DeliveryState::Unverified,
            };
            next.verification = Some(*verification);
            next.reason = reason.clone();
            remote.clone()
        }
        EventKind::DeliveryRead { channel, .. } => {
            next.state = DeliveryState::Read;
            next.channel = Some(*channel);
            next.read_at = Some(now);
            remote.clone()
        }
        EventKind::DeliveryDead {
            attempt, reason, ..
        } => {
            next.state = DeliveryState::Dead;
            next.attempt = *attempt;
            next.reason = Some(reason.clone());
            remote.clone()
        }
        EventKind::DeliveryDropped { name, reason, .. } => {
            next.state = DeliveryState::Dropped;
            next.reason = Some(reason.clone());
            // The remote event may name deliveries of other senders too.
            EventKind::DeliveryDropped {
                name: name.clone(),
                count: 1,
                reason: reason.clone(),
                dropped: vec![local.dropped_entry()],
            }
        }
        _ => return None,
    };
    Some((next, vec![event]))
}

/// An event that brings a mirror to `delivery`'s present state, for a
/// sender that asks again about a delivery it may have lost track of (its
/// forward came again): what the receiving host would have sent had every
/// outcome arrived. In progress (queued, injecting, injected) it is the
/// receipt.
pub fn snapshot_event(delivery: &Delivery, origin_host: &str) -> EventKind {
    let (id, message_id, agent) = (
        delivery.id.clone(),
        delivery.message_id.clone(),
        delivery.agent.clone(),
    );
    let reason = delivery.reason.clone().unwrap_or_default();
    match delivery.state {
        DeliveryState::Verified | DeliveryState::Unverified => EventKind::DeliveryVerified {
            delivery_id: id,
            message_id,
            agent,
            verification: delivery.verification.unwrap_or(match delivery.state {
                DeliveryState::Verified => Verification::Echo,
                _ => Verification::TimeoutFallback,
            }),
            reason: delivery.reason.clone(),
            screen: Vec::new(),
        },
        DeliveryState::Read => EventKind::DeliveryRead {
            delivery_id: id,
            message_id,
            agent,
            channel: delivery
                .channel
                .unwrap_or(crate::mode::DeliveryChannel::Pty),
        },
        DeliveryState::Dead => EventKind::DeliveryDead {
            delivery_id: id,
            message_id,
            agent,
            attempt: delivery.attempt,
            reason,
        },
        DeliveryState::Dropped => EventKind::DeliveryDropped {
            name: agent,
            count: 1,
            reason,
            dropped: vec![delivery.dropped_entry()],
        },
        DeliveryState::Queued
        | DeliveryState::Injecting
        | DeliveryState::Injected
        | DeliveryState::Forwarded => EventKind::DeliveryReceived {
            delivery_id: id,
            message_id,
            agent,
            from_host: origin_host.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mode::DeliveryChannel;

    fn queued() -> Delivery {
        Delivery::queued("d1".into(), "m1".into(), "bob", "alice", Timestamp(1_000))
    }

    fn received() -> EventKind {
        EventKind::DeliveryReceived {
            delivery_id: "d1".into(),
            message_id: "m1".into(),
            agent: "bob".into(),
            from_host: "h1".into(),
        }
    }

    fn apply(d: &Delivery, e: EventKind) -> (Delivery, Vec<EventKind>) {
        mirror(d, "h2", &e, Timestamp(2_000)).expect("changes the copy")
    }

    #[test]
    fn the_receipt_makes_it_forwarded_to_that_host() {
        let (d, events) = apply(&queued(), received());
        assert_eq!(d.state, DeliveryState::Forwarded);
        assert_eq!(d.forwarded_to.as_deref(), Some("h2"));
        assert_eq!(
            events,
            vec![EventKind::DeliveryForwarded {
                delivery_id: "d1".into(),
                message_id: "m1".into(),
                agent: "bob".into(),
                host: "h2".into(),
            }]
        );
    }

    #[test]
    fn progress_stays_forwarded_and_outcomes_end_it() {
        let (d, _) = apply(&queued(), received());
        let (d, events) = apply(
            &d,
            EventKind::DeliveryInjected {
                delivery_id: "d1".into(),
                message_id: "m1".into(),
                agent: "bob".into(),
                attempt: 0,
            },
        );
        assert_eq!(d.state, DeliveryState::Forwarded);
        assert_eq!(events[0].name(), "delivery_injected");
        let verified = EventKind::DeliveryVerified {
            delivery_id: "d1".into(),
            message_id: "m1".into(),
            agent: "bob".into(),
            verification: Verification::TimeoutFallback,
            reason: Some("not_submitted".into()),
            screen: vec!["> hi".into()],
        };
        let (d, events) = apply(&d, verified.clone());
        assert_eq!(d.state, DeliveryState::Unverified);
        assert_eq!(d.reason.as_deref(), Some("not_submitted"));
        assert_eq!(events, vec![verified]);
        let (d, _) = apply(
            &d,
            EventKind::DeliveryRead {
                delivery_id: "d1".into(),
                message_id: "m1".into(),
                agent: "bob".into(),
                channel: DeliveryChannel::Pty,
            },
        );
        assert_eq!(d.state, DeliveryState::Read);
        assert_eq!(d.read_at, Some(Timestamp(2_000)));
    }

    #[test]
    fn a_remote_drop_names_only_this_delivery() {
        let (d, events) = apply(
            &queued(),
            EventKind::DeliveryDropped {
                name: "bob".into(),
                count: 2,
                reason: "queue_full".into(),
                dropped: vec![
                    crate::event::DroppedDelivery {
                        delivery_id: "other".into(),
                        message_id: "m0".into(),
                        from: "carol".into(),
                    },
                    queued().dropped_entry(),
                ],
            },
        );
        assert_eq!(d.state, DeliveryState::Dropped);
        match &events[0] {
            EventKind::DeliveryDropped { count, dropped, .. } => {
                assert_eq!(*count, 1);
                assert_eq!(dropped.len(), 1);
                assert_eq!(dropped[0].delivery_id.as_str(), "d1");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn events_of_other_deliveries_and_the_remote_queued_change_nothing() {
        let other = EventKind::DeliveryReceived {
            delivery_id: "d2".into(),
            message_id: "m1".into(),
            agent: "bob".into(),
            from_host: "h1".into(),
        };
        assert!(mirror(&queued(), "h2", &other, Timestamp(0)).is_none());
        let requeued = queued().queued_event();
        assert!(mirror(&queued(), "h2", &requeued, Timestamp(0)).is_none());
    }

    #[test]
    fn a_snapshot_brings_a_mirror_to_the_remote_state() {
        let mut remote = queued();
        let (fresh, _) = apply(&queued(), snapshot_event(&remote, "h1"));
        assert_eq!(fresh.state, DeliveryState::Forwarded);
        for (state, verification) in [
            (DeliveryState::Verified, Some(Verification::Echo)),
            (
                DeliveryState::Unverified,
                Some(Verification::TimeoutFallback),
            ),
            (DeliveryState::Read, None),
            (DeliveryState::Dead, None),
            (DeliveryState::Dropped, None),
        ] {
            remote.state = state;
            remote.verification = verification;
            remote.reason = Some("why".into());
            let (mirrored, _) = apply(&queued(), snapshot_event(&remote, "h1"));
            assert_eq!(mirrored.state, state);
        }
    }

    #[test]
    fn a_remote_dead_is_a_dead_letter_here() {
        let (d, _) = apply(
            &queued(),
            EventKind::DeliveryDead {
                delivery_id: "d1".into(),
                message_id: "m1".into(),
                agent: "bob".into(),
                attempt: 3,
                reason: "agent_dead".into(),
            },
        );
        assert!(d.state.is_dead_letter());
        assert_eq!(d.attempt, 3);
    }
}
