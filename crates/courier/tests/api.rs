//! End-to-end tests of the HTTP API: a real `courier up` process, real HTTP
//! on 127.0.0.1, fake agents in real PTYs whose transcripts say what really
//! arrived.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{Broker, count_in_transcript, environ_var, error_code, transcript, wait_for};
use reqwest::Method;
use serde_json::{Value, json};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn dm_arrives_exactly_once_and_is_verified_by_echo() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    let alice = broker.spawn_fake("alice", &[], &[]);
    let bob = broker.spawn_fake("bob", &[], &[]);

    let sent = broker.send("alice", "bob", "hello bob\nsecond line");
    let id = sent["message_id"].as_str().expect("message id").to_string();
    assert_eq!(sent["duplicate"], json!(false));
    assert_eq!(sent["deliveries"].as_array().map(Vec::len), Some(1));

    let deliveries = broker.wait_verified(&id);
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["agent"], "bob");
    assert_eq!(deliveries[0]["verification"], "echo");

    // Verified means the fake agent already wrote (and fsync'd) it.
    let texts = transcript(&bob.transcript);
    assert_eq!(count_in_transcript(&bob.transcript, &id), 1, "{texts:?}");
    let text = texts
        .iter()
        .find(|t| t.contains(&id))
        .expect("bob's transcript has the message");
    assert!(
        text.starts_with(&format!("[courier] from alice to you (direct) | msg {id}")),
        "{text:?}"
    );
    assert!(text.ends_with("hello bob\nsecond line"), "{text:?}");
    assert!(transcript(&alice.transcript).is_empty());
    // Nothing is re-injected later either.
    broker.wait_nothing_pending();
    assert_eq!(count_in_transcript(&bob.transcript, &id), 1);
    broker.stop_and_check();
}

#[test]
fn channel_fans_out_to_every_member_but_the_sender() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    let agents: Vec<_> = ["ann", "ben", "cat"]
        .iter()
        .map(|n| broker.spawn_fake(n, &[], &["team"]))
        .collect();
    let outsider = broker.spawn_fake("dan", &[], &[]);
    let channels = broker.get_ok("/v1/channels");
    let team = channels["channels"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "#team"))
        .cloned()
        .expect("#team is listed");
    assert_eq!(team["members"], json!(["ann", "ben", "cat"]));

    let sent = broker.send("ann", "#team", "standup in five");
    let id = sent["message_id"].as_str().expect("id").to_string();
    let deliveries = broker.wait_verified(&id);
    let to: BTreeSet<_> = deliveries
        .iter()
        .map(|d| d["agent"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(to, BTreeSet::from(["ben".to_string(), "cat".to_string()]));
    for agent in &agents[1..] {
        assert_eq!(count_in_transcript(&agent.transcript, &id), 1, "{agent:?}");
        let texts = transcript(&agent.transcript);
        assert!(texts[0].contains("from ann to #team"), "{texts:?}");
    }
    assert!(
        transcript(&agents[0].transcript).is_empty(),
        "sender got it"
    );
    assert!(
        transcript(&outsider.transcript).is_empty(),
        "outsider got it"
    );
    broker.stop_and_check();
}

#[test]
fn broadcast_from_a_person_reaches_every_agent_once() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    let agents: Vec<_> = ["x1", "x2", "x3"]
        .iter()
        .map(|n| broker.spawn_fake(n, &["--mode", "line"], &[]))
        .collect();
    let sent = broker.send("human", "*", "wrap up, please");
    let id = sent["message_id"].as_str().expect("id").to_string();
    let deliveries = broker.wait_verified(&id);
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    for agent in &agents {
        assert_eq!(count_in_transcript(&agent.transcript, &id), 1, "{agent:?}");
        assert!(transcript(&agent.transcript)[0].contains("from human to * (broadcast)"));
    }
    broker.wait_nothing_pending();
    for agent in &agents {
        assert_eq!(count_in_transcript(&agent.transcript, &id), 1, "{agent:?}");
    }
    broker.stop_and_check();
}

