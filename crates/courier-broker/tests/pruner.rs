//! The broker prunes its store by itself, by the retention setting.

use std::time::{Duration, Instant};

use courier_broker::{Broker, BrokerConfig, Durability};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_are_pruned_by_the_retention_setting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = BrokerConfig::new(Durability::Durable {
        state_dir: dir.path().to_path_buf(),
    });
    config.retention = Duration::from_millis(1);
    config.prune_every = Duration::from_millis(20);
    let broker = Broker::start(config).await.expect("broker");
    let store = broker.store_handle();
    let first = store.last_seq_async().await.expect("last seq");
    assert!(first >= 1, "broker_started was logged");
    // Bounded wait (not a speed claim): the first rounds delete every event
    // older than 1 ms, and the log keeps its last seq.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = store
            .events_after_async(0, usize::MAX)
            .await
            .expect("events");
        let last = store.last_seq_async().await.expect("last seq");
        if events.is_empty() {
            assert!(last >= first, "a pruned seq is never reused");
            break;
        }
        assert!(Instant::now() < deadline, "events never pruned: {events:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    broker.stop().await;
}
