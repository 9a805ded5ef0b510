//! `--protocol acp`: an agent of the Agent Client Protocol (v1) over stdio, as `gemini --acp`
//! serves it. See `protocols/acp/README.md` for the sources.
//!
//! - `initialize` answers protocol version 1, the agent's capabilities and `agentInfo`.
//! - `session/new` answers a `sessionId`, then (as Gemini CLI does) sends an
//!   `available_commands_update`.
//! - `session/prompt` starts a turn. ACP has no "turn started" message: the first sign is the
//!   `agent_thought_chunk` sent at once; after the think time an `agent_message_chunk` carries the
//!   reply and the prompt's response ends the turn with `stopReason: "end_turn"`.
//! - With `--tool-call TITLE`, an answered turn first runs a tool: a `tool_call` (kind
//!   `execute`, status `in_progress`) and its `tool_call_update` (status `completed`), both
//!   before the reply chunk.
//! - `session/cancel` (a notification) ends the running turn with `stopReason: "cancelled"`.
//! - A `session/prompt` while a turn runs first ends the running one `cancelled`, then starts its
//!   own: Gemini CLI's `Session.prompt` aborts its pending prompt (`pendingPrompt?.abort()`).

use serde_json::{Value, json};

use super::jsonrpc::{Envelope, INTERNAL_ERROR, INVALID_PARAMS, Incoming, METHOD_NOT_FOUND};
use super::policy::{Accepted, CRASH_CODE, Policy, transcript_failed};
use super::runner::{Outbox, Server, Timer};

const RPC: Envelope = Envelope::Versioned;
/// The ACP major version this agent speaks.
const PROTOCOL_VERSION: u64 = 1;

/// A prompt turn being worked on.
struct Running {
    request: Value,
    session: String,
    turn: u64,
    input: String,
    refused: bool,
}

pub enum AcpTimer {
    /// The think time of turn N is over.
    Answer(u64),
}

impl Timer for AcpTimer {
    fn is_think(&self) -> bool {
        true
    }
}

pub struct Acp {
    policy: Policy,
    sessions: Vec<String>,
    running: Option<Running>,
    turns: u64,
}

impl Acp {
    pub fn new(policy: Policy) -> Self {
        Acp {
            policy,
            sessions: Vec::new(),
            running: None,
            turns: 0,
        }
    }

    fn update(session: &str, update: Value) -> Value {
        RPC.notification(
            "session/update",
            json!({ "sessionId": session, "update": update }),
        )
    }

    fn text_chunk(kind: &str, text: &str) -> Value {
        json!({ "sessionUpdate": kind, "content": { "type": "text", "text": text } })
    }

    /// The tool call of turn `turn` titled `title`: started, then completed.
    fn tool_call(session: &str, turn: u64, title: &str, out: &mut Outbox<AcpTimer>) {
        let id = format!("call_{turn}");
        out.send(Self::update(
            session,
            json!({
                "sessionUpdate": "tool_call",
                "toolCallId": id,
                "title": title,
                "kind": "execute",
                "status": "in_progress"
            }),
        ));
        out.send(Self::update(
            session,
            json!({ "sessionUpdate": "tool_call_update", "toolCallId": id, "status": "completed" }),
        ));
    }

    fn initialize(&self, id: &Value, params: &Value, out: &mut Outbox<AcpTimer>) {
        // Version negotiation: the client's version if we support it, else our latest.
        let asked = params.get("protocolVersion").and_then(Value::as_u64);
        let version = asked
            .filter(|&v| v == PROTOCOL_VERSION)
            .unwrap_or(PROTOCOL_VERSION);
        out.send(RPC.result(
            id,
            json!({
                "protocolVersion": version,
                "agentCapabilities": {
                    "loadSession": false,
                    "promptCapabilities": { "image": false, "audio": false, "embeddedContext": false },
                    "mcpCapabilities": { "http": false, "sse": false }
                },
                "authMethods": [],
                "agentInfo": {
                    "name": "courier-fake-agent",
                    "title": "Courier fake agent",
                    "version": env!("CARGO_PKG_VERSION")
                }
            }),
        ));
    }

