//! `--protocol codex-app-server` as a real child process on pipes: the handshake, a turn that
//! echoes its input, steer vs queue, interrupt and the paused queue, refusals, a crash mid-turn,
//! stdout closed after a turn. Every message is checked against
//! `protocols/codex-app-server/schema.json` (and against the generated schema of a real Codex when
//! `COURIER_UPSTREAM_CODEX_SCHEMA_DIR` names it).

mod proto;

use proto::*;
use serde_json::{Value, json};

const UPSTREAM: &str = "COURIER_UPSTREAM_CODEX_SCHEMA_DIR";

fn start(args: &[&str]) -> Server {
    Server::start("codex-app-server", "codex-app-server", UPSTREAM, args)
}

fn request(s: &mut Server, id: i64, method: &str, params: Value) {
    s.send(json!({ "id": id, "method": method, "params": params }));
}

/// initialize (with the experimental API or not), initialized, thread/start; the thread id.
fn handshake(s: &mut Server, experimental: bool) -> String {
    let caps = json!({ "experimentalApi": experimental });
    let client = json!({ "name": "courier-test", "version": "0" });
    request(
        s,
        0,
        "initialize",
        json!({ "clientInfo": client, "capabilities": caps }),
    );
    assert!(s.response(0)["result"]["userAgent"].is_string());
    s.send(json!({ "method": "initialized" }));
    request(s, 1, "thread/start", json!({}));
    let thread = s.response(1)["result"]["thread"]["id"]
        .as_str()
        .expect("thread id")
        .to_string();
    let started = s.notification("thread/started");
    assert_eq!(started["params"]["thread"]["id"], thread.as_str());
    thread
}

fn text(t: &str) -> Value {
    json!([{ "type": "text", "text": t }])
}

fn turn_start(s: &mut Server, id: i64, thread: &str, t: &str) {
    request(
        s,
        id,
        "turn/start",
        json!({ "threadId": thread, "input": text(t) }),
    );
}

/// Reads until `turn/completed`; returns its turn and the agent message's text in it.
fn completed(s: &mut Server) -> (Value, String) {
    let mut reply = String::new();
    loop {
        let m = s.until("turn/completed", |m| {
            m["method"] == "turn/completed" || m["params"]["item"]["type"] == "agentMessage"
        });
        if m["method"] == "turn/completed" {
            return (m["params"]["turn"].clone(), reply);
        }
        if m["method"] == "item/completed" {
            reply = m["params"]["item"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
    }
}

#[test]
fn handshake_then_a_turn_echoes_its_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut s = start(&[
        "--think-ms",
        "20",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    request(&mut s, 9, "thread/start", json!({}));
    assert_eq!(s.response(9)["error"]["message"], "Not initialized");
    let thread = handshake(&mut s, false);
    request(
        &mut s,
        2,
        "initialize",
        json!({ "clientInfo": { "name": "again", "version": "0" } }),
    );
    assert_eq!(s.response(2)["error"]["message"], "Already initialized");
    turn_start(&mut s, 3, &thread, "hello");
    let turn = s.response(3)["result"]["turn"].clone();
    assert_eq!(turn["status"], "inProgress");
    let started = s.notification("turn/started");
    assert_eq!(started["params"]["turn"]["id"], turn["id"]);
    let user = s.until("the user item", |m| {
        m["params"]["item"]["type"] == "userMessage"
    });
    assert_eq!(user["params"]["item"]["content"][0]["text"], "hello");
    let (done, reply) = completed(&mut s);
    assert_eq!(
        (done["id"].clone(), done["status"].clone()),
        (turn["id"].clone(), json!("completed"))
    );
    assert_eq!(reply, "echo: hello");
    let lines = transcript(&t);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0]["via"].clone(), lines[0]["turn"].clone()),
        (json!("turn/start"), turn["id"].clone())
    );
    request(
        &mut s,
        4,
        "thread/queue/add",
        json!({ "threadId": thread, "input": text("x") }),
    );
    let err = s.response(4)["error"]["message"].clone();
    assert_eq!(err, "thread/queue/add requires experimentalApi capability");
    s.close_stdin();
    s.expect_eof();
    assert_eq!(s.wait().code(), Some(0));
}

