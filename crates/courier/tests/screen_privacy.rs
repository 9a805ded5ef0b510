//! The screen of agent X is for the owner, observers and X itself: events
//! that carry screen rows (`agent_crashed`, `delivery_stuck`, an unverified
//! `delivery_verified`) reach another agent's token without them, in a page
//! of the log and on the live stream alike, as `GET …/screen` refuses it.

mod common;

use common::{Broker, DEADLINE, environ_var, wait_for};
use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;

fn crash_of(events: &[Value], name: &str) -> Option<Value> {
    events
        .iter()
        .find(|e| e["type"] == "agent_crashed" && e["name"] == name)
        .cloned()
}

fn events_with(broker: &Broker, token: &str) -> Vec<Value> {
    let (status, v) = broker.call(
        broker
            .http()
            .get(format!("{}/v1/events?since=0", broker.url))
            .bearer_auth(token),
    );
    assert_eq!(status, 200, "{v}");
    v["events"].as_array().cloned().unwrap_or_default()
}

#[test]
fn another_agents_screen_rows_are_left_out_of_its_events() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    let alice = broker.spawn_fake("alice", &[], &[]);
    broker.spawn_fake("crasher", &["--mode", "line", "--crash-after", "1"], &[]);
    broker.wait_ready("crasher");
    broker.send("human", "crasher", "the secret plan");
    let seen_by_owner = broker.wait_event("crasher's crash", |e| {
        e["type"] == "agent_crashed" && e["name"] == "crasher"
    });
    let rows = seen_by_owner["screen"].as_array().expect("screen rows");
    assert!(!rows.is_empty(), "the owner sees the rows: {seen_by_owner}");

    let alices = wait_for("alice's COURIER_TOKEN", || {
        environ_var(alice.pid, "COURIER_TOKEN")
    });
    let (status, _) = broker.call(
        broker
            .http()
            .get(format!("{}/v1/agents/crasher/screen", broker.url))
            .bearer_auth(&alices),
    );
    assert_eq!(status, 403, "alice may not read crasher's screen");
    let page = crash_of(&events_with(&broker, &alices), "crasher").expect("the crash");
    assert_eq!(page["screen"], json!([]), "{page}");

    // The live stream replays the same event the same way.
    let url = format!(
        "{}/v1/events/ws?since=0",
        broker.url.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().expect("ws request");
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {alices}")).expect("header"),
    );
    let (mut socket, _) = tungstenite::connect(request).expect("events WebSocket");
    if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = socket.get_ref() {
        tcp.set_read_timeout(Some(DEADLINE)).expect("timeout");
    }
    let streamed = loop {
        let message = socket.read().expect("an event");
        let Ok(text) = message.to_text() else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        if let Some(crash) = crash_of(std::slice::from_ref(&event), "crasher") {
            break crash;
        }
    };
    assert_eq!(streamed["screen"], json!([]), "{streamed}");

    // An observer reads what the owner reads.
    let (status, token) = broker.post("/v1/tokens", &json!({"kind": "observer"}));
    assert_eq!(status, 201, "{token}");
    let observed = crash_of(
        &events_with(&broker, token["token"].as_str().expect("token")),
        "crasher",
    )
    .expect("the crash");
    assert_eq!(observed["screen"], seen_by_owner["screen"]);
}
