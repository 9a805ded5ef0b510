//! Read receipts, claims by a hook, delivery modes, replies, and the v1 → v5 upgrade.

mod common;

use common::*;
use courier_core::{DeliveryChannel, DeliveryMode, DeliveryState, EventKind, Transition};
use courier_store::{MIGRATIONS, SCHEMA_VERSION, Store, StoreOptions};

fn deliver(store: &Store, id: &courier_core::DeliveryId) {
    store
        .claim_next("bob", "s1")
        .unwrap()
        .expect("something queued");
    store.transition(id, Transition::Written).unwrap();
    store.transition(id, Transition::Verified).unwrap();
}

#[test]
fn only_delivered_deliveries_of_the_agent_become_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("c.db"), StoreOptions::default()).unwrap();
    with_agents(&store, &["alice", "bob"]);
    let first = store.send(msg("alice", "bob", "one")).unwrap();
    let second = store.send(msg("alice", "bob", "two")).unwrap();
    let to_alice = store.send(msg("bob", "alice", "x")).unwrap();
    let d1 = first.deliveries[0].id.clone();
    deliver(&store, &d1);
    // Bob cannot mark Alice's delivery, nor one still queued.
    let marked = store
        .mark_read(
            "bob",
            Some(vec![
                to_alice.deliveries[0].id.clone(),
                second.deliveries[0].id.clone(),
            ]),
        )
        .unwrap();
    assert!(marked.is_empty());
    let marked = store.mark_read("bob", None).unwrap();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].id, d1);
    let stored = store.delivery(&d1).unwrap().unwrap();
    assert_eq!(stored.state, DeliveryState::Read);
    assert_eq!(stored.channel, Some(DeliveryChannel::Pty));
    assert!(stored.read_at.is_some());
    assert!(store.mark_read("bob", None).unwrap().is_empty(), "once");
    let reads: Vec<_> = all_events(&store)
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::DeliveryRead { .. }))
        .collect();
    assert_eq!(reads.len(), 1);
}

#[test]
fn a_delivery_is_claimed_by_one_channel_only() {
    let store = Store::open_in_memory(StoreOptions::default()).unwrap();
    with_agents(&store, &["alice", "bob"]);
    let ids: Vec<_> = (0..3)
        .map(|i| {
            store
                .send(msg("alice", "bob", &format!("m{i}")))
                .unwrap()
                .deliveries[0]
                .id
                .clone()
        })
        .collect();
    // The terminal takes the oldest; the hook gets the others, in order.
    let (typing, _) = store.claim_next("bob", "s").unwrap().unwrap();
    assert_eq!(typing.id, ids[0]);
    let hooked = store.claim_for("bob", DeliveryChannel::Hook, 10).unwrap();
    let hooked_ids: Vec<_> = hooked.iter().map(|(d, _)| d.id.clone()).collect();
    assert_eq!(hooked_ids, ids[1..]);
    assert!(hooked.iter().all(|(d, m)| d.state == DeliveryState::Read
        && d.channel == Some(DeliveryChannel::Hook)
        && m.body.starts_with('m')));
    // Nothing is left for either channel.
    assert!(store.claim_next("bob", "s").unwrap().is_none());
    assert!(
        store
            .claim_for("bob", DeliveryChannel::Hook, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.queue_depth("bob").unwrap(), 0);
    assert_eq!(
        store.pending().unwrap().len(),
        1,
        "only the one being typed"
    );
}

#[test]
fn modes_are_persisted_and_kept_by_upserts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        with_agents(&store, &["bob"]);
        assert_eq!(
            store.agent("bob").unwrap().unwrap().mode,
            DeliveryMode::Idle
        );
        store.set_mode("bob", DeliveryMode::Manual).unwrap();
        with_agents(&store, &["bob"]);
        assert!(store.set_mode("nobody", DeliveryMode::Manual).is_err());
    }
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(
        store.agent("bob").unwrap().unwrap().mode,
        DeliveryMode::Manual
    );
    let modes: Vec<_> = all_events(&store)
        .into_iter()
        .filter(|e| e.kind.name() == "agent_mode")
        .collect();
    assert_eq!(modes.len(), 1);
}

#[test]
fn a_version_1_file_opens_and_upgrades_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO agents (name, spec, created_at) VALUES ('bob', '{}', 1);
             INSERT INTO messages (id, sender, recipient, body, created_at)
                 VALUES ('m1', 'alice', 'bob', 'hello', 1), ('m2', 'alice', 'bob', 'later', 2);
             INSERT INTO deliveries (id, message_id, agent, sender, state, attempt, verification,
                 created_at, updated_at, queue_pos)
                 VALUES ('d1', 'm1', 'bob', 'alice', 'verified', 0, 'echo', 1, 1, 1),
                        ('d2', 'm2', 'bob', 'alice', 'queued', 0, NULL, 2, 2, 2);",
        )
        .unwrap();
    }
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 7);
    assert!(
        store.replies(&"m2".into()).unwrap().is_empty(),
        "v5 replies"
    );
    let d1 = store.delivery(&"d1".into()).unwrap().unwrap();
    assert_eq!(d1.channel, Some(DeliveryChannel::Pty), "typed by v1");
    assert_eq!(
        store.agent("bob").unwrap().unwrap().mode,
        DeliveryMode::Idle
    );
    assert_eq!(store.mark_read("bob", None).unwrap().len(), 1);
    let hooked = store.claim_for("bob", DeliveryChannel::Hook, 5).unwrap();
    assert_eq!(hooked.len(), 1);
    assert_eq!(hooked[0].1.body, "later");
    assert_eq!(store.queue_depth("bob").unwrap(), 0);
}

#[test]
fn a_message_in_a_thread_and_a_protocol_answer_are_replies_kept_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    with_agents(&store, &["alice", "bob"]);
    let asked = store.send(msg("alice", "bob", "why?")).unwrap().message.id;
    let mut answer = msg("bob", "alice", "because");
    answer.thread = Some(asked.clone());
    let answer = store.send(answer).unwrap().message.id;
    let protocol = courier_core::Reply {
        created_at: courier_core::Timestamp(0),
        from: "bob".into(),
        message_id: None,
        reply_to: asked.clone(),
        text: "echo: why?".into(),
        via: courier_core::ReplyVia::Protocol,
    };
    assert!(store.record_reply(protocol.clone()).unwrap().is_some());
    let unknown = courier_core::Reply {
        reply_to: "nope".into(),
        ..protocol
    };
    assert!(
        store.record_reply(unknown).unwrap().is_none(),
        "links nothing"
    );
    drop(store);

    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let replies = store.replies(&asked).unwrap();
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert_eq!(replies[0].via, courier_core::ReplyVia::Message);
    assert_eq!(replies[0].message_id, Some(answer.clone()));
    assert_eq!(replies[0].text, "because");
    assert_eq!(replies[1].via, courier_core::ReplyVia::Protocol);
    assert!(replies[1].created_at.0 > 0, "dated by its commit");
    let replied: Vec<_> = all_events(&store)
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::MessageReplied {
                message_id,
                reply_id,
                ..
            } => Some((message_id, reply_id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        replied,
        vec![(asked.clone(), Some(answer)), (asked, None)],
        "one message_replied each"
    );
}
