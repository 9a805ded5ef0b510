//! Property tests of the delivery rules taken together: whatever sequence of
//! sends and transitions happens, no delivery is lost, and pacing never lets
//! an unverified outcome speed injection up.

use std::collections::{BTreeMap, VecDeque};

use courier_core::delivery::{Delivery, DeliveryState, Transition};
use courier_core::event::EventKind;
use courier_core::pacing::{BACKOFF_LADDER_MS, Outcome, Pacer};
use courier_core::recipient::Recipient;
use courier_core::retry::RetryPolicy;
use courier_core::{DeliveryChannel, DeliveryId, MessageId, Timestamp, fanout, queue};
use proptest::prelude::*;

const AGENTS: [&str; 3] = ["a0", "a1", "a2"];
const CAP: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Send { from: usize, to: Option<usize> },
    Step { pick: usize, transition: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..AGENTS.len() + 1, proptest::option::of(0..AGENTS.len()))
            .prop_map(|(from, to)| Op::Send { from, to }),
        (any::<usize>(), 0u8..10).prop_map(|(pick, transition)| Op::Step { pick, transition }),
    ]
}

/// A tiny in-memory broker built only from core's functions.
#[derive(Default)]
struct Ledger {
    deliveries: BTreeMap<DeliveryId, Delivery>,
    queues: BTreeMap<String, VecDeque<DeliveryId>>,
    created: usize,
    dropped_in_events: usize,
    now: i64,
}

impl Ledger {
    fn send(&mut self, from: &str, to: &Recipient) {
        let Ok(agents) = fanout::recipients(from, to, AGENTS, AGENTS) else {
            return;
        };
        let message = MessageId::new(format!("m{}", self.created));
        for agent in agents {
            self.make_room(&agent);
            let id = DeliveryId::new(format!("d{}", self.created));
            self.created += 1;
            let d = Delivery::queued(
                id.clone(),
                message.clone(),
                &agent,
                from,
                Timestamp(self.now),
            );
            self.queues.entry(agent).or_default().push_back(id.clone());
            self.deliveries.insert(id, d);
        }
    }

    fn pending(&self, agent: &str) -> usize {
        self.deliveries
            .values()
            .filter(|d| d.agent == agent && !d.state.is_terminal())
            .count()
    }

    /// Evicts the oldest queued deliveries so that one more fits the cap.
    fn make_room(&mut self, agent: &str) {
        let pending = self.pending(agent);
        let queue = self.queues.entry(agent.to_string()).or_default();
        let evict = queue::evictions_needed(pending, queue.len(), 1, CAP);
        let victims: Vec<Delivery> = queue
            .drain(..evict)
            .map(|id| self.deliveries[&id].clone())
            .collect();
        let (dropped, event) = queue::evict(agent, &victims, Timestamp(self.now)).unwrap();
        if let Some(EventKind::DeliveryDropped {
            count,
            dropped: named,
            ..
        }) = event
        {
            assert_eq!(count as usize, named.len());
            self.dropped_in_events += named.len();
        }
        for d in dropped {
            self.deliveries.insert(d.id.clone(), d);
        }
    }

    /// Evicts the oldest queued deliveries so that one coming back from
    /// flight fits the cap.
    fn make_room_for_return(&mut self, agent: &str) {
        let queue = self.queues.entry(agent.to_string()).or_default();
        let evict = queue::evictions_on_return(queue.len(), 1, CAP);
        let victims: Vec<Delivery> = queue
            .drain(..evict)
            .map(|id| self.deliveries[&id].clone())
            .collect();
        let (dropped, event) = queue::evict(agent, &victims, Timestamp(self.now)).unwrap();
        if let Some(EventKind::DeliveryDropped { dropped: named, .. }) = event {
            self.dropped_in_events += named.len();
        }
        for d in dropped {
            self.deliveries.insert(d.id.clone(), d);
        }
    }

