//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use courier_core::time::ManualClock;
use courier_core::{Event, NewMessage, Recipient, Timestamp};
use courier_store::{AgentRecord, Store, StoreOptions};

pub const T0: Timestamp = Timestamp(1_764_000_000_000);

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(T0))
}

pub fn options(clock: &Arc<ManualClock>) -> StoreOptions {
    StoreOptions {
        clock: clock.clone(),
        ..StoreOptions::default()
    }
}

pub fn with_agents(store: &Store, names: &[&str]) {
    for name in names {
        store
            .upsert_agent(AgentRecord::new(*name, serde_json::json!({"cmd": "sh"})))
            .unwrap();
    }
}

pub fn msg(from: &str, to: &str, body: &str) -> NewMessage {
    NewMessage::new(from, to.parse::<Recipient>().unwrap(), body)
}

pub fn keyed(from: &str, to: &str, key: &str) -> NewMessage {
    let mut m = msg(from, to, &format!("body of {key}"));
    m.idempotency_key = Some(key.to_string());
    m
}

/// Every event, checked to be gap-free and increasing.
pub fn all_events(store: &Store) -> Vec<Event> {
    let events = store.events_after(0, usize::MAX).unwrap();
    for pair in events.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1, "gap in the event log");
    }
    if let Some(last) = events.last() {
        assert_eq!(store.last_seq().unwrap(), last.seq);
    }
    events
}

pub fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

/// Runs a future to completion on this thread (no runtime needed).
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// The whole file's consistency: integrity, a gap-free event log that
/// agrees with the rows it describes, queue counters that match their rows,
/// and no idempotency key stored twice. Reads every row.
pub fn check_file(conn: &rusqlite::Connection) {
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let scalar = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let (count, min, max) = conn
        .query_row(
            "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM events",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(count, max - min + 1, "event seqs have a gap");
    assert_eq!(
        max,
        scalar("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'events'")
    );
    assert_eq!(
        scalar("SELECT count(*) FROM events WHERE kind = 'message_accepted'"),
        scalar("SELECT count(*) FROM messages")
    );
    assert_eq!(
        scalar("SELECT count(*) FROM events WHERE kind = 'delivery_queued'"),
        scalar("SELECT count(*) FROM deliveries")
    );
    assert_eq!(
        scalar(
            "SELECT coalesce(sum(json_extract(data, '$.count')), 0) FROM events WHERE kind = 'delivery_dropped'"
        ),
        scalar("SELECT count(*) FROM deliveries WHERE state = 'dropped'")
    );
    let drift = scalar(
        "SELECT count(*) FROM queue_counts q WHERE q.queued <> \
         (SELECT count(*) FROM deliveries d WHERE d.agent = q.agent AND d.state = 'queued')",
    );
    assert_eq!(drift, 0, "queue counters drifted");
    let duplicated = scalar(
        "SELECT count(*) FROM (SELECT 1 FROM messages WHERE idempotency_key IS NOT NULL \
         GROUP BY sender, idempotency_key HAVING count(*) > 1)",
    );
    assert_eq!(duplicated, 0, "a key was stored twice");
}
