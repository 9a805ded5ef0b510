//! The store's async face on real SQLite files: reads answered by the read
//! pool while the writer commits, read-your-writes, reader errors that name
//! the operation and the file, and every `_async` form answering as its
//! blocking twin (file and in-memory stores).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use courier_core::{DeliveryMode, DeliveryState, Timestamp, Transition};
use courier_store::{
    NewToken, PrunePolicy, RemoteAgent, SendReceipt, Store, StoreError, StoreOptions,
};

fn file_store(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path().join("reads.db"), StoreOptions::default()).unwrap()
}

/// A store with rows in every table a read looks at: agents, a channel, a
/// DM, a broadcast, a delivery in flight, a dead letter, a token, an agent
/// of another host with a delivery waiting to be forwarded, a cursor.
fn populate(store: &Store) -> SendReceipt {
    with_agents(store, &["alice", "bob", "carol"]);
    store.join("ops", "alice").unwrap();
    store.join("ops", "bob").unwrap();
    let dm = store.send(msg("alice", "bob", "hi")).unwrap();
    store.send(msg("alice", "*", "everyone")).unwrap();
    store.claim_next("bob", "s1").unwrap().unwrap();
    // Fail carol's delivery until it is dead (the retry policy's attempts).
    let mut dead = false;
    while !dead {
        let (d, _) = store.claim_next("carol", "s1").unwrap().unwrap();
        let (d, _) = store
            .transition(&d.id, Transition::Failed { reason: "x".into() })
            .unwrap();
        dead = d.state == DeliveryState::Dead;
    }
    store
        .create_token(NewToken {
            hash: "ab".repeat(32),
            kind: "observer".into(),
            label: None,
            expires_at: None,
        })
        .unwrap();
    block_on(store.upsert_remote_agents_async(vec![RemoteAgent {
        name: "dave".into(),
        host: "h2".into(),
        presence: "active".into(),
        channels: vec![],
        updated_at: Timestamp(0),
    }]))
    .unwrap();
    store.send(msg("alice", "dave", "far away")).unwrap();
    block_on(store.set_cursor_async("outcomes", 7)).unwrap();
    dm
}

/// Asserts the blocking answer is not empty and the async one equals it.
macro_rules! same {
    ($store:expr, $blocking:ident / $async:ident ($($arg:expr),*), $nonempty:expr) => {{
        let blocking = $store.$blocking($($arg),*).unwrap();
        assert!($nonempty(&blocking), "{}: {:?}", stringify!($blocking), blocking);
        let answered = block_on($store.$async($($arg),*)).unwrap();
        assert_eq!(answered, blocking, "{}", stringify!($async));
    }};
}

fn every_read_answers_as_its_blocking_twin(store: &Store) {
    let dm = populate(store);
    let message = &dm.message.id;
    let delivery = &dm.deliveries[0].id;
    same!(store, agents / agents_async(), |v: &Vec<_>| v.len() == 3);
    same!(store, agent / agent_async("bob"), Option::is_some);
    same!(store, agent / agent_async("ghost"), Option::is_none);
    same!(store, channels / channels_async(), |v: &Vec<_>| v.len()
        == 1);
    same!(store, message / message_async(message), Option::is_some);
    same!(
        store,
        message_only / message_only_async(message),
        Option::is_some
    );
    same!(store, delivery / delivery_async(delivery), Option::is_some);
    same!(
        store,
        events_after / events_after_async(0, usize::MAX),
        |v: &Vec<_>| v.len() > 5
    );
    same!(store, events_after / events_after_async(3, 2), |v: &Vec<
        _,
    >| v
        .len()
        == 2);
    same!(store, last_seq / last_seq_async(), |n: &u64| *n > 5);
    same!(store, pending / pending_async(), |v: &Vec<_>| v.len() == 3);
    same!(
        store,
        queue_depth / queue_depth_async("bob"),
        |n: &usize| *n == 1
    );
    same!(
        store,
        queue_depths / queue_depths_async(),
        |m: &BTreeMap<_, _>| { m.get("bob") == Some(&1) && m.values().all(|n| *n <= 1) }
    );
    same!(store, dead_letters / dead_letters_async(10), |v: &Vec<
        _,
    >| v.len()
        == 1);
    same!(store, pending_count / pending_count_async(), |n: &usize| *n
        == 3);
    same!(store, inbox / inbox_async("bob", 10), |v: &Vec<_>| v.len()
        == 2);
    same!(store, remote_agents / remote_agents_async(), |v: &Vec<
        _,
    >| v.len()
        == 1);
    same!(store, cursor / cursor_async("outcomes"), |c: &Option<
        u64,
    >| *c
        == Some(7));
    same!(
        store,
        pending_forwards / pending_forwards_async(0, 10),
        |p: &courier_store::ForwardPage| p.deliveries.len() == 1
    );
    same!(
        store,
        pending_forward_count / pending_forward_count_async(),
        |n: &usize| *n == 1
    );
    same!(store, tokens / tokens_async(), |v: &Vec<_>| v.len() == 1);
}

