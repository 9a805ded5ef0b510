//! Property test of the store against core: random sends, transitions,
//! claims, replays and reopens with a tiny queue cap. After every step the
//! store equals a model driven by core alone, no delivery is lost, the queue
//! counters equal the rows, every dropped delivery is named by a
//! `delivery_dropped` event, and reopening the file changes nothing.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use common::*;
use courier_core::queue::{evictions_needed, evictions_on_return};
use courier_core::retry::RetryPolicy;
use courier_core::time::{Clock, ManualClock};
use courier_core::{Delivery, DeliveryId, DeliveryState, EventKind, Transition, fanout};
use courier_store::{Store, StoreOptions, Synchronous};
use proptest::prelude::*;

const AGENTS: [&str; 4] = ["a0", "a1", "a2", "a3"];
const CAP: usize = 2;
const POLICY: RetryPolicy = RetryPolicy { max_attempts: 2 };

#[derive(Debug, Clone)]
enum Op {
    Send {
        from: usize,
        to: usize,
        key: Option<u8>,
    },
    Apply {
        pick: usize,
        transition: u8,
    },
    Claim {
        agent: usize,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize, 0..6usize, proptest::option::of(0..3u8))
            .prop_map(|(from, to, key)| Op::Send { from, to, key }),
        4 => (any::<usize>(), 0..8u8).prop_map(|(pick, transition)| Op::Apply { pick, transition }),
        2 => (0..4usize).prop_map(|agent| Op::Claim { agent }),
        1 => Just(Op::Reopen),
    ]
}

fn transition(n: u8) -> Transition {
    match n {
        0 => Transition::BeginInjection {
            session: "s".into(),
            channel: courier_core::DeliveryChannel::Pty,
        },
        1 => Transition::Written,
        2 => Transition::Verified,
        3 => Transition::Unverified {
            reason: "no echo".into(),
            screen: vec!["> still typed".into()],
        },
        4 => Transition::Failed {
            reason: "write error".into(),
        },
        5 => Transition::Requeue {
            reason: "restart".into(),
        },
        6 => Transition::Drop {
            reason: "by hand".into(),
        },
        _ => Transition::Replay,
    }
}

#[derive(Default)]
struct Model {
    deliveries: HashMap<DeliveryId, Delivery>,
    order: Vec<DeliveryId>,
    queue_pos: HashMap<DeliveryId, u64>,
    keys: HashMap<(String, u8), courier_core::MessageId>,
    named_dropped: HashSet<DeliveryId>,
}

impl Model {
    fn queued(&self, agent: &str) -> Vec<&Delivery> {
        let mut q: Vec<&Delivery> = self
            .deliveries
            .values()
            .filter(|d| d.agent == agent && d.state == DeliveryState::Queued)
            .collect();
        q.sort_by_key(|d| self.queue_pos[&d.id]);
        q
    }

    fn pending(&self, agent: &str) -> usize {
        self.deliveries
            .values()
            .filter(|d| d.agent == agent && !d.state.is_terminal())
            .count()
    }

    /// The victims core's cap rule picks for one incoming delivery.
    fn victims(&self, agent: &str) -> Vec<DeliveryId> {
        let queued = self.queued(agent);
        let n = evictions_needed(self.pending(agent), queued.len(), 1, CAP);
        queued[..n].iter().map(|d| d.id.clone()).collect()
    }

    /// The victims core's cap rule picks when one delivery comes back from
    /// flight to the queue.
    fn victims_on_return(&self, agent: &str) -> Vec<DeliveryId> {
        let queued = self.queued(agent);
        let n = evictions_on_return(queued.len(), 1, CAP);
        queued[..n].iter().map(|d| d.id.clone()).collect()
    }

    /// Applies the events a store step wrote: drops name their victims.
    fn absorb(&mut self, events: &[courier_core::Event], now: courier_core::Timestamp) {
        for event in events {
            match &event.kind {
                EventKind::DeliveryDropped { dropped, .. } => {
                    for entry in dropped {
                        let d = &self.deliveries[&entry.delivery_id];
                        let t = Transition::Drop {
                            reason: "queue_full".into(),
                        };
                        let (next, _) = d.apply(t, &POLICY, now).unwrap();
                        self.deliveries.insert(next.id.clone(), next);
                        self.named_dropped.insert(entry.delivery_id.clone());
                    }
                }
                EventKind::DeliveryQueued { delivery_id, .. } => {
                    self.queue_pos.insert(delivery_id.clone(), event.seq);
                }
                _ => {}
            }
        }
    }
}

fn open(path: &Path, clock: &Arc<ManualClock>) -> Store {
    let opts = StoreOptions {
        queue_cap: CAP,
        retry: POLICY,
        synchronous: Synchronous::Normal,
        clock: clock.clone(),
        ..StoreOptions::default()
    };
    Store::open(path, opts).unwrap()
}

