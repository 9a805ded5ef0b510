//! Replies across hosts (issue 21, "replies are first-class", with
//! federation): a message sent on one host to a headless agent of another
//! gets its reply recorded where it was sent, so `GET /v1/messages/{id}`
//! and `courier ask` on the sender's host see it. Real `courier up`
//! brokers joined through a real nats-server, the fake agent as a
//! headless ACP server on the receiving host.
//!
//! Needs a nats-server: scripts/test.sh provides it (COURIER_NATS_SERVER).

mod common;

use std::process::Stdio;

use common::federation::Federation;
use common::{headless, wait_for};
use serde_json::{Value, json};

/// The replies `host` lists for message `id`, once there are `n`.
fn wait_replies(host: &common::Broker, id: &str, n: usize) -> Vec<Value> {
    wait_for(&format!("{n} replies to {id}"), || {
        let v = host.get_ok(&format!("/v1/messages/{id}"));
        let replies = v["replies"].as_array()?.clone();
        (replies.len() >= n).then_some(replies)
    })
}

fn replied_events(host: &common::Broker, id: &str) -> Vec<Value> {
    host.events()
        .into_iter()
        .filter(|e| e["type"] == "message_replied" && e["message_id"] == json!(id))
        .collect()
}

#[test]
fn a_headless_agents_reply_on_another_host_comes_back_to_the_senders_host() {
    let fed = Federation::start(&["h1", "h2"]);
    let (h1, h2) = (fed.host("h1"), fed.host("h2"));
    let transcript = h2.transcript_path("gem");
    let command = headless::fake("acp", &transcript, &["--reply", "done: {input}"]);
    headless::spawn(h2, "gem", "acp", command, json!({}));
    h1.wait_remote_agent("gem", "h2", "active");

    let id = headless::message_id(&h1.send("alice", "gem", "two and two"));
    let replies = wait_replies(h1, &id, 1);
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = &replies[0];
    assert_eq!(reply["reply_to"], json!(id), "{reply}");
    assert_eq!(reply["from"], json!("gem"), "{reply}");
    assert_eq!(reply["via"], json!("protocol"), "{reply}");
    let text = reply["text"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("done:") && text.contains("two and two"),
        "{reply}"
    );
    // As recorded on the agent's host, time included.
    let theirs = h2.get_ok(&format!("/v1/messages/{id}"))["replies"].clone();
    assert_eq!(theirs, json!(replies), "h2 and h1 differ");
    h1.wait_verified(&id);
    let events = replied_events(h1, &id);
    assert_eq!(
        events.len(),
        1,
        "one message_replied at the sender: {events:?}"
    );
    assert_eq!(
        (&events[0]["from"], &events[0]["via"]),
        (&json!("gem"), &json!("protocol")),
        "{}",
        events[0]
    );

    // A reply by message on that host (`thread` set) comes back too, with
    // the reply message's id.
    let (status, answer) = h2.post(
        "/v1/messages",
        &json!({"from": "carol", "to": "gem", "body": "it is four", "thread": id}),
    );
    assert_eq!(status, 201, "{answer}");
    let replies = wait_replies(h1, &id, 2);
    assert_eq!(replies[1]["via"], json!("message"), "{replies:?}");
    assert_eq!(replies[1]["from"], json!("carol"), "{replies:?}");
    assert_eq!(replies[1]["text"], json!("it is four"), "{replies:?}");
    assert_eq!(
        replies[1]["message_id"], answer["message_id"],
        "{replies:?}"
    );

    // `courier ask` on the sender's host waits for the reply from h2.
    let out = common::courier_command()
        .arg("--state-dir")
        .arg(&h1.state_dir)
        .args(["ask", "gem", "and three"])
        .stdin(Stdio::null())
        .output()
        .expect("run courier ask");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("done:") && stdout.contains("and three"),
        "{stdout}"
    );
}
