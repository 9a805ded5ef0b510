//! The store's behaviour through its public API, on files and in memory.

mod common;

use common::*;
use courier_core::{CoreError, DeliveryState, EventKind, Transition};
use courier_store::{PrunePolicy, Store, StoreError, StoreOptions};
use std::time::Duration;

fn stores(opts: StoreOptions) -> Vec<(Store, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let file = Store::open(dir.path().join("courier.db"), opts.clone()).unwrap();
    let memory = Store::open_in_memory(opts).unwrap();
    vec![(file, dir), (memory, tempfile::tempdir().unwrap())]
}

#[test]
fn fan_out_writes_message_deliveries_and_events_together() {
    for (store, _dir) in stores(StoreOptions::default()) {
        with_agents(&store, &["alice", "bob", "carol"]);
        store.join("#ops", "alice").unwrap();
        store.join("ops", "bob").unwrap();
        let dm = store.send(msg("alice", "bob", "hi")).unwrap();
        assert_eq!(dm.deliveries.len(), 1);
        assert_eq!(names(&dm.events), ["message_accepted", "delivery_queued"]);
        let ch = store.send(msg("alice", "#ops", "to ops")).unwrap();
        assert_eq!(
            ch.deliveries
                .iter()
                .map(|d| d.agent.as_str())
                .collect::<Vec<_>>(),
            ["bob"]
        );
        let all = store.send(msg("human", "*", "everyone")).unwrap();
        assert_eq!(all.deliveries.len(), 3);
        let (stored, deliveries) = store.message(&all.message.id).unwrap().unwrap();
        assert_eq!(stored, all.message);
        assert_eq!(deliveries, all.deliveries);
        let before = store.last_seq().unwrap();
        let err = store.send(msg("alice", "dave", "who?")).unwrap_err();
        assert_eq!(
            err,
            StoreError::Refused(CoreError::UnknownAgent {
                name: "dave".into()
            })
        );
        assert_eq!(
            store.last_seq().unwrap(),
            before,
            "a refused send writes nothing"
        );
        let events = all_events(&store);
        assert_eq!(names(&events)[..2], ["channel_joined", "channel_joined"]);
        assert_eq!(store.pending().unwrap().len(), 5);
    }
}

#[test]
fn idempotency_keys_deduplicate_within_retention_and_survive_reopen() {
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courier.db");
    let first = {
        let store = Store::open(&path, options(&clock)).unwrap();
        with_agents(&store, &["alice", "bob"]);
        store.send(keyed("alice", "bob", "k1")).unwrap()
    };
    let store = Store::open(&path, options(&clock)).unwrap();
    let seq = store.last_seq().unwrap();
    let again = store.send(keyed("alice", "bob", "k1")).unwrap();
    assert!(again.duplicate && again.events.is_empty());
    assert_eq!(again.message.id, first.message.id);
    assert_eq!(again.deliveries, first.deliveries);
    assert_eq!(store.last_seq().unwrap(), seq);
    // Another sender with the same key is a different send.
    with_agents(&store, &["carol"]);
    assert!(!store.send(keyed("carol", "bob", "k1")).unwrap().duplicate);
    clock.advance(24 * 3600 * 1000);
    let later = store.send(keyed("alice", "bob", "k1")).unwrap();
    assert!(!later.duplicate);
    assert_ne!(later.message.id, first.message.id);
}

