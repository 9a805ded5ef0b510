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

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context, bail};
use courier_core::{MessageId, Recipient, framing};
use serde_json::{Value, json};

use crate::cli::Global;
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

/// `courier hook EVENT` as the CLI runs it. Outside Courier it does nothing:
/// the `claude` preset writes the hook into the project's
/// `.claude/settings.json`, so a plain `claude` started later in that project
/// runs it too, without `COURIER_AGENT`/`COURIER_URL`/`COURIER_TOKEN` and
/// maybe with no broker at all. Claude Code takes empty stdout with exit 0
/// as "no additional context" and shows anything else to the user, so
/// there it exits 0 with nothing on stdout and only a debug note on stderr.
pub async fn main(global: &Global, event: &str) -> anyhow::Result<ExitCode> {
    if !EVENTS.contains(&event) {
        bail!("hook event {event:?} cannot add context; use one of {EVENTS:?}");
    }
    let Some(agent) = std::env::var("COURIER_AGENT")
        .ok()
        .filter(|a| !a.is_empty())
    else {
        outside("COURIER_AGENT is not set (not an agent Courier started)");
        return Ok(ExitCode::SUCCESS);
    };
    let client = match Client::connect(global) {
        Ok(client) => client,
        Err(e) => {
            outside(&format!("{e:#}"));
            return Ok(ExitCode::SUCCESS);
        }
    };
    run(&client, event, Some(agent)).await?;
    Ok(ExitCode::SUCCESS)
}

/// Not running under a reachable Courier: nothing to hand over, no output.
fn outside(why: &str) {
    tracing::debug!("courier hook: nothing to do outside Courier: {why}");
    drain_stdin();
}

/// Reads the hook's input to its end (when it is a pipe) so the CLI that
/// writes it never meets a closed pipe; a terminal is left alone.
fn drain_stdin() {
    let mut stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let _ = std::io::copy(&mut stdin, &mut std::io::sink());
    }
}

/// Whether `e` comes from talking to the broker at all (connection refused,
/// bad address, timeout), as opposed to an answer the broker gave.
fn unreachable(e: &anyhow::Error) -> bool {
    e.downcast_ref::<reqwest::Error>().is_some()
}

pub async fn run(client: &Client, event: &str, agent: Option<String>) -> anyhow::Result<()> {
    if !EVENTS.contains(&event) {
        bail!("hook event {event:?} cannot add context; use one of {EVENTS:?}");
    }
    let Some(agent) = agent else {
        outside("COURIER_AGENT is not set (not an agent Courier started)");
        return Ok(());
    };
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
    let v = match client
        .post(
            &format!("/v1/agents/{}/inbox/claim", segment(&agent)),
            &json!({}),
        )
        .await
    {
        Ok(v) => v,
        // The broker is gone (stopped, or this session outlived it): the
        // deliveries stay queued in its store, nothing is lost by going on.
        Err(e) if unreachable(&e) => {
            tracing::debug!("courier hook: broker unreachable, nothing handed over: {e:#}");
            return Ok(());
        }
        // A broker that answers and refuses (bad token, unknown agent) is
        // a misconfiguration a person should see.
        Err(e) => return Err(e),
    };
    let deliveries = v["deliveries"].as_array().cloned().unwrap_or_default();
    if let Some(out) = hook_output(event, &input, &deliveries) {
        // The bodies in it are sanitized as typed text (`framing::frame`);
        // the JSON carries no raw C1, bidi or invisible character either.
        let text = serde_json::to_string(&out)?;
        println!("{}", courier_core::display::json_for_terminal(&text));
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

    /// The exact output for each event, in the shapes Claude Code documents
    /// (hooks reference: `hookSpecificOutput.additionalContext` for
    /// UserPromptSubmit, SessionStart and PostToolUse; top-level
    /// `decision: "block"` with a `reason` for Stop).
    #[test]
    fn golden_output_for_every_event() {
        let text = "Courier delivered 1 message(s) for you:\n\n\
                    [courier] from alice to you (direct) | msg m1\nhi there";
        for event in ["UserPromptSubmit", "SessionStart", "PostToolUse"] {
            let input = json!({"session_id": "s", "transcript_path": "/t", "cwd": "/w", "hook_event_name": event});
            assert_eq!(
                hook_output(event, &input, &[delivery()]).unwrap(),
                json!({"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}),
                "{event}"
            );
        }
        let stop = json!({"session_id": "s", "hook_event_name": "Stop", "stop_hook_active": false});
        assert_eq!(
            hook_output("Stop", &stop, &[delivery()]).unwrap(),
            json!({"decision": "block", "reason": text})
        );
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
