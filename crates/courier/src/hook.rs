//! `courier hook EVENT`: run by an agent CLI's lifecycle hook. Reads the
//! hook's JSON from stdin, takes the agent's queued deliveries (each becomes
//! `read` through channel `hook`, so it is never typed into the terminal),
//! and prints the hook output that hands them to the model as context.
//!
//! Formats are Claude Code's documented ones
//! (<https://docs.anthropic.com/en/docs/claude-code/hooks>):
//! input `{"session_id", "transcript_path", "cwd", "hook_event_name", ...}`
//! (`prompt` for `UserPromptSubmit`, `stop_hook_active` for `Stop`); output
//! `{"hookSpecificOutput": {"hookEventName": EVENT, "additionalContext": TEXT}}`
//! for `UserPromptSubmit`, `SessionStart` and `PostToolUse`, and
//! `{"decision": "block", "reason": TEXT}` for `Stop` (the model goes on with
//! the messages). Nothing pending: no output, exit 0 (the CLI goes on as usual).

use std::io::Read;

use anyhow::{Context, bail};
use courier_core::{MessageId, Recipient, framing};
use serde_json::{Value, json};

use crate::client::{Client, segment};

/// Hook events whose output can add context.
pub const EVENTS: [&str; 4] = ["UserPromptSubmit", "SessionStart", "PostToolUse", "Stop"];

/// The text handed to the model: each message framed exactly as it would be
/// typed into the terminal, separated by a blank line.
pub fn context_text(deliveries: &[Value]) -> String {
    let mut parts = Vec::new();
    for d in deliveries {
        let m = &d["message"];
        let from = m["from"].as_str().unwrap_or("?");
        let to: Recipient = match m["to"].as_str().unwrap_or("").parse() {
            Ok(to) => to,
            Err(_) => continue,
        };
        let id = MessageId::new(m["id"].as_str().unwrap_or(""));
        let thread = m["thread"].as_str().map(MessageId::new);
        let body = m["body"].as_str().unwrap_or("");
        parts.push(framing::frame(from, &to, &id, thread.as_ref(), body));
    }
    parts.join("\n\n")
}

/// The hook's output for `event` given the pending deliveries; `None` when
/// there is nothing to hand over (or when a `Stop` hook already continued
/// once, so the model is never kept going forever).
pub fn hook_output(event: &str, input: &Value, deliveries: &[Value]) -> Option<Value> {
    if deliveries.is_empty() {
        return None;
    }
    let text = format!(
        "Courier delivered {} message(s) for you:\n\n{}",
        deliveries.len(),
        context_text(deliveries)
    );
    if event == "Stop" {
        if input["stop_hook_active"] == json!(true) {
            return None;
        }
        return Some(json!({"decision": "block", "reason": text}));
    }
    Some(json!({
        "hookSpecificOutput": {"hookEventName": event, "additionalContext": text}
    }))
}

pub async fn run(client: &Client, event: &str, agent: Option<String>) -> anyhow::Result<()> {
    if !EVENTS.contains(&event) {
        bail!("hook event {event:?} cannot add context; use one of {EVENTS:?}");
    }
    let agent = agent
        .context("COURIER_AGENT is not set: `courier hook` runs inside an agent Courier started")?;
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .context("reading the hook's JSON from stdin")?;
    let input: Value = if raw.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&raw).context("the hook's stdin is not JSON")?
    };
    if input["stop_hook_active"] == json!(true) {
        // Continuing already because of a Stop hook: take nothing, so it
        // stays queued for the next boundary (or the terminal).
        return Ok(());
    }
    let v = client
        .post(
            &format!("/v1/agents/{}/inbox/claim", segment(&agent)),
            &json!({}),
        )
        .await?;
    let deliveries = v["deliveries"].as_array().cloned().unwrap_or_default();
    if let Some(out) = hook_output(event, &input, &deliveries) {
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> Value {
        json!({"id": "d1", "message": {"id": "m1", "from": "alice", "to": "bob", "body": "hi there", "created_at": "2025-01-01T00:00:00.000Z"}})
    }

    #[test]
    fn user_prompt_submit_adds_context_as_documented() {
        let input = json!({"session_id": "s", "transcript_path": "/t", "cwd": "/w", "hook_event_name": "UserPromptSubmit", "prompt": "go"});
        let out = hook_output("UserPromptSubmit", &input, &[delivery()]).unwrap();
        assert_eq!(
            out["hookSpecificOutput"]["hookEventName"],
            "UserPromptSubmit"
        );
        let text = out["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap();
        assert!(text.contains("hi there"), "{text}");
        assert!(text.contains("msg m1"), "{text}");
        assert_eq!(out.as_object().unwrap().len(), 1);
    }

    #[test]
    fn stop_blocks_once_and_nothing_pending_prints_nothing() {
        let input = json!({"hook_event_name": "Stop", "stop_hook_active": false});
        let out = hook_output("Stop", &input, &[delivery()]).unwrap();
        assert_eq!(out["decision"], "block");
        let again = json!({"hook_event_name": "Stop", "stop_hook_active": true});
        assert!(hook_output("Stop", &again, &[delivery()]).is_none());
        assert!(hook_output("UserPromptSubmit", &input, &[]).is_none());
    }
}