#[test]
fn queue_cap_drops_the_oldest_into_the_dlq_and_replay_requeues() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--ephemeral", "--queue-cap", "2"]);
    // The trust dialog keeps the agent not ready: everything stays queued.
    let stuck = broker.spawn_fake("stuck", &["--trust-dialog"], &[]);
    let ids: Vec<String> = (0..5)
        .map(|i| {
            let v = broker.send("human", "stuck", &format!("message {i}"));
            v["message_id"].as_str().expect("id").to_string()
        })
        .collect();

    // Three evictions, each a delivery_dropped event naming the agent.
    let dropped_events: Vec<Value> = wait_for("three delivery_dropped events", || {
        let evs: Vec<Value> = broker
            .events()
            .into_iter()
            .filter(|e| e["type"] == "delivery_dropped")
            .collect();
        let total: u64 = evs.iter().filter_map(|e| e["count"].as_u64()).sum();
        (total >= 3).then_some(evs)
    });
    let mut dropped_messages = Vec::new();
    for e in &dropped_events {
        assert_eq!(e["name"], "stuck", "{e}");
        assert_eq!(e["reason"], "queue_full", "{e}");
        let list = e["dropped"].as_array().expect("dropped ids");
        assert_eq!(e["count"].as_u64(), Some(list.len() as u64), "{e}");
        for d in list {
            assert!(d["delivery_id"].is_string(), "{e}");
            assert_eq!(d["from"], "human", "{e}");
            dropped_messages.push(d["message_id"].as_str().unwrap_or_default().to_string());
        }
    }
    assert_eq!(dropped_messages, ids[..3], "the oldest are evicted first");

    let dlq = broker.get_ok("/v1/dlq");
    let letters = dlq["dead_letters"].as_array().expect("dead letters");
    assert_eq!(letters.len(), 3, "{dlq}");
    for l in letters {
        assert_eq!(l["state"], "dropped", "{l}");
        assert_eq!(l["reason"], "queue_full", "{l}");
        assert_eq!(l["agent"], "stuck", "{l}");
    }
    let agent = broker.get_ok("/v1/agents/stuck");
    assert_eq!(agent["queue_depth"], json!(2), "{agent}");

    // Replay the first dropped one: back to queued (at the back of the queue;
    // the cap evicts the oldest queued one again).
    let first = letters
        .iter()
        .find(|l| l["message_id"] == ids[0].as_str())
        .expect("first message is a dead letter");
    let delivery_id = first["id"].as_str().expect("delivery id");
    let (status, replayed) = broker.post(&format!("/v1/dlq/{delivery_id}/replay"), &json!({}));
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["state"], "queued", "{replayed}");
    let now = broker.deliveries(&ids[0]);
    assert_eq!(now[0]["state"], "queued", "{now:?}");
    // Replaying something that is not a dead letter is a client error.
    let (status, err) = broker.post(&format!("/v1/dlq/{delivery_id}/replay"), &json!({}));
    assert!((400..500).contains(&status), "{status} {err}");
    let (status, err) = broker.post("/v1/dlq/nope/replay", &json!({}));
    assert_eq!(status, 404, "{err}");

    // Let the agent in: exactly the queued deliveries arrive, once each.
    let queued: Vec<String> = ids
        .iter()
        .filter(|id| broker.deliveries(id)[0]["state"] == "queued")
        .cloned()
        .collect();
    assert_eq!(queued.len(), 2, "cap 2 holds after the replay");
    assert!(queued.contains(&ids[0]));
    broker.accept_trust_dialog("stuck");
    broker.wait_nothing_pending();
    for id in &ids {
        let expected = usize::from(queued.contains(id));
        assert_eq!(
            count_in_transcript(&stuck.transcript, id),
            expected,
            "message {id}"
        );
    }
    broker.stop_and_check();
}

/// Reads SSE frames until one with `seq >= until`; returns the seqs (checking
/// that each `id:` matches its data's seq).
fn read_sse(reader: &mut impl BufRead, until: u64) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut id: Option<u64> = None;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read the SSE stream");
        assert!(n > 0, "SSE stream ended early after {seqs:?}");
        let l = line.trim_end_matches(['\r', '\n']);
        if let Some(v) = l.strip_prefix("id:") {
            id = v.trim().parse().ok();
        } else if let Some(data) = l.strip_prefix("data:") {
            let event: Value = serde_json::from_str(data.trim()).expect("event JSON");
            let seq = event["seq"].as_u64().expect("seq");
            assert_eq!(id, Some(seq), "SSE id and data seq agree");
            seqs.push(seq);
            if seq >= until {
                return seqs;
            }
        }
    }
}

fn assert_consecutive(seqs: &[u64], first: u64) {
    let expected: Vec<u64> = (first..first + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "gap-free, no repeat, starting at {first}");
}

fn last_seq(broker: &Broker) -> u64 {
    broker.get_ok("/v1/status")["last_seq"]
        .as_u64()
        .expect("last_seq")
}