    fn new_session(&mut self, id: &Value, out: &mut Outbox<AcpTimer>) {
        let session = format!("sess_{}", self.sessions.len() + 1);
        self.sessions.push(session.clone());
        out.send(RPC.result(id, json!({ "sessionId": session })));
        out.send(Self::update(
            &session,
            json!({ "sessionUpdate": "available_commands_update", "availableCommands": [] }),
        ));
    }

    /// Ends the running turn (if any) with `stop_reason`, after an optional last message chunk.
    fn finish(&mut self, stop_reason: &str, chunk: Option<&str>, out: &mut Outbox<AcpTimer>) {
        let Some(run) = self.running.take() else {
            return;
        };
        if let Some(text) = chunk {
            out.send(Self::update(
                &run.session,
                Self::text_chunk("agent_message_chunk", text),
            ));
        }
        out.send(RPC.result(&run.request, json!({ "stopReason": stop_reason })));
        if self.policy.turn_completed() {
            out.close_stdout();
        }
    }

    fn prompt(&mut self, id: &Value, params: &Value, out: &mut Outbox<AcpTimer>) {
        let session = params
            .get("sessionId")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !self.sessions.iter().any(|s| s == session) {
            let msg = format!("Session not found: {session}");
            out.send(RPC.error(id, INVALID_PARAMS, &msg));
            return;
        }
        let session = session.to_string();
        // The prompt's text blocks, concatenated as Gemini CLI does; other blocks are ignored.
        let input: String = params
            .get("prompt")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect();
        // A new prompt aborts the pending one.
        self.finish("cancelled", None, out);
        if self.policy.refuses_request(&input) {
            out.send(RPC.error(id, INTERNAL_ERROR, self.policy.reason()));
            return;
        }
        self.turns += 1;
        let turn = format!("turn-{}", self.turns);
        let refused = self.policy.refuses(&input);
        let accepted = Accepted {
            text: &input,
            via: "session/prompt",
            turn: Some(&turn),
            refused,
        };
        let n = match self.policy.accept(&accepted) {
            Ok(n) => n,
            Err(e) => return out.exit(transcript_failed(&e)),
        };
        out.send(Self::update(
            &session,
            Self::text_chunk("agent_thought_chunk", &format!("**Thinking**\n{input}")),
        ));
        if self.policy.crashes_at(n) {
            return out.exit(CRASH_CODE);
        }
        self.running = Some(Running {
            request: id.clone(),
            session,
            turn: self.turns,
            input,
            refused,
        });
        out.timer(self.policy.settings.think, AcpTimer::Answer(self.turns));
    }

    fn cancel(&mut self, params: &Value, out: &mut Outbox<AcpTimer>) {
        let session = params.get("sessionId").and_then(Value::as_str);
        if self.running.as_ref().map(|r| r.session.as_str()) == session {
            self.finish("cancelled", None, out);
        }
    }
}

impl Server for Acp {
    type Timer = AcpTimer;

    fn on_message(&mut self, msg: Value, out: &mut Outbox<AcpTimer>) {
        match Incoming::parse(msg) {
            Incoming::Request { id, method, params } => match method.as_str() {
                "initialize" => self.initialize(&id, &params, out),
                "authenticate" => out.send(RPC.result(&id, json!({}))),
                "session/new" => self.new_session(&id, out),
                "session/prompt" => self.prompt(&id, &params, out),
                _ => out.send(RPC.error(
                    &id,
                    METHOD_NOT_FOUND,
                    &format!("Method not found: {method}"),
                )),
            },
            Incoming::Notification { method, params } => {
                if method == "session/cancel" {
                    self.cancel(&params, out);
                }
            }
            Incoming::Other => {}
        }
    }

    fn on_timer(&mut self, timer: AcpTimer, out: &mut Outbox<AcpTimer>) {
        let AcpTimer::Answer(turn) = timer;
        let Some(run) = self.running.as_ref().filter(|r| r.turn == turn) else {
            return; // cancelled meanwhile
        };
        if run.refused {
            let reason = self.policy.reason().to_string();
            self.finish("refusal", Some(&reason), out);
        } else {
            if let Some(title) = &self.policy.settings.tool_call {
                Self::tool_call(&run.session, run.turn, title, out);
            }
            let reply = self.policy.reply(std::slice::from_ref(&run.input));
            self.finish("end_turn", Some(&reply), out);
        }
    }
}