#[test]
fn steer_joins_the_running_turn_and_queue_waits_for_a_turn_of_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut s = start(&[
        "--think-ms",
        FOREVER_MS,
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    let thread = handshake(&mut s, true);
    turn_start(&mut s, 2, &thread, "A");
    let first = s.response(2)["result"]["turn"]["id"]
        .as_str()
        .expect("turn id")
        .to_string();
    s.notification("turn/started");
    let steer = json!({ "threadId": thread, "input": text("B"), "expectedTurnId": "turn_nope" });
    request(&mut s, 3, "turn/steer", steer);
    assert_eq!(
        s.response(3)["error"]["code"],
        -32600,
        "another expected turn is refused"
    );
    let steer = json!({ "threadId": thread, "input": text("B"), "expectedTurnId": first });
    request(&mut s, 4, "turn/steer", steer);
    assert_eq!(s.response(4)["result"]["turnId"], first.as_str());
    let add = json!({ "threadId": thread, "input": text("C"), "clientUserMessageId": "c-1" });
    request(&mut s, 5, "thread/queue/add", add);
    let queued = s.response(5)["result"]["queuedSubmission"].clone();
    assert_eq!(queued["clientUserMessageId"], "c-1");
    s.notification("thread/queue/changed");
    // A turn/start while a turn runs is steered into it, as Codex's core does.
    turn_start(&mut s, 6, &thread, "D");
    assert_eq!(s.response(6)["result"]["turn"]["id"], first.as_str());
    s.hurry();
    let (done, reply) = completed(&mut s);
    assert_eq!(done["id"], first.as_str());
    assert_eq!(
        reply, "echo: A\nB\nD",
        "one turn answered every input steered into it"
    );
    // The queued input gets a turn of its own once the thread is idle.
    let next = s.notification("turn/started")["params"]["turn"]["id"].clone();
    assert_ne!(next, json!(first));
    let user = s.until("C's user item", |m| {
        m["params"]["item"]["type"] == "userMessage"
    });
    assert_eq!(user["params"]["item"]["content"][0]["text"], "C");
    s.hurry();
    let (done, reply) = completed(&mut s);
    assert_eq!((done["id"].clone(), reply.as_str()), (next, "echo: C"));
    let via: Vec<Value> = transcript(&t)
        .iter()
        .map(|l| json!([l["text"], l["via"], l["turn"]]))
        .collect();
    assert_eq!(
        via,
        [
            json!(["A", "turn/start", first]),
            json!(["B", "turn/steer", first]),
            json!(["C", "thread/queue/add", null]),
            json!(["D", "turn/start", first]),
        ]
    );
}

#[test]
fn interrupt_ends_the_turn_and_leaves_the_queue_paused_until_queue_start() {
    let mut s = start(&["--think-ms", FOREVER_MS]);
    let thread = handshake(&mut s, true);
    turn_start(&mut s, 2, &thread, "A");
    let first = s.response(2)["result"]["turn"]["id"].clone();
    let add = json!({ "threadId": thread, "input": text("B"), "clientUserMessageId": "b" });
    request(&mut s, 3, "thread/queue/add", add);
    s.response(3);
    request(
        &mut s,
        4,
        "turn/interrupt",
        json!({ "threadId": thread, "turnId": first }),
    );
    assert_eq!(s.response(4)["result"], json!({}));
    let (done, reply) = completed(&mut s);
    assert_eq!(
        (done["status"].clone(), reply.as_str()),
        (json!("interrupted"), "")
    );
    // Requests are handled in order: had the queue started, its turn would come before this.
    request(
        &mut s,
        5,
        "thread/queue/list",
        json!({ "threadId": thread }),
    );
    let list = s.response(5);
    assert!(
        !s.seen
            .iter()
            .any(|m| m["method"] == "turn/started" && m["params"]["turn"]["id"] != first)
    );
    assert_eq!(list["result"]["data"][0]["clientUserMessageId"], "b");
    request(
        &mut s,
        6,
        "thread/queue/start",
        json!({ "threadId": thread }),
    );
    let turn = s.response(6)["result"]["turn"]["id"].clone();
    assert_eq!(s.notification("turn/started")["params"]["turn"]["id"], turn);
    request(
        &mut s,
        7,
        "turn/interrupt",
        json!({ "threadId": thread, "turnId": "turn_nope" }),
    );
    assert_eq!(s.response(7)["error"]["code"], -32600);
}

#[test]
fn a_refused_input_fails_its_turn_or_its_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let path = t.to_str().expect("utf-8");
    let mut s = start(&[
        "--refuse",
        "secret",
        "--refuse-reason",
        "policy says no",
        "--transcript",
        path,
    ]);
    let thread = handshake(&mut s, false);
    turn_start(&mut s, 2, &thread, "tell the secret");
    s.response(2);
    let err = s.notification("error");
    assert_eq!(err["params"]["error"]["message"], "policy says no");
    let (done, reply) = completed(&mut s);
    assert_eq!(
        (done["status"].clone(), reply.as_str()),
        (json!("failed"), "")
    );
    assert_eq!(done["error"]["message"], "policy says no");
    assert_eq!(transcript(&t)[0]["refused"], true);
    drop(s);

    let t2 = dir.path().join("t2.jsonl");
    let path2 = t2.to_str().expect("utf-8");
    let mut s = start(&[
        "--refuse",
        "secret",
        "--refuse-as",
        "error",
        "--transcript",
        path2,
    ]);
    let thread = handshake(&mut s, false);
    turn_start(&mut s, 2, &thread, "secret");
    let err = s.response(2);
    assert_eq!(err["error"]["message"], "refused by courier-fake-agent");
    turn_start(&mut s, 3, &thread, "fine");
    s.response(3);
    assert_eq!(completed(&mut s).1, "echo: fine");
    assert_eq!(texts(&t2), ["fine"]);
}