#[test]
fn queue_cap_drops_the_oldest_queued_with_one_event_and_replay_respects_it() {
    let opts = StoreOptions {
        queue_cap: 2,
        ..StoreOptions::default()
    };
    for (store, _dir) in stores(opts) {
        with_agents(&store, &["alice", "bob"]);
        let a = store.send(msg("alice", "bob", "1")).unwrap();
        let b = store.send(msg("alice", "bob", "2")).unwrap();
        let c = store.send(msg("alice", "bob", "3")).unwrap();
        assert_eq!(c.dropped.len(), 1);
        assert_eq!(c.dropped[0].id, a.deliveries[0].id);
        assert_eq!(
            names(&c.events),
            ["message_accepted", "delivery_dropped", "delivery_queued"]
        );
        match &c.events[1].kind {
            EventKind::DeliveryDropped {
                name,
                count,
                reason,
                dropped,
            } => {
                assert_eq!(
                    (name.as_str(), *count, reason.as_str()),
                    ("bob", 1, "queue_full")
                );
                assert_eq!(dropped[0].from, "alice");
                assert_eq!(dropped[0].message_id, a.message.id);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(store.queue_depth("bob").unwrap(), 2);
        assert_eq!(store.dead_letters(10).unwrap()[0].id, a.deliveries[0].id);
        // Replay: back of the queue, evicting the now-oldest (b).
        let (replayed, events) = store.replay(&a.deliveries[0].id).unwrap();
        assert_eq!(replayed.state, DeliveryState::Queued);
        assert_eq!(
            names(&events),
            ["delivery_dropped", "delivery_replayed", "delivery_queued"]
        );
        assert_eq!(
            store.delivery(&b.deliveries[0].id).unwrap().unwrap().state,
            DeliveryState::Dropped
        );
        let order: Vec<_> = store.pending().unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(
            order,
            [c.deliveries[0].id.clone(), a.deliveries[0].id.clone()]
        );
        // An in-flight delivery counts against the cap but is never evicted.
        let (claimed, _) = store.claim_next("bob", "s1").unwrap().unwrap();
        store.send(msg("alice", "bob", "4")).unwrap();
        assert_eq!(
            store.delivery(&claimed.id).unwrap().unwrap().state,
            DeliveryState::Injecting
        );
        assert_eq!(store.queue_depth("bob").unwrap(), 1);
        all_events(&store);
    }
}

/// Found by the store proptest in CI: with every pending delivery in flight
/// there is nothing to evict, so a new send is accepted over the cap; when
/// the in-flight one then comes back to the queue, the queue must still hold
/// at most `cap`, and the eviction is an event like any other.
#[test]
fn a_delivery_returning_from_flight_never_overfills_the_queue() {
    let opts = StoreOptions {
        queue_cap: 1,
        ..StoreOptions::default()
    };
    for (store, _dir) in stores(opts) {
        with_agents(&store, &["alice", "bob"]);
        let first = store.send(msg("alice", "bob", "1")).unwrap();
        let (claimed, _) = store.claim_next("bob", "s1").unwrap().unwrap();
        let second = store.send(msg("alice", "bob", "2")).unwrap();
        assert!(second.dropped.is_empty(), "nothing queued to evict");
        let (back, events) = store
            .transition(
                &claimed.id,
                Transition::Requeue {
                    reason: "restart".into(),
                },
            )
            .unwrap();
        assert_eq!(back.id, first.deliveries[0].id);
        assert_eq!(back.state, DeliveryState::Queued);
        assert_eq!(names(&events)[0], "delivery_dropped");
        assert_eq!(
            store
                .delivery(&second.deliveries[0].id)
                .unwrap()
                .unwrap()
                .state,
            DeliveryState::Dropped
        );
        assert_eq!(store.queue_depth("bob").unwrap(), 1);
        all_events(&store);
    }
}

#[test]
fn claims_follow_queue_order_and_retries_keep_their_place() {
    for (store, _dir) in stores(StoreOptions::default()) {
        with_agents(&store, &["alice", "bob"]);
        let first = store.send(msg("alice", "bob", "first")).unwrap();
        store.send(msg("alice", "bob", "second")).unwrap();
        let (d, m) = store.claim_next("bob", "s1").unwrap().unwrap();
        assert_eq!(
            (d.state, m.body.as_str()),
            (DeliveryState::Injecting, "first")
        );
        let (d, events) = store
            .transition(
                &d.id,
                Transition::Failed {
                    reason: "write error".into(),
                },
            )
            .unwrap();
        assert_eq!((d.state, d.attempt), (DeliveryState::Queued, 1));
        assert_eq!(names(&events), ["delivery_retry"]);
        let (again, _) = store.claim_next("bob", "s1").unwrap().unwrap();
        assert_eq!(again.id, first.deliveries[0].id, "a retry keeps its place");
        store.transition(&again.id, Transition::Written).unwrap();
        let (done, _) = store.transition(&again.id, Transition::Verified).unwrap();
        assert_eq!(done.state, DeliveryState::Verified);
        let err = store
            .transition(&again.id, Transition::Written)
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::Refused(CoreError::InvalidTransition { .. })
        ));
        let unknown = store
            .transition(&"nope".into(), Transition::Written)
            .unwrap_err();
        assert!(matches!(unknown, StoreError::UnknownDelivery { .. }));
        assert_eq!(store.claim_next("alice", "s").unwrap(), None);
        all_events(&store);
    }
}

