//! Native delivery to headless Claude Code (issue 21): the fake agent
//! speaking Claude Code's stream-json on pipes (`courier fake-agent
//! --protocol claude-stream-json`), a real broker, real SQLite, real HTTP.
//! A delivery is `verified` (`protocol`) only when the CLI echoed this
//! message (`--replay-user-messages`) and then ended its turn with a
//! `result`; an error `result` ends `unverified` with the CLI's words; no
//! echo is no proof; a crash mid-turn loses nothing and sends nothing twice.

mod common;

use std::path::Path;

use common::headless::{self, courier, message_id, never_verified, wait_settled};
use common::{Agent, Broker, count_in_transcript};
use serde_json::{Value, json};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `courier fake-agent --protocol claude-stream-json --transcript <path> <args>`.
fn fake_claude(transcript: &Path, args: &[&str]) -> Vec<String> {
    headless::fake("claude-stream-json", transcript, args)
}

/// The fake with `--replay-user-messages`, as the claude preset runs the CLI.
fn replaying(transcript: &Path, args: &[&str]) -> Vec<String> {
    let mut command = fake_claude(transcript, &["--replay-user-messages"]);
    command.extend(args.iter().map(|a| a.to_string()));
    command
}

/// Spawns a headless stream-json agent running `command`; waits until it
/// is ready (its `initialize` control request answered).
fn spawn_headless(broker: &Broker, name: &str, command: Vec<String>, extra: Value) -> Agent {
    headless::spawn(broker, name, "claude-stream-json", command, extra)
}

#[test]
fn a_message_to_headless_claude_is_verified_by_its_replay_and_result_once() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("cc");
    spawn_headless(&broker, "cc", replaying(&transcript, &[]), json!({}));
    let listed = broker.get_ok("/v1/agents/cc");
    assert_eq!(listed["delivery"], json!("native"), "{listed}");
    let ready = broker.wait_event("agent_ready", |e| e["type"] == "agent_ready");
    assert_eq!(ready["ready_by"], json!("protocol"), "{ready}");

    let id = message_id(&broker.send("alice", "cc", "review the retry logic"));
    let ds = broker.wait_verified(&id);
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    assert_eq!(count_in_transcript(&transcript, &id), 1);
}

#[test]
fn without_the_replay_a_turn_proves_nothing_and_ends_unverified() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("cc");
    spawn_headless(&broker, "cc", fake_claude(&transcript, &[]), json!({}));
    let id = message_id(&broker.send("alice", "cc", "no echo for this one"));
    let d = wait_settled(&broker, &id);
    assert_eq!(d["state"], json!("unverified"), "{d}");
    let reason = d["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("protocol_unproven"), "{reason}");
    assert!(reason.contains("--replay-user-messages"), "{reason}");
    never_verified(&broker, &id);
    // It did reach the agent once: unproven is not undelivered.
    assert_eq!(count_in_transcript(&transcript, &id), 1);
}

// stream-json has no error answer to a line: a refusal is always a
// failed turn (`turn_refused`), whichever way the fake refuses.
#[test]
fn an_input_refused_as_error_ends_unverified_with_its_reason() {
    let replay = ["--replay-user-messages"];
    headless::refusal_ends_unverified("claude-stream-json", &replay, "error", "turn_refused");
}

#[test]
fn a_turn_refused_ends_unverified_with_its_reason() {
    let replay = ["--replay-user-messages"];
    headless::refusal_ends_unverified("claude-stream-json", &replay, "turn", "turn_refused");
}

#[test]
fn a_crash_mid_turn_waits_for_the_restart_and_each_message_arrives_once() {
    headless::crash_mid_turn_delivers_the_rest_once(
        "claude-stream-json",
        &["--replay-user-messages"],
    );
}

#[test]
fn the_claude_preset_runs_headless_and_its_transcript_shows_the_conversation() {
    let tmp = tempdir();
    // The claude preset with the fake agent for its CLI (and no
    // `--mcp-config`, which the fake does not take): `--headless` adds the
    // preset's headless arguments and speaks its headless protocol.
    let args = [
        "--protocol",
        "claude-stream-json",
        "--replay-user-messages",
        "--refuse",
        "forbidden",
        "--refuse-reason",
        "not on a friday",
    ];
    let (broker, command) =
        headless::spawned_from_preset(tmp.path(), "claude", &args, "claude-stream-json", "cc");
    assert!(
        command.contains("--protocol claude-stream-json"),
        "{command}"
    );

    let asked = message_id(&broker.send("alice", "cc", "summarise the design"));
    let ds = broker.wait_verified(&asked);
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    let refused = message_id(&broker.send("alice", "cc", "the forbidden one"));
    assert_eq!(
        wait_settled(&broker, &refused)["state"],
        json!("unverified")
    );

    let text = courier(&broker, &["transcript", "cc"]);
    assert!(text.contains("summarise the design"), "{text}");
    assert!(text.contains("echo:"), "{text}");
    assert!(text.contains("not on a friday"), "{text}");

    let events = headless::transcript_events(&broker, "cc");
    let of = |kind: &str, id: &str| {
        events
            .iter()
            .find(|e| e["type"] == kind && e["message_id"] == json!(id))
            .cloned()
    };
    let prompt = of("conversation_prompt", &asked).expect("the prompt");
    assert_eq!(prompt["from"], json!("alice"), "{prompt}");
    let reply = of("conversation_reply", &asked).expect("the reply");
    assert!(
        reply["text"]
            .as_str()
            .unwrap_or_default()
            .contains("summarise the design"),
        "{reply}"
    );
    let error = of("conversation_error", &refused).expect("the error");
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("not on a friday"),
        "{error}"
    );
}

#[test]
fn interrupting_headless_claude_ends_its_turn_cancelled() {
    let replay = ["--replay-user-messages"];
    headless::interrupt_cancels_the_turn("claude-stream-json", &replay, "interrupt");
}
