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
        // Same delivery id, so the same message and agent as the copy's.
        EventKind::DeliveryReceived { .. } => {
            next.state = DeliveryState::Forwarded;
            next.reason = None;
            handed_over(local, host)
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
                Verification::Echo | Verification::Protocol => DeliveryState::Verified,
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

/// The sending host's record that `host` committed its copy `local`.
fn handed_over(local: &Delivery, host: &str) -> EventKind {
    EventKind::DeliveryForwarded {
        delivery_id: local.id.clone(),
        message_id: local.message_id.clone(),
        agent: local.agent.clone(),
        host: host.to_string(),
    }
}

/// Where an outcome comes from in the remote host's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeOrigin {
    /// An event of that log, at this `seq`.
    Logged(u64),
    /// A [`snapshot_event`]: the remote delivery's present state, sent when
    /// a forward came again. It is not in the log, so it has no place in
    /// its order: it only ever moves the copy forward.
    Snapshot,
}

/// What following one outcome does to the local copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Followed {
    /// The copy's new state and the events to record, when it changes.
    pub change: Option<(Delivery, Vec<EventKind>)>,
    /// The highest logged `seq` applied to this copy from now on.
    pub last_seq: Option<u64>,
}

/// How far a copy has come: outcomes arrive out of order (JetStream
/// redelivers what was not acked in time; a snapshot can overtake the
/// events it sums up), and none may take a copy back.
fn progress(state: DeliveryState) -> u8 {
    match state {
        DeliveryState::Queued | DeliveryState::Injecting | DeliveryState::Injected => 0,
        DeliveryState::Forwarded => 1,
        DeliveryState::Verified
        | DeliveryState::Unverified
        | DeliveryState::Dropped
        | DeliveryState::Dead => 2,
        DeliveryState::Read => 3,
    }
}

