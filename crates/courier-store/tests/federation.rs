//! Federation in the store, on real SQLite files: agents of other hosts
//! resolved by a send, forwarded deliveries committed once under their
//! sender's id, outcomes applied once and in order.

mod common;

use common::*;
use courier_core::{DeliveryState, EventKind, Message, Timestamp, Verification};
use courier_store::{Inbound, InboundDelivery, RemoteAgent, RemoteOutcome, Store, StoreOptions};

fn remote(name: &str, host: &str, channels: &[&str]) -> RemoteAgent {
    RemoteAgent {
        name: name.into(),
        host: host.into(),
        presence: "active".into(),
        channels: channels.iter().map(|c| c.to_string()).collect(),
        updated_at: Timestamp(0),
    }
}

fn open(dir: &tempfile::TempDir, file: &str) -> Store {
    Store::open(dir.path().join(file), StoreOptions::default()).unwrap()
}

#[test]
fn a_send_reaches_agents_of_other_hosts_and_waits_to_be_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a.db");
    with_agents(&store, &["alice"]);
    store.join("ops", "alice").unwrap();
    block_on(store.upsert_remote_agents_async(vec![
        remote("bob", "h2", &["ops"]),
        remote("carol", "h3", &[]),
    ]))
    .unwrap();
    let dm = store.send(msg("alice", "bob", "hi")).unwrap();
    assert_eq!(dm.deliveries.len(), 1);
    let channel = store.send(msg("carol", "#ops", "to ops")).unwrap();
    let mut to: Vec<_> = channel
        .deliveries
        .iter()
        .map(|d| d.agent.as_str())
        .collect();
    to.sort();
    assert_eq!(to, ["alice", "bob"]);
    let all = store.send(msg("alice", "*", "everyone")).unwrap();
    let mut to: Vec<_> = all.deliveries.iter().map(|d| d.agent.as_str()).collect();
    to.sort();
    assert_eq!(to, ["bob", "carol"], "never the sender");
    let pending = store.pending_forwards(0, 100).unwrap().deliveries;
    assert_eq!(pending.len(), 4, "{pending:?}");
    assert!(pending.iter().all(|d| d.agent != "alice"));
    assert_eq!(store.pending_forward_count().unwrap(), 4);
}

fn inbound(id: &str, agent: &str) -> InboundDelivery {
    InboundDelivery {
        delivery_id: id.into(),
        agent: agent.into(),
        message: Message {
            id: "m1".into(),
            from: "alice".into(),
            to: "#ops".parse().unwrap(),
            body: "hello".into(),
            thread: None,
            idempotency_key: None,
            created_at: Timestamp(5),
        },
        origin_host: "h1".into(),
    }
}

#[test]
fn a_forwarded_delivery_is_committed_once_under_its_senders_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.db");
    {
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        with_agents(&store, &["bob", "dave"]);
        let answers = block_on(store.accept_inbound_async(vec![
            inbound("d1", "bob"),
            inbound("d2", "dave"),
            inbound("d1", "bob"),
        ]))
        .unwrap();
        assert_eq!(
            answers,
            [Inbound::Committed, Inbound::Committed, Inbound::Duplicate]
        );
    }
    // Redelivered after a restart: still recognised.
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let again = block_on(store.accept_inbound_async(vec![inbound("d1", "bob")])).unwrap();
    assert_eq!(again, [Inbound::Duplicate]);
    let d1 = store.delivery(&"d1".into()).unwrap().unwrap();
    assert_eq!(d1.state, DeliveryState::Queued);
    assert_eq!(d1.origin_host.as_deref(), Some("h1"));
    let received = all_events(&store)
        .into_iter()
        .filter(|e| e.kind.name() == "delivery_received")
        .count();
    assert_eq!(received, 2);
    assert_eq!(store.queue_depth("bob").unwrap(), 1);
}

#[test]
fn a_forward_to_an_agent_no_longer_here_is_a_dead_letter_not_a_loss() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "b.db");
    let answers = block_on(store.accept_inbound_async(vec![inbound("d9", "gone")])).unwrap();
    assert_eq!(answers, [Inbound::Committed]);
    let d = store.delivery(&"d9".into()).unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Dropped);
    assert!(d.reason.unwrap().contains("unknown_agent"));
}