#[test]
fn one_failing_request_in_a_batch_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        std::sync::Arc::new(Store::open(dir.path().join("c.db"), StoreOptions::default()).unwrap());
    with_agents(&store, &["alice", "bob"]);
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                (0..20)
                    .map(|j| {
                        let to = if (i + j) % 3 == 0 { "ghost" } else { "bob" };
                        (to, store.send(msg("alice", to, "x")))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ok = 0;
    for t in threads {
        for (to, result) in t.join().unwrap() {
            match to {
                "ghost" => assert!(matches!(result, Err(StoreError::Refused(_)))),
                _ => {
                    result.unwrap();
                    ok += 1;
                }
            }
        }
    }
    let events = all_events(&store);
    let accepted = events
        .iter()
        .filter(|e| e.kind.name() == "message_accepted")
        .count();
    assert_eq!(accepted, ok);
}

#[test]
fn subscribers_get_committed_events_in_order_without_gap_or_repeat() {
    for (store, _dir) in stores(StoreOptions::default()) {
        with_agents(&store, &["alice", "bob"]);
        let sub = store.subscribe().unwrap();
        assert_eq!(sub.after_seq, store.last_seq().unwrap());
        let receipt = store.send(msg("alice", "bob", "hi")).unwrap();
        let _ = store.send(msg("alice", "nobody", "refused"));
        let got: Vec<_> = sub.events.try_iter().collect();
        assert_eq!(got, receipt.events);
        let event = block_on(store.append_event_async(EventKind::AgentIdle { name: "bob".into() }))
            .unwrap();
        assert_eq!(sub.events.try_recv().unwrap(), event);
        let err = store.append_event(EventKind::ChannelLeft {
            channel: "x".into(),
            agent: "bob".into(),
        });
        assert!(matches!(err, Err(StoreError::NotLifecycleEvent { .. })));
    }
}

#[test]
fn async_forms_answer_after_commit() {
    let store = Store::open_in_memory(StoreOptions::default()).unwrap();
    with_agents(&store, &["alice", "bob"]);
    let receipt = block_on(store.send_async(msg("alice", "bob", "hi"))).unwrap();
    let (d, _) =
        block_on(store.claim_next_async("bob", "s", courier_core::DeliveryChannel::Native))
            .unwrap()
            .unwrap();
    assert_eq!(d.id, receipt.deliveries[0].id);
    // The channel it was claimed for is the one recorded.
    assert_eq!(d.channel, Some(courier_core::DeliveryChannel::Native));
    let (d, _) =
        block_on(store.transition_async(&d.id, Transition::Failed { reason: "x".into() })).unwrap();
    assert_eq!(d.state, DeliveryState::Queued);
}

#[test]
fn agents_and_channels() {
    let clock = clock();
    let store = Store::open_in_memory(options(&clock)).unwrap();
    with_agents(&store, &["alice", "bob"]);
    let created = store.agent("alice").unwrap().unwrap().created_at;
    clock.advance(1000);
    let rec = courier_store::AgentRecord::new("alice", serde_json::json!({"cmd": "claude"}));
    let updated = store.upsert_agent(rec).unwrap();
    assert_eq!(
        (updated.created_at, updated.spec["cmd"].as_str()),
        (created, Some("claude"))
    );
    assert!(store.join("#ops", "alice").unwrap());
    assert!(!store.join("#ops", "alice").unwrap());
    assert!(store.join("#ops", "bob").unwrap());
    assert!(matches!(
        store.join("#ops", "ghost"),
        Err(StoreError::Refused(CoreError::UnknownAgent { .. }))
    ));
    assert_eq!(
        store.channels().unwrap(),
        [(
            "ops".to_string(),
            vec!["alice".to_string(), "bob".to_string()]
        )]
    );
    assert!(store.leave("#ops", "bob").unwrap());
    assert!(store.remove_agent("alice").unwrap());
    assert!(store.channels().unwrap().is_empty());
    assert_eq!(store.agents().unwrap().len(), 1);
    let events = all_events(&store);
    assert_eq!(
        names(&events),
        [
            "channel_joined",
            "channel_joined",
            "channel_left",
            "channel_left"
        ]
    );
}

#[test]
fn prune_is_bounded_and_keeps_pending_work() {
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("c.db"), options(&clock)).unwrap();
    with_agents(&store, &["alice", "bob"]);
    let done = store.send(keyed("alice", "bob", "old")).unwrap();
    let (d, _) = store.claim_next("bob", "s").unwrap().unwrap();
    store.transition(&d.id, Transition::Written).unwrap();
    store.transition(&d.id, Transition::Verified).unwrap();
    let waiting = store.send(msg("alice", "bob", "still queued")).unwrap();
    let last = store.last_seq().unwrap();
    clock.advance(25 * 3600 * 1000);
    let policy = PrunePolicy {
        older_than: Duration::from_secs(3600),
        max_rows: 3,
    };
    let first = store.prune(policy).unwrap();
    assert_eq!((first.total(), first.more), (3, true));
    let mut total = first.total();
    loop {
        let r = store.prune(policy).unwrap();
        total += r.total();
        if !r.more {
            break;
        }
    }
    assert_eq!(
        total,
        1 + last as usize + 1 + 1,
        "key + events + delivery + message"
    );
    assert!(store.message(&done.message.id).unwrap().is_none());
    assert!(store.message(&waiting.message.id).unwrap().is_some());
    assert_eq!(store.pending().unwrap().len(), 1);
    assert_eq!(store.last_seq().unwrap(), last);
    let next = store.send(msg("alice", "bob", "after prune")).unwrap();
    assert_eq!(next.events[0].seq, last + 1, "seqs are never reused");
    assert!(!store.send(keyed("alice", "bob", "old")).unwrap().duplicate);
}

