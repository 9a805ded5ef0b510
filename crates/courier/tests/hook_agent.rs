//! The hook channel end to end with an agent that calls the hook itself:
//! the fake agent runs `courier hook UserPromptSubmit` on every prompt the
//! way Claude Code runs a command hook (JSON on stdin, its own environment),
//! and what the hook adds as context reaches its transcript exactly once,
//! while nothing is typed into its terminal.

mod common;

use common::{Broker, transcript, wait_for};
use serde_json::json;

/// How often message `id` reached the agent in any form: typed in (its
/// header starts a submission) or inside a hook's context.
fn times_seen(path: &std::path::Path, id: &str) -> usize {
    let needle = format!("| msg {id}");
    transcript(path)
        .iter()
        .map(|t| t.matches(&needle).count())
        .sum()
}

#[test]
fn an_agent_calling_the_hook_gets_each_message_once_and_nothing_is_typed() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let exe = env!("CARGO_BIN_EXE_courier");
    let log = broker.transcript_path("bob");
    let (status, body) = broker.post(
        "/v1/agents",
        &json!({
            "name": "bob",
            "command": [
                exe, "fake-agent", "--mode", "line",
                "--transcript", log.display().to_string(),
                "--hook-command", format!("{exe} hook UserPromptSubmit"),
            ],
            "delivery": "hooks",
        }),
    );
    assert_eq!(status, 201, "{body}");
    broker.wait_ready("bob");
    let id = broker.send("alice", "bob", "the build is green")["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    // A person types a prompt; the agent's hook takes the queued message in.
    let prompt = |text: &str| {
        let (status, body) = broker.post("/v1/agents/bob/input", &json!({"text": text}));
        assert_eq!(status, 204, "{body}");
    };
    prompt("what is new?\r");
    wait_for("the message in bob's transcript through the hook", || {
        (times_seen(&log, &id) == 1).then_some(())
    });
    let d = &broker.deliveries(&id)[0];
    assert_eq!(
        (d["state"].as_str(), d["channel"].as_str()),
        (Some("read"), Some("hook"))
    );
    // The next prompt's hook brings only what is new: the first message
    // stays exactly once.
    let id2 = broker.send("alice", "bob", "and deployed")["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    prompt("anything else?\r");
    wait_for("the second message through the next hook", || {
        (times_seen(&log, &id2) == 1).then_some(())
    });
    assert_eq!(times_seen(&log, &id), 1);
    assert!(
        !broker
            .events()
            .iter()
            .any(|e| e["type"] == "delivery_injecting"),
        "nothing was typed into the terminal"
    );
    broker.stop_and_check();
}