fn check(store: &Store, model: &Model, path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM deliveries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows as usize,
        model.deliveries.len(),
        "a delivery was lost or duplicated"
    );
    for id in &model.order {
        assert_eq!(
            store.delivery(id).unwrap().as_ref(),
            Some(&model.deliveries[id])
        );
        if model.deliveries[id].state == DeliveryState::Dropped
            && model.deliveries[id].reason.as_deref() == Some("queue_full")
        {
            assert!(
                model.named_dropped.contains(id),
                "{id} dropped without an event"
            );
        }
    }
    for agent in AGENTS {
        let queued = model.queued(agent).len();
        assert_eq!(store.queue_depth(agent).unwrap(), queued);
        let rows: i64 = conn
            .query_row(
                "SELECT count(*) FROM deliveries WHERE agent = ?1 AND state = 'queued'",
                [agent],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows as usize, queued);
        assert!(queued <= CAP);
    }
    let events = all_events(store);
    let named: HashSet<DeliveryId> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::DeliveryDropped { dropped, .. } => {
                Some(dropped.iter().map(|d| d.delivery_id.clone()))
            }
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(named, model.named_dropped);
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prop.db");
    let clock = clock();
    let mut store = open(&path, &clock);
    with_agents(&store, &AGENTS);
    store.join("#ops", "a0").unwrap();
    store.join("#ops", "a1").unwrap();
    let mut model = Model::default();
    for op in ops {
        clock.advance(1);
        let now = clock.now();
        match op {
            Op::Send { from, to, key } => {
                let target = match to {
                    0..4 => AGENTS[to].to_string(),
                    4 => "#ops".to_string(),
                    _ => "*".to_string(),
                };
                let mut m = msg(AGENTS[from], &target, "body");
                m.idempotency_key = key.map(|k| format!("k{k}"));
                let result = store.send(m.clone());
                if from == to {
                    assert!(result.is_err());
                    continue;
                }
                let receipt = result.unwrap();
                let seen = key.and_then(|k| model.keys.get(&(AGENTS[from].to_string(), k)));
                assert_eq!(receipt.duplicate, seen.is_some());
                if let Some(id) = seen {
                    assert_eq!(&receipt.message.id, id);
                    continue;
                }
                let members = ["a0", "a1"];
                let expected = fanout::recipients(AGENTS[from], &m.to, AGENTS, members).unwrap();
                let got: Vec<_> = receipt.deliveries.iter().map(|d| d.agent.clone()).collect();
                assert_eq!(got, expected);
                let mut expected_dropped = Vec::new();
                for d in &receipt.deliveries {
                    expected_dropped.extend(model.victims(&d.agent));
                    model.deliveries.insert(d.id.clone(), d.clone());
                    model.order.push(d.id.clone());
                }
                let dropped: Vec<_> = receipt.dropped.iter().map(|d| d.id.clone()).collect();
                assert_eq!(dropped, expected_dropped);
                model.absorb(&receipt.events, now);
                if let Some(k) = key {
                    model
                        .keys
                        .insert((AGENTS[from].to_string(), k), receipt.message.id.clone());
                }
            }
            Op::Apply {
                pick,
                transition: n,
            } => {
                if model.order.is_empty() {
                    continue;
                }
                let id = model.order[pick % model.order.len()].clone();
                let current = model.deliveries[&id].clone();
                let t = transition(n);
                let expected = current.apply(t.clone(), &POLICY, now);
                match (store.transition(&id, t), expected) {
                    (Ok((got, events)), Ok((want, _))) => {
                        assert_eq!(got, want);
                        let entering = want.state == DeliveryState::Queued
                            && current.state != DeliveryState::Queued;
                        if entering {
                            let victims = if current.state.is_terminal() {
                                model.victims(&current.agent)
                            } else {
                                model.victims_on_return(&current.agent)
                            };
                            let named: Vec<_> = events
                                .iter()
                                .filter_map(|e| match &e.kind {
                                    EventKind::DeliveryDropped { dropped, .. } => {
                                        Some(dropped.iter().map(|d| d.delivery_id.clone()))
                                    }
                                    _ => None,
                                })
                                .flatten()
                                .collect();
                            assert_eq!(named, victims);
                        }
                        model.absorb(&events, now);
                        model.deliveries.insert(id, got);
                    }
                    (Err(_), Err(_)) => {}
                    (got, want) => panic!("store {got:?} but core {want:?}"),
                }
            }
            Op::Claim { agent } => {
                let want = model.queued(AGENTS[agent]).first().map(|d| d.id.clone());
                let got = store.claim_next(AGENTS[agent], "s").unwrap();
                assert_eq!(got.as_ref().map(|(d, _)| d.id.clone()), want);
                if let Some((d, m)) = got {
                    let t = Transition::BeginInjection {
                        session: "s".into(),
                        channel: courier_core::DeliveryChannel::Pty,
                    };
                    let (next, _) = model.deliveries[&d.id].apply(t, &POLICY, now).unwrap();
                    assert_eq!(d, next);
                    assert_eq!(m.id, d.message_id);
                    model.deliveries.insert(d.id.clone(), d);
                }
            }
            Op::Reopen => {
                let before = store.events_after(0, usize::MAX).unwrap();
                drop(store);
                store = open(&path, &clock);
                assert_eq!(store.events_after(0, usize::MAX).unwrap(), before);
            }
        }
        check(&store, &model, &path);
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
    #![proptest_config(ProptestConfig { cases: cases(48), ..ProptestConfig::default() })]

    #[test]
    fn store_matches_core(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops);
    }
}