#[test]
fn every_async_read_answers_as_its_blocking_twin_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    every_read_answers_as_its_blocking_twin(&file_store(&dir));
}

#[test]
fn every_async_read_answers_as_its_blocking_twin_in_memory() {
    every_read_answers_as_its_blocking_twin(
        &Store::open_in_memory(StoreOptions::default()).unwrap(),
    );
}

#[test]
fn async_writes_change_what_reads_see() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir);
    let subscription = block_on(store.subscribe_async()).unwrap();
    for name in ["alice", "bob"] {
        let record = courier_store::AgentRecord::new(name, serde_json::json!({"cmd": "sh"}));
        block_on(store.upsert_agent_async(record)).unwrap();
    }
    assert!(block_on(store.join_async("#ops", "alice")).unwrap());
    assert!(block_on(store.join_async("#ops", "bob")).unwrap());
    assert!(block_on(store.leave_async("#ops", "bob")).unwrap());
    let record = block_on(store.set_mode_async("bob", DeliveryMode::Manual)).unwrap();
    assert_eq!(record.mode, DeliveryMode::Manual);
    assert_eq!(
        block_on(store.agent_async("bob")).unwrap().map(|r| r.mode),
        Some(DeliveryMode::Manual)
    );
    assert_eq!(
        block_on(store.channels_async()).unwrap(),
        [("ops".to_string(), vec!["alice".to_string()])]
    );
    assert!(block_on(store.remove_agent_async("alice")).unwrap());
    let names_left: Vec<String> = block_on(store.agents_async())
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names_left, ["bob"]);
    let report = block_on(store.prune_async(PrunePolicy {
        older_than: std::time::Duration::ZERO,
        max_rows: 1000,
    }))
    .unwrap();
    assert!(!report.more, "{report:?}");
    let streamed: Vec<&str> = subscription
        .events
        .try_iter()
        .map(|e| e.kind.name())
        .collect();
    assert_eq!(
        streamed,
        [
            "channel_joined",
            "channel_joined",
            "channel_left",
            "agent_mode",
            "channel_left"
        ]
    );
}

/// Each sender reads its own message back through the pool the moment its
/// send is acknowledged: a read asked after an acknowledged commit sees it.
#[test]
fn a_read_after_an_acknowledged_send_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(file_store(&dir));
    with_agents(&store, &["a0", "a1", "a2", "a3"]);
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let to = format!("a{}", (t + 1) % 4);
                    let sent =
                        block_on(store.send_async(msg(&format!("a{t}"), &to, &format!("{i}"))))
                            .unwrap();
                    let id = &sent.message.id;
                    let (message, deliveries) = block_on(store.message_async(id))
                        .unwrap()
                        .expect("acknowledged send is visible");
                    assert_eq!(message.body, format!("{i}"));
                    assert_eq!(deliveries.len(), 1);
                    let newest = sent.events.last().unwrap().seq;
                    assert!(block_on(store.last_seq_async()).unwrap() >= newest);
                }
            })
        })
        .collect();
    senders.into_iter().for_each(|s| s.join().unwrap());
    assert_eq!(store.pending_count().unwrap(), 200);
}

/// Readers and senders run together; every read is answered, and each
/// reader sees the log only grow, gap-free, on every snapshot it takes.
#[test]
fn the_pool_answers_reads_while_the_writer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        readers: 3,
        ..StoreOptions::default()
    };
    let store = Arc::new(Store::open(dir.path().join("reads.db"), options).unwrap());
    with_agents(&store, &["alice", "bob"]);
    let sender = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..100 {
                store.send(msg("alice", "bob", &format!("{i}"))).unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut seen = 0u64;
                while seen < 200 {
                    let events = block_on(store.events_after_async(0, usize::MAX)).unwrap();
                    for (n, event) in events.iter().enumerate() {
                        assert_eq!(event.seq, n as u64 + 1, "a snapshot has no gap");
                    }
                    let last = events.last().map_or(0, |e| e.seq);
                    assert!(last >= seen, "the log never shrinks");
                    seen = last;
                }
            })
        })
        .collect();
    sender.join().unwrap();
    readers.into_iter().for_each(|r| r.join().unwrap());
    assert_eq!(store.last_seq().unwrap(), 200);
}

#[test]
fn a_reader_error_names_the_operation_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reads.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    with_agents(&store, &["bob"]);
    // A row the store cannot read back (another program wrote it).
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE agents SET spec = 'not json' WHERE name = 'bob'", [])
        .unwrap();
    let err = block_on(store.agents_async()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Sqlite { path: p, during: "reading agents", .. } if *p == path),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("reading agents") && text.contains(&path.display().to_string()),
        "{text}"
    );
    assert_eq!(
        block_on(store.agent_async("bob")).unwrap_err(),
        store.agent("bob").unwrap_err()
    );
}