#[test]
fn crash_after_exits_mid_turn_and_stdout_can_close_after_a_turn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut s = start(&[
        "--crash-after",
        "1",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    let thread = handshake(&mut s, false);
    turn_start(&mut s, 2, &thread, "doomed");
    assert_eq!(
        s.response(2)["result"]["turn"]["status"],
        "inProgress",
        "acknowledged"
    );
    s.notification("turn/started");
    s.notification("item/completed"); // the user message: the turn has begun
    s.expect_eof();
    assert_eq!(s.wait().code(), Some(101));
    assert_eq!(texts(&t), ["doomed"]);
    assert!(!s.seen.iter().any(|m| m["method"] == "turn/completed"));
    drop(s);

    let mut s = start(&["--close-stdout-after", "1"]);
    let thread = handshake(&mut s, false);
    turn_start(&mut s, 2, &thread, "one");
    s.response(2);
    completed(&mut s);
    s.notification("thread/status/changed");
    s.expect_eof();
    assert!(s.is_running(), "alive with stdout closed");
    s.close_stdin();
    assert_eq!(s.wait().code(), Some(0));
}

#[test]
fn every_kind_of_message_the_fake_sends_is_checked_against_the_kept_schema() {
    let mut s = start(&["--refuse", "no", "--think-ms", FOREVER_MS]);
    let thread = handshake(&mut s, true);
    turn_start(&mut s, 2, &thread, "yes");
    let turn = s.response(2)["result"]["turn"]["id"].clone();
    let steer = json!({ "threadId": thread, "input": text("and"), "expectedTurnId": turn });
    request(&mut s, 3, "turn/steer", steer);
    s.response(3);
    let add = json!({ "threadId": thread, "input": text("no"), "clientUserMessageId": "n" });
    request(&mut s, 4, "thread/queue/add", add);
    s.response(4);
    request(
        &mut s,
        5,
        "thread/queue/list",
        json!({ "threadId": thread }),
    );
    s.response(5);
    request(&mut s, 10, "thread/loaded/list", json!({}));
    assert_eq!(s.response(10)["result"]["data"], json!([thread]));
    s.hurry();
    completed(&mut s);
    s.notification("turn/started");
    s.hurry();
    s.notification("error");
    completed(&mut s);
    turn_start(&mut s, 6, &thread, "stop");
    let turn = s.response(6)["result"]["turn"]["id"].clone();
    request(
        &mut s,
        7,
        "turn/interrupt",
        json!({ "threadId": thread, "turnId": turn }),
    );
    s.response(7);
    let add = json!({ "threadId": thread, "input": text("later"), "clientUserMessageId": null });
    request(&mut s, 8, "thread/queue/add", add);
    s.response(8);
    request(
        &mut s,
        9,
        "thread/queue/start",
        json!({ "threadId": thread }),
    );
    s.response(9);
    s.close_stdin();
    s.hurry();
    s.until("the end", |m| {
        m["method"] == "thread/status/changed" && m["params"]["status"]["type"] == "idle"
    });
    s.expect_eof();
    let mut wanted = s.schema().names_in("x-results");
    wanted.extend(s.schema().names_in("x-notifications"));
    let missing: Vec<_> = wanted.difference(&s.checked).collect();
    assert!(missing.is_empty(), "never exercised: {missing:?}");
}
