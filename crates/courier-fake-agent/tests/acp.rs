//! `--protocol acp` as a real child process on pipes: the handshake, a turn that echoes its
//! prompt, refusals, a crash mid-turn, cancel and a prompt that supersedes a running one, stdout
//! closed after a turn, a slow acknowledgement. Every message is checked against
//! `protocols/acp/schema.json` (and against ACP's own schema when `COURIER_UPSTREAM_ACP_SCHEMA`
//! names its `schema/v1/schema.json`).

mod proto;

use std::time::{Duration, Instant};

use proto::*;
use serde_json::{Value, json};

const UPSTREAM: &str = "COURIER_UPSTREAM_ACP_SCHEMA";

fn start(args: &[&str]) -> Server {
    Server::start("acp", "acp", UPSTREAM, args)
}

fn request(s: &mut Server, id: i64, method: &str, params: Value) {
    s.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
}

/// initialize and session/new; returns the session id.
fn handshake(s: &mut Server) -> String {
    request(
        s,
        0,
        "initialize",
        json!({ "protocolVersion": 1, "clientCapabilities": {} }),
    );
    let init = s.response(0);
    assert_eq!(init["result"]["protocolVersion"], 1);
    assert_eq!(init["result"]["agentInfo"]["name"], "courier-fake-agent");
    request(
        s,
        1,
        "session/new",
        json!({ "cwd": "/tmp", "mcpServers": [] }),
    );
    let session = s.response(1)["result"]["sessionId"]
        .as_str()
        .expect("sessionId")
        .to_string();
    let cmds = s.notification("session/update");
    assert_eq!(
        cmds["params"]["update"]["sessionUpdate"],
        "available_commands_update"
    );
    session
}

fn prompt(s: &mut Server, id: i64, session: &str, text: &str) {
    let params = json!({ "sessionId": session, "prompt": [{ "type": "text", "text": text }] });
    request(s, id, "session/prompt", params);
}

fn update_kind(m: &Value) -> &str {
    m["params"]["update"]["sessionUpdate"]
        .as_str()
        .unwrap_or("")
}

fn chunk_text(m: &Value) -> &str {
    m["params"]["update"]["content"]["text"]
        .as_str()
        .unwrap_or("")
}

#[test]
fn handshake_then_a_turn_echoes_its_prompt_and_the_transcript_counts_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut s = start(&[
        "--think-ms",
        "20",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    let session = handshake(&mut s);
    prompt(&mut s, 2, &session, "hello there");
    let thought = s.until("a thought", |m| update_kind(m) == "agent_thought_chunk");
    assert!(chunk_text(&thought).contains("hello there"));
    let reply = s.until("the reply", |m| update_kind(m) == "agent_message_chunk");
    assert_eq!(chunk_text(&reply), "echo: hello there");
    assert_eq!(s.response(2)["result"]["stopReason"], "end_turn");
    let lines = transcript(&t);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["n"], 1);
    assert_eq!(lines[0]["text"], "hello there");
    assert_eq!(lines[0]["via"], "session/prompt");
    // Unknown methods and sessions are errors, as JSON-RPC says.
    request(&mut s, 3, "session/load", json!({}));
    assert_eq!(s.response(3)["error"]["code"], -32601);
    prompt(&mut s, 4, "sess_404", "x");
    assert_eq!(s.response(4)["error"]["code"], -32602);
    s.close_stdin();
    s.expect_eof();
    assert_eq!(s.wait().code(), Some(0));
}

#[test]
fn a_refused_prompt_ends_with_stop_reason_refusal_or_fails_as_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let path = t.to_str().expect("utf-8");
    let mut s = start(&[
        "--refuse",
        "forbidden",
        "--refuse-reason",
        "not today",
        "--transcript",
        path,
    ]);
    let session = handshake(&mut s);
    prompt(&mut s, 2, &session, "do the forbidden thing");
    let reason = s.until("the reason", |m| update_kind(m) == "agent_message_chunk");
    assert_eq!(chunk_text(&reason), "not today");
    assert_eq!(s.response(2)["result"]["stopReason"], "refusal");
    assert_eq!(transcript(&t)[0]["refused"], true);
    drop(s);

    let t2 = dir.path().join("t2.jsonl");
    let path2 = t2.to_str().expect("utf-8");
    let mut s = start(&[
        "--refuse",
        "forbidden",
        "--refuse-as",
        "error",
        "--transcript",
        path2,
    ]);
    let session = handshake(&mut s);
    prompt(&mut s, 2, &session, "forbidden");
    let err = s.response(2);
    assert_eq!(err["error"]["message"], "refused by courier-fake-agent");
    prompt(&mut s, 3, &session, "fine");
    assert_eq!(s.response(3)["result"]["stopReason"], "end_turn");
    assert_eq!(
        texts(&t2),
        ["fine"],
        "a request refused as an error is not accepted"
    );
}

