//! `--protocol claude-stream-json`: Claude Code headless, as
//! `claude -p --input-format stream-json --output-format stream-json --verbose` runs — one
//! long-lived process reading user messages as JSON lines and writing its messages as JSON lines.
//! See `protocols/claude-stream-json/README.md` for the sources.
//!
//! - A `{"type":"user","message":{"role":"user","content":…}}` line is one input. With
//!   `--replay-user-messages` it is echoed back at once (`"isReplay": true`), the only
//!   acknowledgement this protocol has.
//! - Each turn starts with a `system`/`init` message, then (after the think time) one `assistant`
//!   message with the reply and a `result` (`subtype: "success"`). A refused input's turn ends with
//!   a `result` with `is_error: true` and no `assistant` message.
//! - Lines that arrive while a turn runs are queued: each gets a turn of its own, in order.
//! - `control_request`s: `initialize` and `interrupt` are answered with a `control_response`
//!   (`interrupt` ends the running turn with an error `result`); any other subtype gets an error
//!   response.

use std::collections::VecDeque;
use std::time::Instant;

use serde_json::{Value, json};

use super::policy::{Accepted, CRASH_CODE, Policy, transcript_failed, uuid};
use super::runner::{Outbox, Server, Timer};

const MODEL: &str = "fake-model";

pub enum ClaudeTimer {
    /// The think time of turn N is over.
    Answer(u64),
}

impl Timer for ClaudeTimer {
    fn is_think(&self) -> bool {
        true
    }
}

struct Pending {
    text: String,
    /// Its number among accepted inputs (for `--crash-after`).
    n: usize,
}

struct Running {
    turn: u64,
    input: String,
    refused: bool,
    started: Instant,
}

pub struct Claude {
    policy: Policy,
    session_id: String,
    running: Option<Running>,
    queue: VecDeque<Pending>,
    turns: u64,
    uuids: u64,
}

/// The text of a user message's `content`: a string, or its text blocks one per line.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

impl Claude {
    pub fn new(policy: Policy) -> Self {
        Claude {
            policy,
            session_id: uuid(u64::from(std::process::id())),
            running: None,
            queue: VecDeque::new(),
            turns: 0,
            uuids: 1 << 32,
        }
    }

    fn next_uuid(&mut self) -> String {
        self.uuids += 1;
        uuid(self.uuids)
    }

    fn system_init(&mut self) -> Value {
        let cwd =
            std::env::current_dir().map_or_else(|_| "/".to_string(), |p| p.display().to_string());
        json!({
            "type": "system", "subtype": "init", "session_id": self.session_id, "cwd": cwd,
            "tools": [], "mcp_servers": [], "model": MODEL, "permissionMode": "default",
            "slash_commands": [], "apiKeySource": "none", "output_style": "default",
            "claude_code_version": env!("CARGO_PKG_VERSION"), "uuid": self.next_uuid()
        })
    }

    fn user(&mut self, msg: &Value, out: &mut Outbox<ClaudeTimer>) {
        let message = msg.get("message").cloned().unwrap_or(Value::Null);
        let text = content_text(message.get("content").unwrap_or(&Value::Null));
        let turn = self
            .running
            .is_none()
            .then(|| format!("turn-{}", self.turns + 1));
        let accepted = Accepted {
            text: &text,
            via: "user",
            turn: turn.as_deref(),
            refused: self.policy.refuses(&text),
        };
        let n = match self.policy.accept(&accepted) {
            Ok(n) => n,
            Err(e) => return out.exit(transcript_failed(&e)),
        };
        if self.policy.settings.replay_user_messages {
            let id = msg
                .get("uuid")
                .and_then(Value::as_str)
                .map_or_else(|| self.next_uuid(), str::to_string);
            out.send(json!({
                "type": "user", "message": message, "parent_tool_use_id": null,
                "session_id": self.session_id, "uuid": id, "isReplay": true
            }));
        }
        self.queue.push_back(Pending { text, n });
        self.start_next(out);
    }

    /// Starts the next queued input's turn if none is running.
    fn start_next(&mut self, out: &mut Outbox<ClaudeTimer>) {
        if self.running.is_some() {
            return;
        }
        let Some(p) = self.queue.pop_front() else {
            return;
        };
        self.turns += 1;
        let init = self.system_init();
        out.send(init);
        if self.policy.crashes_at(p.n) {
            return out.exit(CRASH_CODE);
        }
        self.running = Some(Running {
            turn: self.turns,
            refused: self.policy.refuses(&p.text),
            input: p.text,
            started: out.now(),
        });
        out.timer(self.policy.settings.think, ClaudeTimer::Answer(self.turns));
    }