fn send_some(broker: &Broker, n: usize) {
    for i in 0..n {
        broker.send("human", "sink", &format!("event maker {i}"));
    }
}

#[test]
fn sse_resumes_after_last_event_id_without_gap_or_repeat() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    broker.spawn_fake("sink", &["--trust-dialog"], &[]);
    send_some(&broker, 4);
    let target = last_seq(&broker);
    assert!(target >= 8, "at least 8 events so far");

    let stream = |last_event_id: Option<u64>| {
        let mut req = broker.req(Method::GET, "/v1/events/stream");
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let response = req.send().expect("open the SSE stream");
        assert_eq!(response.status(), 200);
        BufReader::new(response)
    };

    // Read part of the log, then go away.
    let mut first = stream(None);
    let half = target / 2;
    let seen = read_sse(&mut first, half);
    assert_consecutive(&seen, 1);
    drop(first);
    let last = *seen.last().expect("some events");

    // More happens while nobody listens.
    send_some(&broker, 3);
    let target = last_seq(&broker);

    // Resume: the catch-up from the store, then live events, no gap, no repeat.
    let mut resumed = stream(Some(last));
    let mut seqs = read_sse(&mut resumed, target);
    send_some(&broker, 2);
    let live_target = last_seq(&broker);
    seqs.extend(read_sse(&mut resumed, live_target));
    assert_eq!(seqs[0], last + 1);
    assert_consecutive(&seqs, last + 1);

    // A bad Last-Event-ID is a JSON 400.
    let (status, err) = broker.call(
        broker
            .req(Method::GET, "/v1/events/stream")
            .header("Last-Event-ID", "yesterday"),
    );
    assert_eq!(status, 400, "{err}");
    drop(resumed);
    broker.stop_and_check();
}

#[test]
fn websocket_resumes_after_since_without_gap_or_repeat() {
    use tungstenite::Message;
    use tungstenite::stream::MaybeTlsStream;

    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    broker.spawn_fake("sink", &["--trust-dialog"], &[]);
    send_some(&broker, 4);

    let connect = |since: u64| {
        let url = format!(
            "{}/v1/events/ws?since={since}&token={}",
            broker.url.replacen("http://", "ws://", 1),
            broker.token
        );
        let (mut socket, _) = tungstenite::connect(url).expect("WebSocket handshake");
        if let MaybeTlsStream::Plain(tcp) = socket.get_mut() {
            tcp.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("read timeout");
        }
        socket
    };
    let read_until = |socket: &mut tungstenite::WebSocket<_>, until: u64| {
        let mut seqs = Vec::new();
        loop {
            match socket.read().expect("read a WebSocket message") {
                Message::Text(text) => {
                    let event: Value = serde_json::from_str(&text).expect("event JSON");
                    let seq = event["seq"].as_u64().expect("seq");
                    seqs.push(seq);
                    if seq >= until {
                        return seqs;
                    }
                }
                Message::Close(_) => panic!("socket closed after {seqs:?}"),
                _ => {}
            }
        }
    };

    let target = last_seq(&broker);
    let mut socket = connect(0);
    let seen = read_until(&mut socket, target / 2);
    assert_consecutive(&seen, 1);
    let last = *seen.last().expect("some events");
    let _ = socket.close(None);
    drop(socket);

    send_some(&broker, 3);
    let target = last_seq(&broker);
    let mut socket = connect(last);
    let mut seqs = read_until(&mut socket, target);
    send_some(&broker, 2);
    let live_target = last_seq(&broker);
    seqs.extend(read_until(&mut socket, live_target));
    assert_eq!(seqs[0], last + 1);
    assert_consecutive(&seqs, last + 1);
    let _ = socket.close(None);
    drop(socket);
    broker.stop_and_check();
}