#[test]
fn crash_after_exits_mid_turn_without_answering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut s = start(&[
        "--crash-after",
        "2",
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    let session = handshake(&mut s);
    prompt(&mut s, 2, &session, "first");
    assert_eq!(s.response(2)["result"]["stopReason"], "end_turn");
    prompt(&mut s, 3, &session, "second");
    let thought = s.until("the second turn's start", |m| {
        update_kind(m) == "agent_thought_chunk"
    });
    assert!(chunk_text(&thought).contains("second"));
    s.expect_eof();
    assert_eq!(s.wait().code(), Some(101));
    assert_eq!(
        texts(&t),
        ["first", "second"],
        "the crashed turn's prompt was accepted"
    );
    assert!(
        !s.seen.iter().any(|m| m.get("id") == Some(&json!(3))),
        "never answered"
    );
}

#[test]
fn cancel_ends_the_turn_cancelled_and_a_new_prompt_supersedes_the_running_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let mut s = start(&[
        "--think-ms",
        FOREVER_MS,
        "--transcript",
        t.to_str().expect("utf-8"),
    ]);
    let session = handshake(&mut s);
    prompt(&mut s, 2, &session, "A");
    s.until("A's thought", |m| update_kind(m) == "agent_thought_chunk");
    s.send(
        json!({ "jsonrpc": "2.0", "method": "session/cancel", "params": { "sessionId": session } }),
    );
    assert_eq!(s.response(2)["result"]["stopReason"], "cancelled");
    prompt(&mut s, 3, &session, "B");
    s.until("B's thought", |m| update_kind(m) == "agent_thought_chunk");
    prompt(&mut s, 4, &session, "C");
    // Gemini CLI aborts the pending prompt when a new one comes.
    assert_eq!(s.response(3)["result"]["stopReason"], "cancelled");
    let thought = s.until("C's thought", |m| update_kind(m) == "agent_thought_chunk");
    assert!(chunk_text(&thought).contains('C'));
    s.hurry();
    let reply = s.until("C's reply", |m| update_kind(m) == "agent_message_chunk");
    assert_eq!(
        chunk_text(&reply),
        "echo: C",
        "the reply names the prompt that started its turn"
    );
    assert_eq!(s.response(4)["result"]["stopReason"], "end_turn");
    assert_eq!(texts(&t), ["A", "B", "C"]);
}

#[test]
fn stdout_closes_after_n_turns_and_acknowledgements_can_be_slow() {
    let mut s = start(&["--close-stdout-after", "1", "--ack-delay-ms", "150"]);
    let sent = Instant::now();
    let session = handshake(&mut s);
    assert!(
        sent.elapsed() >= Duration::from_millis(300),
        "two requests, each acknowledged late"
    );
    prompt(&mut s, 2, &session, "only one");
    assert_eq!(s.response(2)["result"]["stopReason"], "end_turn");
    s.expect_eof();
    assert!(
        s.is_running(),
        "the process lives on with its stdout closed"
    );
    s.close_stdin();
    assert_eq!(s.wait().code(), Some(0));
}

#[test]
fn tool_call_runs_a_tool_before_each_answered_reply_and_none_in_a_refused_turn() {
    // A hostile title goes out as given: showing it safely is the client's job.
    let title = "ls -la \u{1b}[31m\u{202e}";
    let mut s = start(&["--tool-call", title, "--refuse", "no", "--think-ms", "0"]);
    let session = handshake(&mut s);
    for (id, text) in [(2, "first"), (3, "second")] {
        prompt(&mut s, id, &session, text);
        let mut seen = Vec::new();
        while let Some(m) = s.next() {
            if m["id"] == json!(id) {
                assert_eq!(m["result"]["stopReason"], "end_turn", "{m}");
                break;
            }
            seen.push(m);
        }
        let kinds: Vec<&str> = seen.iter().map(update_kind).collect();
        assert_eq!(
            kinds,
            [
                "agent_thought_chunk",
                "tool_call",
                "tool_call_update",
                "agent_message_chunk"
            ],
            "{seen:#?}"
        );
        let (call, done) = (&seen[1]["params"]["update"], &seen[2]["params"]["update"]);
        assert_eq!(call["title"], title);
        assert_eq!(call["kind"], "execute");
        assert_eq!(call["status"], "in_progress");
        assert_eq!(done["status"], "completed");
        assert_eq!(call["toolCallId"], done["toolCallId"]);
        assert_eq!(
            call["toolCallId"],
            format!("call_{}", id - 1),
            "one id per turn"
        );
    }
    prompt(&mut s, 4, &session, "no");
    let mut kinds = Vec::new();
    while let Some(m) = s.next() {
        if m["id"] == json!(4) {
            assert_eq!(m["result"]["stopReason"], "refusal", "{m}");
            break;
        }
        kinds.push(update_kind(&m).to_string());
    }
    assert!(
        !kinds.iter().any(|k| k.starts_with("tool_call")),
        "{kinds:?}"
    );
    s.close_stdin();
    s.expect_eof();
}

#[test]
fn every_kind_of_message_the_fake_sends_is_checked_against_the_kept_schema() {
    let mut s = start(&["--refuse", "no", "--think-ms", "0", "--tool-call", "ls"]);
    let session = handshake(&mut s);
    request(&mut s, 2, "authenticate", json!({ "methodId": "none" }));
    s.response(2);
    prompt(&mut s, 3, &session, "yes");
    s.response(3);
    prompt(&mut s, 4, &session, "no");
    s.response(4);
    s.close_stdin();
    s.expect_eof();
    // Every result and notification type of the schema was sent and checked.
    let mut wanted = s.schema().names_in("x-results");
    wanted.extend(s.schema().names_in("x-notifications"));
    let missing: Vec<_> = wanted.difference(&s.checked).collect();
    assert!(missing.is_empty(), "never exercised: {missing:?}");
}
