//! `--protocol claude-stream-json` as a real child process on pipes: a turn that echoes its user
//! message (and the replay that acknowledges it), lines queued behind a running turn, interrupt,
//! refusal, a crash mid-turn, stdout closed after a turn. Every message is checked against the
//! field list kept in `protocols/claude-stream-json/schema.json`.

mod proto;

use proto::*;
use serde_json::{Value, json};

fn start(args: &[&str]) -> Server {
    Server::start(
        "claude-stream-json",
        "claude-stream-json",
        "COURIER_UPSTREAM_CLAUDE_SCHEMA",
        args,
    )
}

fn user(s: &mut Server, text: &str) {
    s.send(json!({
        "type": "user",
        "message": { "role": "user", "content": text },
        "parent_tool_use_id": null,
        "session_id": "default"
    }));
}

fn control(s: &mut Server, id: &str, subtype: &str) {
    s.send(
        json!({ "type": "control_request", "request_id": id, "request": { "subtype": subtype } }),
    );
}

fn reply(m: &Value) -> &str {
    m["message"]["content"][0]["text"].as_str().unwrap_or("")
}

#[test]
fn a_turn_echoes_its_user_message_after_init_and_the_replay_acknowledges_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let path = t.to_str().expect("utf-8");
    let mut s = start(&[
        "--think-ms",
        "20",
        "--replay-user-messages",
        "--transcript",
        path,
    ]);
    control(&mut s, "req_1", "initialize");
    let init = s.of_type("control_response");
    assert_eq!(init["response"]["subtype"], "success");
    assert_eq!(init["response"]["request_id"], "req_1");
    s.send(json!({
        "type": "user", "uuid": "u-1",
        "message": { "role": "user", "content": [{ "type": "text", "text": "hello" }] }
    }));
    let replay = s.of_type("user");
    assert_eq!(
        (replay["isReplay"].clone(), replay["uuid"].clone()),
        (json!(true), json!("u-1"))
    );
    let sys = s.of_type("system");
    assert_eq!(sys["subtype"], "init");
    let assistant = s.of_type("assistant");
    assert_eq!(reply(&assistant), "echo: hello");
    let result = s.of_type("result");
    assert_eq!(
        (result["subtype"].clone(), result["is_error"].clone()),
        (json!("success"), json!(false))
    );
    assert_eq!(result["result"], "echo: hello");
    assert_eq!(result["session_id"], sys["session_id"]);
    let lines = transcript(&t);
    assert_eq!(
        (lines[0]["text"].clone(), lines[0]["via"].clone()),
        (json!("hello"), json!("user"))
    );
    control(&mut s, "req_2", "set_model");
    assert_eq!(
        s.of_type("control_response")["response"]["subtype"],
        "error"
    );
    s.close_stdin();
    s.expect_eof();
    assert_eq!(s.wait().code(), Some(0));
}

#[test]
fn lines_sent_while_a_turn_runs_are_queued_each_for_a_turn_of_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let path = t.to_str().expect("utf-8");
    let mut s = start(&[
        "--think-ms",
        FOREVER_MS,
        "--replay-user-messages",
        "--transcript",
        path,
    ]);
    user(&mut s, "A");
    s.of_type("system");
    user(&mut s, "B");
    user(&mut s, "C");
    // Both accepted (each replay is sent when its line is taken) while A still runs.
    s.until("B's replay", |m| {
        m["type"] == "user" && m["message"]["content"] == "B"
    });
    s.until("C's replay", |m| {
        m["type"] == "user" && m["message"]["content"] == "C"
    });
    s.hurry();
    assert_eq!(reply(&s.of_type("assistant")), "echo: A");
    s.of_type("result");
    s.of_type("system");
    // Interrupting B ends it with an error result; C still gets its turn.
    control(&mut s, "req_i", "interrupt");
    assert_eq!(
        s.of_type("control_response")["response"]["subtype"],
        "success"
    );
    let result = s.of_type("result");
    assert_eq!(
        (
            result["is_error"].clone(),
            result["terminal_reason"].clone()
        ),
        (json!(true), json!("aborted_streaming"))
    );
    s.of_type("system");
    s.hurry();
    assert_eq!(reply(&s.of_type("assistant")), "echo: C");
    s.of_type("result");
    let turns: Vec<Value> = transcript(&t)
        .iter()
        .map(|l| json!([l["text"], l["turn"]]))
        .collect();
    assert_eq!(
        turns,
        [
            json!(["A", "turn-1"]),
            json!(["B", null]),
            json!(["C", null])
        ]
    );
}

#[test]
fn a_refused_message_ends_its_turn_with_an_error_result_and_no_assistant_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let path = t.to_str().expect("utf-8");
    let mut s = start(&[
        "--refuse",
        "rm -rf",
        "--refuse-reason",
        "too dangerous",
        "--transcript",
        path,
    ]);
    user(&mut s, "please rm -rf /");
    let result = s.of_type("result");
    assert_eq!(
        (result["is_error"].clone(), result["errors"].clone()),
        (json!(true), json!(["too dangerous"]))
    );
    assert!(!s.seen.iter().any(|m| m["type"] == "assistant"));
    user(&mut s, "ls");
    assert_eq!(reply(&s.of_type("assistant")), "echo: ls");
    assert_eq!(transcript(&t)[0]["refused"], true);
}

#[test]
fn crash_after_exits_mid_turn_and_stdout_can_close_after_a_turn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut s = start(&[
        "--crash-after",
        "2",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    user(&mut s, "one");
    s.of_type("result");
    user(&mut s, "two");
    s.of_type("system");
    s.expect_eof();
    assert_eq!(s.wait().code(), Some(101));
    assert_eq!(texts(&t), ["one", "two"]);
    drop(s);

    let mut s = start(&["--close-stdout-after", "1"]);
    user(&mut s, "one");
    s.of_type("result");
    s.expect_eof();
    assert!(s.is_running());
    s.close_stdin();
    assert_eq!(s.wait().code(), Some(0));
}

#[test]
fn every_kind_of_message_the_fake_sends_is_checked_against_the_kept_field_list() {
    let mut s = start(&["--replay-user-messages", "--refuse", "no"]);
    control(&mut s, "r1", "initialize");
    control(&mut s, "r2", "bogus");
    user(&mut s, "yes");
    user(&mut s, "no");
    s.close_stdin();
    while s.next().is_some() {}
    let wanted = s.schema().names_in("x-types");
    let missing: Vec<_> = wanted.difference(&s.checked).collect();
    assert!(missing.is_empty(), "never exercised: {missing:?}");
}
