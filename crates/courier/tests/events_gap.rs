//! A client resuming the event stream from a cursor older than the oldest
//! retained event is told it missed events (pruned by retention), on every
//! surface: the page (`gap` field), SSE (an event named `gap`), WebSocket
//! (a `{"type":"gap"}` message first) and the `Courier-Event-Gap` header.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::*;
use courier_store::{PrunePolicy, Store, StoreOptions};
use reqwest::Method;
use serde_json::Value;

/// A broker whose first events were pruned: returns it and the seq of the
/// oldest event left.
fn broker_with_pruned_history(root: &std::path::Path) -> (Broker, u64) {
    let mut broker = Broker::start(root, &[]);
    broker.spawn_fake("a", &[], &[]);
    broker.wait_ready("a");
    let v = broker.send("b", "a", "soon forgotten");
    broker.wait_verified(v["message_id"].as_str().unwrap());
    let status = broker.terminate();
    assert!(status.success(), "{}", broker.stderr());
    // What the hourly pruner does once the retention has passed.
    let store = Store::open(broker.state_dir.join("courier.db"), StoreOptions::default())
        .expect("open the store");
    let report = store
        .prune(PrunePolicy {
            older_than: Duration::ZERO,
            max_rows: 1_000_000,
        })
        .expect("prune");
    assert!(report.events > 0, "{report:?}");
    drop(store);
    let broker = Broker::start(root, &[]);
    let oldest = broker.get_ok("/v1/events?since=0&limit=1")["events"][0]["seq"]
        .as_u64()
        .expect("the restart wrote events");
    assert!(oldest > 2, "events 1..{oldest} are gone");
    (broker, oldest)
}

#[test]
fn a_cursor_older_than_the_retained_log_gets_a_gap_on_every_surface() {
    let root = tempfile::tempdir().unwrap();
    let (broker, oldest) = broker_with_pruned_history(root.path());
    let expected = format!("1-{oldest}");

    // A page.
    let response = broker
        .req(Method::GET, "/v1/events?since=1")
        .send()
        .expect("GET /v1/events");
    let header = response.headers().get("courier-event-gap").cloned();
    let page: Value = response.json().expect("page JSON");
    assert_eq!(header.unwrap().to_str().unwrap(), expected);
    assert_eq!(page["gap"]["after"], 1);
    assert_eq!(page["gap"]["next_seq"], oldest);
    assert_eq!(page["gap"]["missed"], oldest - 2);
    // A cursor inside the retained log: no gap.
    let fine = broker.get_ok(&format!("/v1/events?since={oldest}"));
    assert!(fine.get("gap").is_none(), "{fine}");

    // SSE: the gap comes first, then the replay.
    let response = broker
        .req(Method::GET, "/v1/events/stream")
        .header("Last-Event-ID", "1")
        .send()
        .expect("GET /v1/events/stream");
    assert_eq!(
        response.headers().get("courier-event-gap").unwrap(),
        expected.as_str()
    );
    let mut lines = BufReader::new(response).lines();
    let first: Vec<String> = lines
        .by_ref()
        .map_while(Result::ok)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(first[0], "event: gap", "{first:?}");
    let data: Value = serde_json::from_str(first[1].trim_start_matches("data: ")).unwrap();
    assert_eq!(data["next_seq"], oldest);
    let second: Vec<String> = lines
        .map_while(Result::ok)
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(
        second.contains(&format!("id: {oldest}")),
        "then the replay: {second:?}"
    );

    // WebSocket.
    let url = format!(
        "{}/v1/events/ws?since=1&token={}",
        broker.url.replace("http://", "ws://"),
        broker.token
    );
    let (mut socket, response) = tungstenite::connect(url).expect("connect");
    assert_eq!(
        response.headers().get("courier-event-gap").unwrap(),
        expected.as_str()
    );
    let first: Value = serde_json::from_str(socket.read().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(first["type"], "gap", "{first}");
    assert_eq!(first["after"], 1);
    let next: Value = serde_json::from_str(socket.read().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(next["seq"], oldest, "{next}");
}
