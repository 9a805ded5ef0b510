//! The agent listing and the stop against a real store file: every queue
//! depth comes from one read of the store, and a store that cannot answer
//! gives an unknown depth and no pending count, never a 0.

use courier_broker::{AgentSpec, Broker, BrokerConfig, Durability};
use courier_core::{DeliveryMode, EventKind, NewMessage, Recipient};
use serde_json::json;

async fn durable_broker(dir: &tempfile::TempDir) -> Broker {
    let config = BrokerConfig::new(Durability::Durable {
        state_dir: dir.path().to_path_buf(),
    });
    Broker::start(config).await.expect("broker")
}

/// A shell held in manual mode: whatever is sent to it stays queued.
async fn spawn_held(broker: &Broker, name: &str) {
    let spec: AgentSpec =
        serde_json::from_value(json!({"name": name, "command": ["sh"]})).expect("spec");
    broker.spawn(spec).await.expect("spawn");
    broker
        .set_mode(name, DeliveryMode::Manual)
        .await
        .expect("manual mode");
}

async fn send(broker: &Broker, from: &str, to: &str, body: &str) {
    broker
        .send(NewMessage::new(from, Recipient::Agent(to.into()), body))
        .await
        .expect("send");
}

/// Takes the store's per-agent counters away from the broker (or gives
/// them back) through a connection of its own, as a damaged file would.
fn rename_queue_counts(broker: &Broker, from: &str, to: &str) {
    let conn = rusqlite::Connection::open(broker.store().path()).expect("open the store file");
    conn.execute_batch(&format!("ALTER TABLE {from} RENAME TO {to}"))
        .expect("rename the queue counters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_agent_is_listed_with_its_own_queue_depth() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = durable_broker(&dir).await;
    spawn_held(&broker, "busy-one").await;
    spawn_held(&broker, "quiet-one").await;
    send(&broker, "quiet-one", "busy-one", "first").await;
    send(&broker, "quiet-one", "busy-one", "second").await;

    let listed = broker.agents().await;
    let depth_of = |name: &str| {
        listed
            .iter()
            .find(|(spec, ..)| spec.name == name)
            .map(|(.., depth)| *depth)
    };
    assert_eq!(depth_of("busy-one"), Some(Some(2)), "both sends wait, held");
    // Nothing ever queued: absent from the store's counters, listed as 0.
    assert_eq!(depth_of("quiet-one"), Some(Some(0)));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_count_lists_depths_as_unknown_and_the_stop_claims_no_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = durable_broker(&dir).await;
    spawn_held(&broker, "held").await;
    let depths = |listed: Vec<(_, _, _, Option<usize>)>| -> Vec<Option<usize>> {
        listed.into_iter().map(|(.., depth)| depth).collect()
    };
    assert_eq!(
        depths(broker.agents().await),
        vec![Some(0)],
        "a healthy store counts"
    );

    rename_queue_counts(&broker, "queue_counts", "queue_counts_away");
    // The listing still answers, and says it does not know.
    assert_eq!(depths(broker.agents().await), vec![None]);
    // The stop cannot count what it leaves pending: it says so in its log
    // and records no `broker_stopping` with a count it does not know.
    broker.stop().await;
    rename_queue_counts(&broker, "queue_counts_away", "queue_counts");

    let events = broker
        .store()
        .events_after_async(0, usize::MAX)
        .await
        .expect("events");
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::BrokerStarted { .. })),
        "the log is read: {events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, EventKind::BrokerStopping { .. })),
        "no made-up pending count: {events:?}"
    );
}