/// Pruning never undoes a promise: a keyed message stays while its key can
/// still deduplicate, and a dead letter stays until a person replays it.
#[test]
fn prune_keeps_keyed_messages_inside_the_window_and_every_dead_letter() {
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        queue_cap: 1,
        ..options(&clock)
    };
    let store = Store::open(dir.path().join("c.db"), opts).unwrap();
    with_agents(&store, &["alice", "bob"]);
    let keyed_send = store.send(keyed("alice", "bob", "k1")).unwrap();
    let (d, _) = store.claim_next("bob", "s").unwrap().unwrap();
    store.transition(&d.id, Transition::Written).unwrap();
    store.transition(&d.id, Transition::Verified).unwrap();
    // Two more sends with a cap of 1: the first of them is dropped.
    let evicted = store.send(msg("alice", "bob", "evicted")).unwrap();
    store.send(msg("alice", "bob", "kept queued")).unwrap();
    let dropped_id = evicted.deliveries[0].id.clone();
    assert_eq!(
        store.delivery(&dropped_id).unwrap().unwrap().state,
        DeliveryState::Dropped
    );
    // Two hours later: past `older_than`, well inside the 24 h key window.
    clock.advance(2 * 3600 * 1000);
    let policy = PrunePolicy {
        older_than: Duration::from_secs(3600),
        max_rows: 10_000,
    };
    let report = store.prune(policy).unwrap();
    assert_eq!(report.deliveries, 1, "only the verified delivery goes");
    assert_eq!(report.messages, 0, "the keyed message is still needed");
    let again = store.send(keyed("alice", "bob", "k1")).unwrap();
    assert!(again.duplicate, "a resend inside the window is a duplicate");
    assert_eq!(again.message.id, keyed_send.message.id);
    assert_eq!(store.dead_letters(10).unwrap().len(), 1);
    assert!(store.delivery(&dropped_id).unwrap().is_some());
    // Past the key window the keyed message (with no delivery left) goes;
    // the dead letter still stays.
    clock.advance(25 * 3600 * 1000);
    let report = store.prune(policy).unwrap();
    assert_eq!(report.messages, 1, "{report:?}");
    assert!(store.message(&keyed_send.message.id).unwrap().is_none());
    assert_eq!(store.dead_letters(10).unwrap().len(), 1);
}

/// Group commit: concurrent senders share transactions (fewer commits than
/// requests), and each is answered only once its send is on disk, visible
/// to another connection to the file.
#[test]
fn concurrent_sends_share_commits_and_are_answered_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("group.db");
    let store = std::sync::Arc::new(Store::open(&path, StoreOptions::default()).unwrap());
    with_agents(&store, &["alice", "bob"]);
    let (commits_before, requests_before) = store.write_stats();
    let senders = 32;
    let per_sender = 20;
    std::thread::scope(|s| {
        for t in 0..senders {
            let store = store.clone();
            let path = path.clone();
            s.spawn(move || {
                let other = rusqlite::Connection::open(&path).unwrap();
                for i in 0..per_sender {
                    let sent = store
                        .send(msg("alice", "bob", &format!("{t}/{i}")))
                        .unwrap();
                    let seen: i64 = other
                        .query_row(
                            "SELECT count(*) FROM messages WHERE id = ?1",
                            [&sent.message.id.0],
                            |r| r.get(0),
                        )
                        .unwrap();
                    assert_eq!(seen, 1, "answered before its commit");
                }
            });
        }
    });
    let (commits, requests) = store.write_stats();
    let (commits, requests) = (commits - commits_before, requests - requests_before);
    assert_eq!(requests, (senders * per_sender) as u64);
    assert!(
        commits < requests,
        "{requests} concurrent sends took {commits} commits: no batching"
    );
    eprintln!("group commit: {requests} sends in {commits} commits");
}

#[test]
fn a_stuck_event_stored_before_reasons_still_reads() {
    // A log written by an older broker: `delivery_stuck` had no `reason`.
    // Replaying it must not fail; it reads with the reason implied then.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courier.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let before = store.last_seq().unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute(
            "INSERT INTO events (time, kind, data) VALUES (0, 'delivery_stuck', ?1)",
            [r#"{"type":"delivery_stuck","delivery_id":"d1","message_id":"m1","agent":"bob","state":"injected","seconds":31,"waited_ms":31000,"screen":[]}"#],
        )
        .unwrap();
    let events = store.events_after(before, 10).unwrap();
    assert_eq!(events.len(), 1);
    match &events[0].kind {
        EventKind::DeliveryStuck { reason, .. } => {
            assert_eq!(*reason, courier_core::StuckReason::InFlight);
        }
        other => panic!("read as {other:?}"),
    }
}