fn outcome(seq: u64, kind: EventKind) -> RemoteOutcome {
    RemoteOutcome::logged(seq, kind)
}

#[test]
fn outcomes_are_applied_once_and_never_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a.db");
    with_agents(&store, &["alice"]);
    block_on(store.upsert_remote_agents_async(vec![remote("bob", "h2", &[])])).unwrap();
    let sent = store.send(msg("alice", "bob", "hi")).unwrap();
    let d = sent.deliveries[0].clone();
    let received = EventKind::DeliveryReceived {
        delivery_id: d.id.clone(),
        message_id: d.message_id.clone(),
        agent: "bob".into(),
        from_host: "h1".into(),
    };
    let verified = EventKind::DeliveryVerified {
        delivery_id: d.id.clone(),
        message_id: d.message_id.clone(),
        agent: "bob".into(),
        verification: Verification::Echo,
        reason: None,
        screen: vec![],
    };
    let applied = block_on(store.apply_outcomes_async(
        "h2".into(),
        vec![outcome(5, received.clone()), outcome(9, verified.clone())],
    ))
    .unwrap();
    assert_eq!(applied, 2);
    let now = store.delivery(&d.id).unwrap().unwrap();
    assert_eq!(now.state, DeliveryState::Verified);
    assert_eq!(now.forwarded_to.as_deref(), Some("h2"));
    assert!(store.pending_forwards(0, 10).unwrap().deliveries.is_empty());
    // A redelivered receipt (older seq) neither moves it back nor repeats events.
    let before = all_events(&store).len();
    let again = block_on(store.apply_outcomes_async(
        "h2".into(),
        vec![outcome(5, received), outcome(9, verified)],
    ))
    .unwrap();
    assert_eq!(again, 0);
    assert_eq!(all_events(&store).len(), before);
    assert_eq!(
        store.delivery(&d.id).unwrap().unwrap().state,
        DeliveryState::Verified
    );
    let kinds = names(&all_events(&store));
    assert!(kinds.contains(&"delivery_forwarded"), "{kinds:?}");
}

#[test]
fn an_agent_released_on_its_host_takes_its_unforwarded_deliveries_to_the_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a.db");
    with_agents(&store, &["alice"]);
    block_on(store.upsert_remote_agents_async(vec![remote("bob", "h2", &[])])).unwrap();
    let sent = store.send(msg("alice", "bob", "hi")).unwrap();
    assert!(block_on(store.remove_remote_agent_async("bob")).unwrap());
    let d = store.delivery(&sent.deliveries[0].id).unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Dropped);
    assert!(store.remote_agents().unwrap().is_empty());
}

#[test]
fn a_name_of_this_host_is_never_shadowed_by_another_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a.db");
    with_agents(&store, &["alice"]);
    let skipped =
        block_on(store.upsert_remote_agents_async(vec![remote("alice", "h2", &[])])).unwrap();
    assert_eq!(skipped, ["alice"]);
    assert!(store.remote_agents().unwrap().is_empty());
}

#[test]
fn a_backlog_of_forwards_is_read_page_by_page_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a.db");
    with_agents(&store, &["alice"]);
    block_on(store.upsert_remote_agents_async(vec![remote("bob", "h2", &[])])).unwrap();
    for i in 0..25 {
        store.send(msg("alice", "bob", &format!("m{i}"))).unwrap();
    }
    let mut seen = Vec::new();
    let mut after = 0;
    let mut pages = 0;
    loop {
        let page = store.pending_forwards(after, 10).unwrap();
        pages += 1;
        seen.extend(page.deliveries.iter().map(|d| d.id.clone()));
        match page.next {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(pages, 3, "10 + 10 + 5");
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (25, 25), "each once");
    // A full last page says more may follow; the page after it is empty.
    let all = store.pending_forwards(0, 25).unwrap();
    assert_eq!(all.deliveries.len(), 25);
    let after_all = store.pending_forwards(all.next.unwrap(), 25).unwrap();
    assert!(after_all.deliveries.is_empty() && after_all.next.is_none());
}
