//! What was seen (issue 19, case 3), end to end through a real broker: a
//! multi-line editor that keeps input it cannot parse shows a syntax error
//! under it and leaves the cursor in it (the fake agent's
//! `--reject-unparsable`; the framed `[courier] from …` header does not
//! parse there). The message was reported `verified` while its text stayed
//! in the editor, and the agent was then held with `input_not_empty`: two
//! opposite statements about one screen. Now the delivery ends
//! `unverified` (`not_submitted`) and the hold says the same thing.

mod common;

use common::*;
use serde_json::json;

#[test]
fn a_message_the_editor_keeps_is_unverified_and_held_never_verified() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let agent = broker.spawn_fake("repl", &["--reject-unparsable"], &[]);
    broker.wait_ready("repl");
    let sent = broker.send("sender", "repl", "cannot be parsed by this editor");
    let id = sent["message_id"].as_str().unwrap().to_string();
    let ended = broker.wait_event("the delivery to end", |e| {
        e["type"] == "delivery_verified" && e["message_id"] == id.as_str()
    });
    assert_eq!(ended["verification"], "timeout_fallback", "{ended}");
    let reason = ended["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("not_submitted"), "{ended}");
    let rows = ended["screen"].as_array().cloned().unwrap_or_default();
    assert!(
        rows.iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("SyntaxError"))),
        "the event shows the rejected input: {ended}"
    );
    assert_eq!(broker.deliveries(&id)[0]["state"], "unverified");

    // The hold agrees: the text was never submitted, and it is said only
    // after the outcome said so.
    let held = wait_for("the agent to be held", || {
        broker.get_ok("/v1/agents/repl")["status"]["held"]
            .as_str()
            .map(str::to_string)
    });
    assert!(held.starts_with("input_not_empty:"), "{held}");
    assert!(held.contains("never submitted"), "{held}");
    let events = broker.events();
    let at = |pred: &dyn Fn(&serde_json::Value) -> bool| events.iter().position(pred);
    let outcome = at(&|e| e["type"] == "delivery_verified" && e["message_id"] == id.as_str());
    let first_hold = at(&|e| e["type"] == "agent_held" && e["name"] == "repl");
    assert!(
        outcome.is_some() && first_hold > outcome,
        "held before the outcome: {events:#?}"
    );
    assert!(
        !events.iter().any(|e| e["message_id"] == id.as_str()
            && e["type"] == "delivery_verified"
            && e["verification"] == "echo"),
        "{events:#?}"
    );
    assert!(transcript(&agent.transcript).is_empty());

    // A person clears the editor: the hold lifts, nothing was submitted.
    let text = broker.screen("repl");
    assert!(text.contains("cannot be parsed"), "{text}");
    let erase = "\u{7f}".repeat(400);
    let (status, v) = broker.post("/v1/agents/repl/input", &json!({ "text": erase }));
    assert_eq!(status, 204, "{v}");
    wait_for("the hold to lift", || {
        broker.get_ok("/v1/agents/repl")["status"]["held"]
            .is_null()
            .then_some(())
    });
    assert!(transcript(&agent.transcript).is_empty());
}