/// Applies the outcome `remote` of host `host` to the local copy `local`,
/// whose highest applied logged seq is `last_seq`. Each logged event is
/// applied at most once and never after a later one; a snapshot applies
/// only when it moves the copy forward, and a logged event that a snapshot
/// already covered is not recorded twice. The hand-over
/// (`delivery_forwarded`) is recorded once, by whichever outcome comes
/// first, so a lost or late receipt cannot leave the copy `queued`.
pub fn follow(
    local: &Delivery,
    last_seq: Option<u64>,
    origin: OutcomeOrigin,
    host: &str,
    remote: &EventKind,
    now: Timestamp,
) -> Followed {
    let unchanged = |last_seq| Followed {
        change: None,
        last_seq,
    };
    let Some((next, mut events)) = mirror(local, host, remote, now) else {
        return unchanged(last_seq);
    };
    let last_seq = match origin {
        OutcomeOrigin::Snapshot => {
            if progress(next.state) <= progress(local.state) {
                return unchanged(last_seq);
            }
            last_seq
        }
        OutcomeOrigin::Logged(seq) => {
            if last_seq.is_some_and(|seen| seen >= seq) {
                return unchanged(last_seq); // redelivered, or older than one applied
            }
            let replayed = matches!(remote, EventKind::DeliveryReplayed { .. });
            // A receipt says nothing a copy already handed over does not
            // know (a snapshot's receipt may have come first).
            let receipt_again = matches!(remote, EventKind::DeliveryReceived { .. })
                && progress(local.state) >= progress(DeliveryState::Forwarded);
            let behind = progress(next.state) < progress(local.state)
                || (next.state == local.state && local.state.is_terminal())
                || receipt_again;
            if behind && !replayed {
                return unchanged(Some(seq)); // a snapshot got here first
            }
            Some(seq)
        }
    };
    if local.state == DeliveryState::Queued
        && !matches!(events.first(), Some(EventKind::DeliveryForwarded { .. }))
    {
        events.insert(0, handed_over(local, host));
    }
    Followed {
        change: Some((next, events)),
        last_seq,
    }
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

    fn verified() -> EventKind {
        EventKind::DeliveryVerified {
            delivery_id: "d1".into(),
            message_id: "m1".into(),
            agent: "bob".into(),
            verification: Verification::Echo,
            reason: None,
            screen: Vec::new(),
        }
    }

    fn injected() -> EventKind {
        EventKind::DeliveryInjected {
            delivery_id: "d1".into(),
            message_id: "m1".into(),
            agent: "bob".into(),
            attempt: 0,
        }
    }

    /// Follows `outcomes` in the order given; the copy and every event recorded.
    fn follow_all(outcomes: &[(OutcomeOrigin, EventKind)]) -> (Delivery, Vec<&'static str>) {
        let (mut copy, mut last, mut names) = (queued(), None, Vec::new());
        for (origin, event) in outcomes {
            let followed = follow(&copy, last, *origin, "h2", event, Timestamp(2_000));
            last = followed.last_seq;
            if let Some((next, events)) = followed.change {
                copy = next;
                names.extend(events.iter().map(|e| e.name()));
            }
        }
        (copy, names)
    }

    #[test]
    fn in_order_each_event_is_recorded_once() {
        use OutcomeOrigin::Logged;
        let (copy, names) = follow_all(&[
            (Logged(10), received()),
            (Logged(11), injected()),
            (Logged(12), verified()),
            (Logged(11), injected()),
            (Logged(12), verified()),
        ]);
        assert_eq!(copy.state, DeliveryState::Verified);
        assert_eq!(
            names,
            [
                "delivery_forwarded",
                "delivery_injected",
                "delivery_verified"
            ]
        );
    }

    #[test]
    fn a_late_receipt_neither_goes_back_nor_hands_over_twice() {
        use OutcomeOrigin::Logged;
        let (copy, names) = follow_all(&[
            (Logged(12), verified()),
            (Logged(10), received()),
            (Logged(11), injected()),
        ]);
        assert_eq!(copy.state, DeliveryState::Verified);
        assert_eq!(names, ["delivery_forwarded", "delivery_verified"]);
    }

    #[test]
    fn a_snapshot_moves_forward_only_and_its_events_are_not_recorded_twice() {
        use OutcomeOrigin::{Logged, Snapshot};
        let mut remote = queued();
        remote.state = DeliveryState::Verified;
        remote.verification = Some(Verification::Echo);
        let (copy, names) = follow_all(&[
            (Snapshot, snapshot_event(&queued(), "h1")),
            (Snapshot, snapshot_event(&remote, "h1")),
            (Snapshot, snapshot_event(&queued(), "h1")),
            (Logged(10), received()),
            (Logged(11), injected()),
            (Logged(12), verified()),
        ]);
        assert_eq!(copy.state, DeliveryState::Verified);
        assert_eq!(names, ["delivery_forwarded", "delivery_verified"]);
    }

    #[test]
    fn a_logged_receipt_after_a_snapshot_receipt_does_not_hand_over_twice() {
        // Found by the federated crash loop: h1 forwarded again after a
        // fault, h2 answered the duplicate with its snapshot (the receipt),
        // then its logged receipt arrived too.
        use OutcomeOrigin::{Logged, Snapshot};
        let (copy, names) = follow_all(&[
            (Snapshot, snapshot_event(&queued(), "h1")),
            (Logged(10), received()),
            (Logged(11), injected()),
            (Logged(12), verified()),
        ]);
        assert_eq!(copy.state, DeliveryState::Verified);
        assert_eq!(
            names,
            [
                "delivery_forwarded",
                "delivery_injected",
                "delivery_verified"
            ]
        );
    }

    #[test]
    fn a_snapshot_does_not_hide_the_events_after_it() {
        use OutcomeOrigin::{Logged, Snapshot};
        let (copy, names) = follow_all(&[
            (Snapshot, snapshot_event(&queued(), "h1")),
            (Logged(11), injected()),
            (Logged(12), verified()),
        ]);
        assert_eq!(copy.state, DeliveryState::Verified);
        assert_eq!(
            names,
            [
                "delivery_forwarded",
                "delivery_injected",
                "delivery_verified"
            ]
        );
    }
}
