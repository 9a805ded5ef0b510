//! The Agent Client Protocol (v1) client side, over [`super::jsonrpc`]:
//! the handshake (`initialize`, `session/new`), one prompt turn at a time
//! (`session/prompt` → `stopReason`), `session/cancel`, and the
//! `session/update` notifications a turn streams (message chunks, tool
//! calls) as [`Update`]s.
//!
//! The `agent-client-protocol` crate was considered: its futures are
//! `!Send` (a `LocalSet` per agent) over the `futures` I/O traits, for five
//! methods this file speaks directly.

use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot, watch};

use super::jsonrpc::{
    AgentInput, AgentOutput, Answer, Connection, Handler, Incoming, expect_result,
};
use super::turn::{PromptAnswer, Update};

/// The ACP major version spoken.
pub const PROTOCOL_VERSION: u64 = 1;

/// A prompt written, its answer to come.
pub struct PendingPrompt {
    answer: oneshot::Receiver<Answer>,
}

impl PendingPrompt {
    pub async fn answer(self) -> PromptAnswer {
        match self.answer.await {
            Ok(Answer::Result(result)) => PromptAnswer::Stopped(
                result
                    .get("stopReason")
                    .and_then(Value::as_str)
                    .unwrap_or("end_turn")
                    .to_string(),
            ),
            Ok(Answer::Error { code, message }) => {
                PromptAnswer::Error(format!("{message} (code {code})"))
            }
            Ok(Answer::Closed { why }) => PromptAnswer::Closed(why),
            Err(_) => PromptAnswer::Closed("the connection's reader ended".into()),
        }
    }
}

/// One agent's ACP connection and its session.
pub struct AcpClient {
    rpc: Connection,
    session: watch::Sender<Option<String>>,
    updates: Mutex<mpsc::UnboundedReceiver<Incoming>>,
    /// A prompt turn is running.
    turn: watch::Sender<bool>,
}

impl AcpClient {
    /// A client on a headless agent's stdio (nothing is sent yet).
    pub fn new(stdin: AgentInput, stdout: AgentOutput) -> AcpClient {
        let (rpc, updates) = Connection::start(stdin, stdout, agent_requests());
        AcpClient {
            rpc,
            session: watch::channel(None).0,
            updates: Mutex::new(updates),
            turn: watch::channel(false).0,
        }
    }

    /// `initialize` then `session/new` in `cwd`: the session prompts go to.
    pub async fn handshake(&self, cwd: &str) -> Result<String, String> {
        let init = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "clientCapabilities": {
                "fs": {"readTextFile": false, "writeTextFile": false},
                "terminal": false
            },
            "clientInfo": {"name": "courier", "version": env!("CARGO_PKG_VERSION")}
        });
        expect_result("initialize", self.rpc.call("initialize", init).await)?;
        let new = json!({"cwd": cwd, "mcpServers": []});
        let result = expect_result("session/new", self.rpc.call("session/new", new).await)?;
        let id = result
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or("session/new answered no sessionId")?
            .to_string();
        self.session.send_replace(Some(id.clone()));
        Ok(id)
    }

    /// The session, once the handshake is done.
    pub fn session(&self) -> Option<String> {
        self.session.borrow().clone()
    }

    /// Whether a prompt turn runs, kept current.
    pub fn turn(&self) -> watch::Receiver<bool> {
        self.turn.subscribe()
    }

    /// Whether the agent's output ended, and why.
    pub fn closed(&self) -> Option<String> {
        self.rpc.closed()
    }

    /// Waits until the agent's output ended; why.
    pub async fn wait_closed(&self) -> String {
        self.rpc.wait_closed().await
    }

    /// Writes `session/prompt` with `text` as one text block. `Err`: nothing
    /// was written (no session, the agent's input closed).
    pub async fn prompt(&self, text: &str) -> Result<PendingPrompt, String> {
        let session = self
            .session()
            .ok_or("no ACP session yet (the handshake did not finish)")?;
        let params = json!({
            "sessionId": session,
            "prompt": [{"type": "text", "text": text}]
        });
        let (_, answer) = self.rpc.send("session/prompt", params).await?;
        Ok(PendingPrompt { answer })
    }

    /// Marks a turn running or over (the delivery that prompted it knows).
    pub fn set_turn(&self, running: bool) {
        self.turn.send_replace(running);
    }

    /// `session/cancel` of the running turn.
    pub async fn cancel(&self) -> Result<(), String> {
        let Some(session) = self.session() else {
            return Ok(());
        };
        self.rpc
            .notify("session/cancel", json!({"sessionId": session}))
            .await
    }

    /// Drops what was streamed before now (between turns).
    pub async fn drain_updates(&self) {
        let mut updates = self.updates.lock().await;
        while updates.try_recv().is_ok() {}
    }

    /// The next update of the running turn; `None` once the output ended.
    pub async fn next_update(&self) -> Option<Update> {
        let mut updates = self.updates.lock().await;
        loop {
            let incoming = updates.recv().await?;
            if let Some(update) = parse_update(&incoming) {
                return Some(update);
            }
        }
    }
}

/// What the agent asks of us: a permission is never granted (a headless
/// agent acts within what its own settings allow), nothing else is offered.
fn agent_requests() -> Handler {
    Box::new(|incoming| match incoming.method.as_str() {
        "session/request_permission" => Ok(json!({"outcome": {"outcome": "cancelled"}})),
        other => Err((-32601, format!("Method not found: {other}"))),
    })
}

/// A `session/update` this client reports; others (thoughts, plans,
/// commands) are left out.
fn parse_update(incoming: &Incoming) -> Option<Update> {
    if incoming.method != "session/update" {
        return None;
    }
    let update = incoming.params.get("update")?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    match update.get("sessionUpdate")?.as_str()? {
        "agent_message_chunk" => {
            let content = update.get("content")?;
            (content.get("type")?.as_str()? == "text")
                .then(|| Update::MessageChunk(text(content, "text").unwrap_or_default()))
        }
        "tool_call" | "tool_call_update" => Some(Update::ToolCall {
            id: text(update, "toolCallId")?,
            title: text(update, "title"),
            status: text(update, "status"),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(value: Value) -> Option<Update> {
        parse_update(&Incoming {
            method: "session/update".into(),
            params: json!({"sessionId": "s", "update": value}),
        })
    }

    #[test]
    fn reads_the_updates_a_transcript_keeps() {
        assert_eq!(
            update(json!({"sessionUpdate": "agent_message_chunk",
                "content": {"type": "text", "text": "hi"}})),
            Some(Update::MessageChunk("hi".into()))
        );
        assert_eq!(
            update(json!({"sessionUpdate": "tool_call", "toolCallId": "t1",
                "title": "Read file", "status": "pending"})),
            Some(Update::ToolCall {
                id: "t1".into(),
                title: Some("Read file".into()),
                status: Some("pending".into())
            })
        );
        assert_eq!(
            update(json!({"sessionUpdate": "agent_thought_chunk",
                "content": {"type": "text", "text": "hmm"}})),
            None
        );
    }
}