    /// The `result` that ends a turn: `Ok(reply)` a success, `Err((terminal reason, error))` not.
    fn result(
        &mut self,
        run: &Running,
        outcome: Result<&str, (&str, &str)>,
        now: Instant,
    ) -> Value {
        let ms = u64::try_from(now.duration_since(run.started).as_millis()).unwrap_or(u64::MAX);
        let mut r = json!({
            "type": "result", "subtype": "success", "is_error": false, "duration_ms": ms,
            "duration_api_ms": ms, "num_turns": 1, "session_id": self.session_id,
            "total_cost_usd": 0.0, "permission_denials": [],
            "usage": { "input_tokens": 0, "output_tokens": 0,
                       "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0 },
            "stop_reason": null, "terminal_reason": "completed", "uuid": self.next_uuid()
        });
        match outcome {
            Ok(reply) => {
                r["result"] = json!(reply);
                r["stop_reason"] = json!("end_turn");
            }
            Err((terminal, error)) => {
                r["subtype"] = json!("error_during_execution");
                r["is_error"] = json!(true);
                r["terminal_reason"] = json!(terminal);
                r["errors"] = json!([error]);
            }
        }
        r
    }

    /// Ends the running turn with `outcome`, then starts the next queued one.
    fn finish(&mut self, outcome: Result<String, (&str, String)>, out: &mut Outbox<ClaudeTimer>) {
        let Some(run) = self.running.take() else {
            return;
        };
        let result = match &outcome {
            Ok(reply) => {
                let assistant = json!({
                    "type": "assistant",
                    "message": {
                        "id": format!("msg_{}", run.turn), "type": "message", "role": "assistant",
                        "model": MODEL, "content": [{ "type": "text", "text": reply }],
                        "stop_reason": "end_turn", "stop_sequence": null,
                        "usage": { "input_tokens": 0, "output_tokens": 0 }
                    },
                    "parent_tool_use_id": null, "session_id": self.session_id, "uuid": self.next_uuid()
                });
                out.send(assistant);
                self.result(&run, Ok(reply), out.now())
            }
            Err((terminal, error)) => self.result(&run, Err((terminal, error)), out.now()),
        };
        out.send(result);
        if self.policy.turn_completed() {
            out.close_stdout();
        }
        self.start_next(out);
    }

    fn control(&mut self, msg: &Value, out: &mut Outbox<ClaudeTimer>) {
        let request_id = msg.get("request_id").cloned().unwrap_or(Value::Null);
        let subtype = msg
            .pointer("/request/subtype")
            .and_then(Value::as_str)
            .unwrap_or("");
        let response = match subtype {
            "initialize" | "interrupt" => {
                json!({ "subtype": "success", "request_id": request_id, "response": {} })
            }
            other => json!({
                "subtype": "error", "request_id": request_id,
                "error": format!("unsupported control request: {other}")
            }),
        };
        out.send(json!({ "type": "control_response", "response": response }));
        if subtype == "interrupt" {
            self.finish(Err(("aborted_streaming", "interrupted".to_string())), out);
        }
    }
}

impl Server for Claude {
    type Timer = ClaudeTimer;

    fn on_message(&mut self, msg: Value, out: &mut Outbox<ClaudeTimer>) {
        match msg.get("type").and_then(Value::as_str) {
            Some("user") => self.user(&msg, out),
            Some("control_request") => self.control(&msg, out),
            Some("control_response") => {}
            other => eprintln!("courier-fake-agent: ignoring a message of type {other:?}"),
        }
    }

    fn on_timer(&mut self, timer: ClaudeTimer, out: &mut Outbox<ClaudeTimer>) {
        let ClaudeTimer::Answer(turn) = timer;
        let Some(run) = self.running.as_ref().filter(|r| r.turn == turn) else {
            return; // interrupted meanwhile
        };
        let outcome = if run.refused {
            Err(("completed", self.policy.reason().to_string()))
        } else {
            Ok(self.policy.reply(std::slice::from_ref(&run.input)))
        };
        self.finish(outcome, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_a_string_or_text_blocks() {
        assert_eq!(content_text(&json!("hi")), "hi");
        let blocks = json!([{ "type": "text", "text": "a" }, { "type": "image" }, { "type": "text", "text": "b" }]);
        assert_eq!(content_text(&blocks), "a\nb");
        assert_eq!(content_text(&json!(3)), "");
    }
}
