//! Native delivery to headless Codex (issue 21): the fake agent serving
//! Codex's app server on pipes (`courier fake-agent --protocol
//! codex-app-server`), a real broker, real SQLite, real HTTP. A delivery is
//! `verified` (`protocol`) only when the turn `turn/start` answered with
//! showed this message as a `userMessage` item and then completed; a
//! refusal ends `unverified` with the server's reason; a crash mid-turn
//! loses nothing and sends nothing twice.

mod common;

use std::path::Path;

use common::headless::{self, message_id};
use common::{Agent, Broker, count_in_transcript};
use serde_json::{Value, json};

const PROTOCOL: &str = "codex-app-server";

fn fake_codex(transcript: &Path, args: &[&str]) -> Vec<String> {
    headless::fake(PROTOCOL, transcript, args)
}

fn spawn_headless(broker: &Broker, name: &str, command: Vec<String>) -> Agent {
    headless::spawn(broker, name, PROTOCOL, command, json!({}))
}

#[test]
fn a_message_to_headless_codex_is_verified_by_its_turn_once() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("cx");
    spawn_headless(
        &broker,
        "cx",
        fake_codex(&transcript, &["--reply", "done: {input}"]),
    );
    let listed = broker.get_ok("/v1/agents/cx");
    assert_eq!(listed["delivery"], json!("native"), "{listed}");
    let ready = broker.wait_event("agent_ready", |e| e["type"] == "agent_ready");
    assert_eq!(ready["ready_by"], json!("protocol"), "{ready}");

    let id = message_id(&broker.send("alice", "cx", "review the retry logic"));
    let ds = broker.wait_verified(&id);
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    // Recorded as carried by the protocol, not typed into a terminal.
    assert_eq!(ds[0]["channel"], json!("native"), "{ds:?}");
    assert_eq!(count_in_transcript(&transcript, &id), 1);

    // The turn's agentMessage is the message's reply.
    let message = broker.get_ok(&format!("/v1/messages/{id}"));
    let reply = message["replies"][0]["text"].as_str().unwrap_or_default();
    assert!(reply.starts_with("done: "), "{message}");
    assert!(reply.contains("review the retry logic"), "{message}");
}

#[test]
fn a_request_refused_with_an_error_ends_unverified_with_its_reason() {
    headless::refusal_ends_unverified(PROTOCOL, &[], "error", "protocol_refused");
}

#[test]
fn a_failed_turn_ends_unverified_with_its_reason() {
    headless::refusal_ends_unverified(PROTOCOL, &[], "turn", "turn_refused");
}

#[test]
fn a_crash_mid_turn_waits_for_the_restart_and_each_message_arrives_once() {
    headless::crash_mid_turn_delivers_the_rest_once(PROTOCOL, &[]);
}

#[test]
fn interrupting_headless_codex_ends_its_turn_cancelled() {
    headless::interrupt_cancels_the_turn(PROTOCOL, &[], "turn/interrupt");
}

#[test]
fn the_codex_preset_runs_headless_as_its_app_server() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // The codex preset with the fake agent for its CLI: `--headless` adds
    // the preset's headless arguments (`app-server` for the real CLI; here
    // the fake's `--protocol codex-app-server`; no MCP `-c` overrides,
    // which the fake does not take).
    let args = ["--protocol", PROTOCOL];
    let (broker, command) =
        headless::spawned_from_preset(tmp.path(), "codex", &args, PROTOCOL, "cx");
    assert!(command.contains("--protocol codex-app-server"), "{command}");

    let id = message_id(&broker.send("alice", "cx", "hello codex"));
    let ds = broker.wait_verified(&id);
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    let events = headless::transcript_events(&broker, "cx");
    let kinds: Vec<Value> = events.iter().map(|e| e["type"].clone()).collect();
    assert!(
        kinds.contains(&json!("conversation_prompt"))
            && kinds.contains(&json!("conversation_reply")),
        "{events:?}"
    );
}

#[test]
fn immediate_steers_a_message_into_the_turn_the_broker_is_following() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("cx");
    spawn_headless(
        &broker,
        "cx",
        fake_codex(
            &transcript,
            &["--think-ms", "3000", "--reply", "done: {input}"],
        ),
    );
    broker.set_mode("cx", "immediate");
    let first = message_id(&broker.send("alice", "cx", "start the long task"));
    common::wait_for("the first turn to start", || {
        (count_in_transcript(&transcript, &first) == 1).then_some(())
    });
    let second = message_id(&broker.send("alice", "cx", "and mind the tests"));
    let steered = broker.wait_verified(&second);
    assert_eq!(steered[0]["verification"], json!("protocol"), "{steered:?}");
    broker.wait_verified(&first);

    let of = |id: &str| accepted(&transcript, id);
    assert_eq!(of(&first)["via"], json!("turn/start"));
    assert_eq!(of(&second)["via"], json!("turn/steer"));
    assert_eq!(of(&second)["turn"], of(&first)["turn"]);
    assert_eq!(count_in_transcript(&transcript, &second), 1);
    // A steered message that was carried is no error of the conversation.
    let events = headless::transcript_events(&broker, "cx");
    assert!(
        !events
            .iter()
            .any(|e| e["type"] == "conversation_error" && e["message_id"] == json!(second)),
        "{events:?}"
    );
    // The turn's answer is the reply to the message that started it, and
    // it took both.
    let message = broker.get_ok(&format!("/v1/messages/{first}"));
    let reply = message["replies"][0]["text"].as_str().unwrap_or_default();
    assert!(reply.contains("mind the tests"), "{message}");
}

#[test]
fn idle_queues_a_message_for_after_the_running_turn() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("cx");
    spawn_headless(
        &broker,
        "cx",
        fake_codex(&transcript, &["--think-ms", "1500"]),
    );
    let first = message_id(&broker.send("alice", "cx", "start the long task"));
    common::wait_for("the first turn to start", || {
        (count_in_transcript(&transcript, &first) == 1).then_some(())
    });
    let second = message_id(&broker.send("alice", "cx", "then this"));
    broker.wait_verified(&second);
    let (first, second) = (
        accepted(&transcript, &first),
        accepted(&transcript, &second),
    );
    assert_eq!(second["via"], json!("turn/start"), "{second}");
    assert_ne!(
        second["turn"], first["turn"],
        "a turn of its own: {first} {second}"
    );
}

/// The fake server's record of the input that carried message `id`.
fn accepted(transcript: &Path, id: &str) -> Value {
    std::fs::read_to_string(transcript)
        .expect("transcript")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .find(|l| l["text"].as_str().is_some_and(|t| t.contains(id)))
        .expect("the message in the transcript")
}
