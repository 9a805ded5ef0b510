//! A person typing holds deliveries: keystrokes through the terminal
//! stream or `POST /input` keep a queued message waiting (held `typing:`,
//! `agent_held`), and it goes in once the typing window passes without a
//! keystroke (`agent_unheld`), never into what the person was writing.

mod common;

use std::time::Duration;

use common::viewer::Viewer;
use common::*;
use serde_json::{Value, json};

fn held(broker: &Broker, name: &str) -> Option<String> {
    broker.get_ok(&format!("/v1/agents/{name}"))["status"]["held"]
        .as_str()
        .map(str::to_string)
}

fn state_of(broker: &Broker, message_id: &str) -> String {
    broker.deliveries(message_id)[0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Types (a key, then Backspace: the input stays empty) with `type_once`
/// until bob shows held `typing:`, then sends a message and keeps typing a
/// while: the message stays queued all along. Returns its id and the
/// held reason.
fn send_while_typing(broker: &Broker, mut type_once: impl FnMut()) -> (String, String) {
    let reason = wait_for("bob held by typing", || {
        type_once();
        std::thread::sleep(Duration::from_millis(20));
        held(broker, "bob").filter(|h| h.starts_with("typing:"))
    });
    let id = broker.send("alice", "bob", "sent while a person types")["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..5 {
        assert_eq!(
            state_of(broker, &id),
            "queued",
            "nothing typed while a person types"
        );
        assert!(held(broker, "bob").is_some_and(|h| h.starts_with("typing:")));
        type_once();
        std::thread::sleep(Duration::from_millis(50));
    }
    (id, reason)
}

fn seq_of(events: &[Value], pred: impl Fn(&Value) -> bool) -> Vec<u64> {
    events
        .iter()
        .filter(|e| pred(e))
        .filter_map(|e| e["seq"].as_u64())
        .collect()
}

/// The delivery of `id` went in after bob was held for typing and then
/// released, and went in once, alone.
fn delivered_after_release(broker: &Broker, bob: &Agent, id: &str, since: u64) {
    broker.wait_verified(id);
    assert_eq!(count_in_transcript(&bob.transcript, id), 1);
    let events = broker.events_after(since);
    let held_at = seq_of(&events, |e| {
        e["type"] == "agent_held"
            && e["name"] == "bob"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("typing:"))
    });
    let unheld_at = seq_of(&events, |e| {
        e["type"] == "agent_unheld" && e["name"] == "bob"
    });
    let injecting_at = seq_of(&events, |e| {
        e["type"] == "delivery_injecting" && e["message_id"] == json!(id)
    });
    assert_eq!(injecting_at.len(), 1, "{events:#?}");
    assert!(
        !held_at.is_empty() && held_at[0] < injecting_at[0],
        "held first: {events:#?}"
    );
    assert!(
        unheld_at
            .iter()
            .any(|u| *u > held_at[0] && *u < injecting_at[0]),
        "released before it went in: {events:#?}"
    );
}

#[test]
fn typing_holds_a_queued_delivery_until_the_window_passes() {
    let root = tempfile::tempdir().unwrap();
    // The window must outlast this test's pause between two keystrokes.
    let broker = Broker::start(root.path(), &["--typing-hold-ms", "2000"]);
    let bob = broker.spawn_fake("bob", &["--mode", "line"], &[]);
    broker.wait_ready("bob");

    // Keystrokes through the terminal stream.
    let mut viewer = Viewer::owner(&broker, "bob", "");
    let start = broker.get_ok("/v1/events?limit=1&since=0")["last_seq"]
        .as_u64()
        .unwrap_or(0);
    let (id, reason) = send_while_typing(&broker, || viewer.send_binary(b"a\x7f"));
    assert!(reason.contains("2000 ms"), "{reason}");
    delivered_after_release(&broker, &bob, &id, start);
    assert_eq!(transcript(&bob.transcript).len(), 1, "only the message");
    wait_for("bob not held", || {
        held(&broker, "bob").is_none().then_some(())
    });

    // Keystrokes through POST /input: the same.
    let start = broker.get_ok("/v1/events?limit=1&since=0")["last_seq"]
        .as_u64()
        .unwrap_or(0);
    let (id, _) = send_while_typing(&broker, || {
        let (status, v) = broker.post("/v1/agents/bob/input", &json!({"text": "b\u{7f}"}));
        assert_eq!(status, 204, "{v}");
    });
    delivered_after_release(&broker, &bob, &id, start);
    assert_eq!(transcript(&bob.transcript).len(), 2);
    broker.stop_and_check();
}
