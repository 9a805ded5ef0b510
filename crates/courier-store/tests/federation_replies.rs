//! Replies across hosts in the store, on real SQLite files: the host that
//! recorded a reply to a forwarded message finds it and the sender's host
//! to send it back to; the sender's host records it once, however often
//! the same outcome is applied (a batch published again after a crash).

mod common;

use common::*;
use courier_core::{
    Event, EventKind, Message, MessageId, Reply, ReplyVia, Timestamp, Verification,
};
use courier_store::{InboundDelivery, RemoteAgent, RemoteOutcome, ReplyKey, Store, StoreOptions};

fn open(dir: &tempfile::TempDir, file: &str) -> Store {
    Store::open(dir.path().join(file), StoreOptions::default()).unwrap()
}

fn replied_events(store: &Store) -> Vec<Event> {
    all_events(store)
        .into_iter()
        .filter(|e| e.kind.name() == "message_replied")
        .collect()
}

fn key_of(event: &Event) -> ReplyKey {
    match &event.kind {
        EventKind::MessageReplied {
            message_id,
            from,
            via,
            reply_id,
        } => ReplyKey {
            reply_to: message_id.clone(),
            from: from.clone(),
            via: *via,
            reply_id: reply_id.clone(),
            at: event.time,
        },
        other => panic!("not a message_replied: {other:?}"),
    }
}

fn protocol_reply(to: &MessageId, text: &str) -> Reply {
    Reply {
        reply_to: to.clone(),
        from: "bob".into(),
        via: ReplyVia::Protocol,
        text: text.into(),
        message_id: None,
        created_at: Timestamp(0),
    }
}

#[test]
fn a_reply_to_a_forwarded_message_is_found_with_the_host_it_goes_back_to() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "b.db");
    with_agents(&store, &["bob", "carol"]);
    let forwarded = MessageId::new("m1");
    block_on(store.accept_inbound_async(vec![InboundDelivery {
        delivery_id: "d1".into(),
        agent: "bob".into(),
        message: Message {
            id: forwarded.clone(),
            from: "alice".into(),
            to: "bob".parse().unwrap(),
            body: "what is two and two".into(),
            thread: None,
            idempotency_key: None,
            created_at: Timestamp(5),
        },
        origin_host: "h1".into(),
    }]))
    .unwrap();
    store
        .record_reply(protocol_reply(&forwarded, "four"))
        .unwrap()
        .expect("the message is here");
    // A message sent here is answered here: nothing goes back.
    let local = store.send(msg("carol", "bob", "and you?")).unwrap();
    store
        .record_reply(protocol_reply(&local.message.id, "fine"))
        .unwrap()
        .expect("the message is here");

    let events = replied_events(&store);
    assert_eq!(events.len(), 2, "{events:?}");
    let (origin, reply) = block_on(store.reply_to_send_back_async(key_of(&events[0])))
        .unwrap()
        .expect("a reply to a message of h1");
    assert_eq!(origin, "h1");
    assert_eq!(reply.reply_to, forwarded);
    assert_eq!(reply.text, "four");
    assert_eq!(reply.created_at, events[0].time, "dated by the same commit");
    assert_eq!(
        block_on(store.reply_to_send_back_async(key_of(&events[1]))).unwrap(),
        None,
        "a message of this host"
    );
}

fn remote(name: &str, host: &str) -> RemoteAgent {
    RemoteAgent {
        name: name.into(),
        host: host.into(),
        presence: "active".into(),
        channels: Vec::new(),
        updated_at: Timestamp(0),
    }
}

#[test]
fn a_reply_from_another_host_is_recorded_once_however_often_it_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    with_agents(&store, &["alice"]);
    block_on(store.upsert_remote_agents_async(vec![remote("bob", "h2")])).unwrap();
    let sent = store
        .send(msg("alice", "bob", "what is two and two"))
        .unwrap();
    let d = sent.deliveries[0].clone();
    let id = sent.message.id.clone();
    let received = EventKind::DeliveryReceived {
        delivery_id: d.id.clone(),
        message_id: id.clone(),
        agent: "bob".into(),
        from_host: "h1".into(),
    };
    let verified = EventKind::DeliveryVerified {
        delivery_id: d.id.clone(),
        message_id: id.clone(),
        agent: "bob".into(),
        verification: Verification::Protocol,
        reason: None,
        screen: vec![],
    };
    let mut reply = protocol_reply(&id, "four");
    reply.created_at = Timestamp(1_700_000_000_000);
    let batch = vec![
        RemoteOutcome::logged(5, received),
        RemoteOutcome::replied(8, reply.clone()),
        RemoteOutcome::logged(9, verified),
    ];
    let applied = block_on(store.apply_outcomes_async("h2".into(), batch.clone())).unwrap();
    assert_eq!(applied, 3);
    // The same batch again (published again after a crash), then after a
    // restart of this host.
    let again = block_on(store.apply_outcomes_async("h2".into(), batch.clone())).unwrap();
    assert_eq!(again, 0);
    drop(store);
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let later = block_on(store.apply_outcomes_async("h2".into(), batch[1..2].to_vec())).unwrap();
    assert_eq!(later, 0);

    assert_eq!(
        store.replies(&id).unwrap(),
        vec![reply.clone()],
        "as given there"
    );
    let events = replied_events(&store);
    assert_eq!(events.len(), 1, "one message_replied: {events:?}");
    assert_eq!(
        events[0].kind,
        EventKind::MessageReplied {
            message_id: id.clone(),
            from: "bob".into(),
            via: ReplyVia::Protocol,
            reply_id: None,
        }
    );

    // A second reply to the same message (another seq of that log) is one more.
    let mut second = reply.clone();
    second.text = "four, again".into();
    let applied =
        block_on(store.apply_outcomes_async("h2".into(), vec![RemoteOutcome::replied(12, second)]))
            .unwrap();
    assert_eq!(applied, 1);
    assert_eq!(store.replies(&id).unwrap().len(), 2);

    // A host the message never went to answers nothing for it, nor does a
    // reply to a message that is not here.
    let stray = vec![
        RemoteOutcome::replied(8, reply.clone()),
        RemoteOutcome::replied(9, protocol_reply(&MessageId::new("nope"), "?")),
    ];
    assert_eq!(
        block_on(store.apply_outcomes_async("h3".into(), stray)).unwrap(),
        0
    );
    assert_eq!(store.replies(&id).unwrap().len(), 2);
}

#[test]
fn an_outcome_carries_its_reply_and_an_old_one_decodes_without() {
    let reply = protocol_reply(&MessageId::new("m1"), "four");
    let outcome = RemoteOutcome::replied(8, reply.clone());
    let text = serde_json::to_string(&outcome).unwrap();
    let back: RemoteOutcome = serde_json::from_str(&text).unwrap();
    assert_eq!(back.reply, Some(reply));
    let old = r#"{"seq":3,"event":{"type":"delivery_read","delivery_id":"d1","message_id":"m1","agent":"bob","channel":"hook"}}"#;
    let old: RemoteOutcome = serde_json::from_str(old).unwrap();
    assert_eq!(old.reply, None);
    let logged = serde_json::to_string(&RemoteOutcome::logged(3, old.event)).unwrap();
    assert!(!logged.contains("reply"), "{logged}");
}