    fn step(&mut self, pick: usize, transition: u8) {
        if self.deliveries.is_empty() {
            return;
        }
        let id = self
            .deliveries
            .keys()
            .nth(pick % self.deliveries.len())
            .unwrap()
            .clone();
        let t = match transition {
            0 => Transition::BeginInjection {
                session: "s".into(),
                channel: courier_core::DeliveryChannel::Pty,
            },
            1 => Transition::Written,
            2 => Transition::Verified,
            3 => Transition::Unverified {
                reason: "no echo".into(),
                screen: Vec::new(),
            },
            4 => Transition::Failed {
                reason: "write error".into(),
            },
            5 => Transition::Requeue {
                reason: "restart".into(),
            },
            6 => Transition::Drop {
                reason: "person".into(),
            },
            7 => Transition::Read { channel: None },
            8 => Transition::Read {
                channel: Some(DeliveryChannel::Hook),
            },
            _ => Transition::Replay,
        };
        let current = &self.deliveries[&id];
        if t == Transition::Replay && current.state.is_dead_letter() {
            let agent = current.agent.clone();
            self.make_room(&agent);
        }
        let before = self.deliveries[&id].clone();
        self.now += 1;
        let Ok((after, events)) = before.apply(t, &RetryPolicy::default(), Timestamp(self.now))
        else {
            return; // refused: nothing may change
        };
        assert!(!events.is_empty(), "every state change has an event");
        if let Some(EventKind::DeliveryDropped { dropped, .. }) = events.first() {
            self.dropped_in_events += dropped.len();
        }
        if after.state == DeliveryState::Read {
            // Read only after reaching the agent through exactly one channel.
            assert!(after.read_at.is_some());
            assert!(after.channel.is_some(), "a read delivery names its channel");
            assert!(
                before.state.is_delivered() || before.state == DeliveryState::Queued,
                "read from {:?}",
                before.state
            );
            if before.state == DeliveryState::Queued {
                assert_eq!(after.channel, Some(DeliveryChannel::Hook));
            } else {
                assert_eq!(after.channel, Some(DeliveryChannel::Pty));
            }
        }
        if before.state == DeliveryState::Read {
            panic!("a read delivery changed: {before:?} -> {after:?}");
        }
        let queue = self.queues.entry(after.agent.clone()).or_default();
        if before.state == DeliveryState::Queued && after.state != DeliveryState::Queued {
            queue.retain(|q| *q != id);
        }
        if before.state.is_in_flight() && after.state == DeliveryState::Queued {
            let agent = after.agent.clone();
            self.make_room_for_return(&agent);
        }
        let queue = self.queues.entry(after.agent.clone()).or_default();
        if before.state != DeliveryState::Queued && after.state == DeliveryState::Queued {
            queue.push_back(id.clone());
        }
        self.deliveries.insert(id, after);
    }

    fn check(&self) {
        assert_eq!(self.deliveries.len(), self.created, "a delivery vanished");
        let queued: usize = self.queues.values().map(VecDeque::len).sum();
        let in_state = self
            .deliveries
            .values()
            .filter(|d| d.state == DeliveryState::Queued)
            .count();
        assert_eq!(queued, in_state, "queue and states disagree");
        for (agent, q) in &self.queues {
            assert!(q.len() <= CAP, "{agent} over the cap");
            for id in q {
                assert_eq!(self.deliveries[id].state, DeliveryState::Queued);
            }
        }
        let dropped = self
            .deliveries
            .values()
            .filter(|d| d.state == DeliveryState::Dropped)
            .count();
        assert!(dropped <= self.dropped_in_events, "a drop without an event");
    }
}

/// The case count: `PROPTEST_CASES` for a longer run on demand, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(500)))]

    #[test]
    fn no_sequence_of_operations_loses_a_delivery(ops in proptest::collection::vec(op(), 1..120)) {
        let mut ledger = Ledger::default();
        for op in ops {
            match op {
                Op::Send { from, to } => {
                    let from = AGENTS.get(from).copied().unwrap_or("human");
                    let to = to.map_or(Recipient::Broadcast, |i| Recipient::Agent(AGENTS[i].into()));
                    ledger.send(from, &to);
                }
                Op::Step { pick, transition } => ledger.step(pick, transition),
            }
            ledger.check();
        }
    }

    #[test]
    fn unverified_never_lowers_the_delay(outcomes in proptest::collection::vec(0u8..3, 0..200)) {
        let mut pacer = Pacer::default();
        for o in outcomes {
            let before = pacer.delay_ms();
            let outcome = match o { 0 => Outcome::Verified, 1 => Outcome::Unverified, _ => Outcome::Failed };
            pacer.record(outcome);
            let after = pacer.delay_ms();
            match outcome {
                Outcome::Unverified => {
                    prop_assert_eq!(after, before);
                    prop_assert_eq!(pacer.streak(), 0);
                }
                Outcome::Failed => prop_assert!(after > before || after == BACKOFF_LADDER_MS[5]),
                Outcome::Verified => prop_assert!(after <= before),
            }
            prop_assert!(after <= BACKOFF_LADDER_MS[5]);
        }
    }
}