#[test]
fn errors_are_json_4xx_and_agents_may_act_only_as_themselves() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    broker.spawn_fake("alice", &["--trust-dialog"], &[]);
    let shell = broker.spawn_command(
        "shell",
        vec!["bash".into(), "--norc".into(), "--noprofile".into()],
        &[],
        tmp.path().join("unused"),
    );
    let http = broker.http();
    let send_body = json!({"from": "human", "to": "alice", "body": "hi"});

    // Authentication.
    let (status, v) = common::decode(
        http.post(format!("{}/v1/messages", broker.url))
            .bearer_auth("not-the-token")
            .json(&send_body)
            .send()
            .expect("request"),
    );
    assert_eq!((status, error_code(&v)), (401, "unauthorized"), "{v}");
    let (status, v) = common::decode(
        http.get(format!("{}/v1/status", broker.url))
            .send()
            .expect("request"),
    );
    assert_eq!((status, error_code(&v)), (401, "unauthorized"), "{v}");

    // Health needs no token; metrics do.
    let (status, v) = common::decode(
        http.get(format!("{}/healthz", broker.url))
            .send()
            .expect("request"),
    );
    assert_eq!((status, v["status"].as_str()), (200, Some("ok")));
    let (status, _) = common::decode(
        http.get(format!("{}/metrics", broker.url))
            .send()
            .expect("request"),
    );
    assert_eq!(status, 401);

    // Client mistakes.
    let (status, v) = broker.post(
        "/v1/messages",
        &json!({"from": "human", "to": "nobody", "body": "hi"}),
    );
    assert_eq!((status, error_code(&v)), (404, "unknown_agent"), "{v}");
    let big = "x".repeat(64 * 1024 + 1);
    let (status, v) = broker.post(
        "/v1/messages",
        &json!({"from": "human", "to": "alice", "body": big}),
    );
    assert_eq!((status, error_code(&v)), (413, "body_too_large"), "{v}");
    let (status, v) = broker.call(
        broker
            .req(Method::POST, "/v1/messages")
            .header("content-type", "application/json")
            .body("{\"from\": \"human\", \"to\":"),
    );
    assert_eq!((status, error_code(&v)), (400, "malformed_json"), "{v}");
    let (status, v) = broker.post(
        "/v1/messages",
        &json!({"from": "alice", "to": "alice", "body": "note to self"}),
    );
    assert_eq!((status, error_code(&v)), (422, "invalid_message"), "{v}");
    let (status, v) = broker.get("/v1/no/such/route");
    assert_eq!((status, error_code(&v)), (404, "not_found"), "{v}");
    let (status, v) = broker.get("/v1/messages/01NOSUCHMESSAGE");
    assert_eq!((status, error_code(&v)), (404, "unknown_message"), "{v}");
    let (status, v) = broker.post("/v1/agents", &json!({"name": "alice", "command": ["true"]}));
    assert_eq!((status, error_code(&v)), (409, "agent_exists"), "{v}");

    // An agent's own token (only in its environment) acts as that agent.
    let agent_token = wait_for("COURIER_TOKEN in the shell's environment", || {
        environ_var(shell.pid, "COURIER_TOKEN")
    });
    assert_ne!(agent_token, broker.token);
    let as_agent = |method: Method, path: &str| {
        http.request(method, format!("{}{path}", broker.url))
            .bearer_auth(&agent_token)
    };
    let (status, v) = common::decode(as_agent(Method::GET, "/v1/whoami").send().expect("req"));
    assert_eq!(status, 200);
    assert_eq!(v, json!({"kind": "agent", "agent": "shell"}));
    let (status, v) = common::decode(
        as_agent(Method::POST, "/v1/messages")
            .json(&json!({"from": "alice", "to": "alice", "body": "forged"}))
            .send()
            .expect("req"),
    );
    assert_eq!((status, error_code(&v)), (403, "forged_sender"), "{v}");
    let (status, v) = common::decode(
        as_agent(Method::POST, "/v1/messages")
            .json(&json!({"to": "alice", "body": "from the shell"}))
            .send()
            .expect("req"),
    );
    assert_eq!(status, 201, "{v}");
    let id = v["message_id"].as_str().expect("id");
    let message = broker.get_ok(&format!("/v1/messages/{id}"));
    assert_eq!(message["message"]["from"], "shell", "{message}");

    // Metrics count what was accepted.
    let (status, _) = broker.get("/metrics");
    assert_eq!(status, 200);
    let text = broker
        .req(Method::GET, "/metrics")
        .send()
        .expect("metrics")
        .text()
        .expect("metrics text");
    let accepted = text
        .lines()
        .find_map(|l| l.strip_prefix("courier_messages_accepted_total "))
        .unwrap_or_else(|| panic!("no courier_messages_accepted_total in\n{text}"));
    assert_eq!(accepted.trim(), "1", "{text}");

    // The OpenAPI document is JSON.
    let doc = broker.get_ok("/v1/openapi.json");
    assert!(doc["openapi"].is_string(), "{doc}");

    // A released agent's token stops working.
    let (status, _) = broker.delete("/v1/agents/shell");
    assert_eq!(status, 204);
    let (status, _) = common::decode(as_agent(Method::GET, "/v1/whoami").send().expect("req"));
    assert_eq!(status, 401);
    common::wait_pids_gone(&[shell.pid]);
    broker.stop_and_check();
}
