//! Claude Code's stream-json, the client side
//! (`claude -p --input-format stream-json --output-format stream-json
//! --verbose`): a user message is one JSON line on stdin; the CLI writes
//! `system`, `assistant`, `user` and `result` lines, a `result` ending each
//! turn (`is_error` for a failed one). With `--replay-user-messages` it
//! echoes each user line it took (`isReplay`), the only acknowledgement of
//! an input this protocol has: a turn is tied to a message only by that
//! echo of its exact text.
//!
//! The handshake is the `initialize` control request (as the Claude Agent
//! SDK starts it); `interrupt` cancels the running turn.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::io::BufReader;
use tokio::sync::{Mutex, mpsc, oneshot, watch};

use super::jsonrpc::{AgentInput, AgentOutput, next_line, write_line};
use super::turn::{PromptAnswer, Update};

/// What the CLI said about the turns (not the conversation in them).
#[derive(Debug, Clone, PartialEq)]
enum TurnLine {
    /// A user line it took, echoed (`isReplay`): its text.
    Replay(String),
    /// A turn's `result`.
    Result(TurnResult),
}

/// A `result` line.
#[derive(Debug, Clone, PartialEq)]
struct TurnResult {
    is_error: bool,
    /// `terminal_reason`, `subtype`.
    terminal_reason: Option<String>,
    subtype: Option<String>,
    /// `errors` joined, else `result`.
    error: String,
}

type ControlAnswers = std::sync::Mutex<HashMap<String, oneshot::Sender<Result<(), String>>>>;

/// One headless Claude Code's stream-json connection.
pub struct ClaudeClient {
    stdin: Arc<Mutex<Option<AgentInput>>>,
    next_id: AtomicU64,
    control: Arc<ControlAnswers>,
    turns: Mutex<mpsc::UnboundedReceiver<TurnLine>>,
    updates: Mutex<mpsc::UnboundedReceiver<Update>>,
    closed: watch::Receiver<Option<String>>,
    session: watch::Sender<Option<String>>,
    turn: watch::Sender<bool>,
}

/// A user line written, its turn's end to come.
pub struct PendingTurn<'a> {
    client: &'a ClaudeClient,
    text: String,
}

impl ClaudeClient {
    /// A client on a headless agent's stdio (nothing is sent yet).
    pub fn new(stdin: AgentInput, stdout: AgentOutput) -> ClaudeClient {
        let (turns_tx, turns) = mpsc::unbounded_channel();
        let (updates_tx, updates) = mpsc::unbounded_channel();
        let (closed_tx, closed) = watch::channel(None);
        let session = watch::channel(None).0;
        let control = Arc::new(ControlAnswers::default());
        let reader = Reader {
            turns: turns_tx,
            updates: updates_tx,
            control: control.clone(),
            session: session.clone(),
        };
        tokio::spawn(reader.run(stdout, closed_tx));
        ClaudeClient {
            stdin: Arc::new(Mutex::new(Some(stdin))),
            next_id: AtomicU64::new(1),
            control,
            turns: Mutex::new(turns),
            updates: Mutex::new(updates),
            closed,
            session,
            turn: watch::channel(false).0,
        }
    }

    /// The `initialize` control request, answered: the CLI reads its input.
    pub async fn handshake(&self) -> Result<String, String> {
        let answer = self
            .control_request(json!({"subtype": "initialize", "hooks": null}))
            .await?;
        match answer.await {
            Ok(Ok(())) => Ok(self.session().unwrap_or_else(|| "stream-json".into())),
            Ok(Err(e)) => Err(format!("initialize: {e}")),
            Err(_) => Err(format!(
                "initialize: {}",
                self.closed().unwrap_or_else(|| "no answer".into())
            )),
        }
    }

    /// The CLI's session id, once a `system`/`init` line named it.
    pub fn session(&self) -> Option<String> {
        self.session.borrow().clone()
    }

    /// Whether a turn runs, kept current.
    pub fn turn(&self) -> watch::Receiver<bool> {
        self.turn.subscribe()
    }

    /// Marks a turn running or over.
    pub fn set_turn(&self, running: bool) {
        self.turn.send_replace(running);
    }

    /// Whether the CLI's output ended, and why.
    pub fn closed(&self) -> Option<String> {
        self.closed.borrow().clone()
    }

    /// Waits until the agent's output ended; why.
    pub async fn wait_closed(&self) -> String {
        super::jsonrpc::wait_closed(self.closed.clone()).await
    }

    /// Writes `text` as one user message. `Err`: nothing was written.
    pub async fn prompt(&self, text: &str) -> Result<PendingTurn<'_>, String> {
        // What an earlier turn left (an interrupted one's result) is not
        // this message's.
        {
            let mut turns = self.turns.lock().await;
            while turns.try_recv().is_ok() {}
        }
        let line = json!({
            "type": "user",
            "message": {"role": "user", "content": text},
            "parent_tool_use_id": null,
            "session_id": self.session().unwrap_or_else(|| "default".into()),
        });
        write_line(&self.stdin, &line).await?;
        Ok(PendingTurn {
            client: self,
            text: text.to_string(),
        })
    }

    /// The `interrupt` control request (its answer is not awaited: the
    /// turn's `result` says it ended).
    pub async fn cancel(&self) -> Result<(), String> {
        self.control_request(json!({"subtype": "interrupt"}))
            .await
            .map(drop)
    }

    /// Drops what was streamed before now (between turns).
    pub async fn drain_updates(&self) {
        let mut updates = self.updates.lock().await;
        while updates.try_recv().is_ok() {}
    }

    /// The next update of the running turn; `None` once the output ended.
    pub async fn next_update(&self) -> Option<Update> {
        self.updates.lock().await.recv().await
    }

    async fn control_request(
        &self,
        request: Value,
    ) -> Result<oneshot::Receiver<Result<(), String>>, String> {
        let id = format!("req_{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let (tx, rx) = oneshot::channel();
        lock(&self.control).insert(id.clone(), tx);
        let line = json!({"type": "control_request", "request_id": id, "request": request});
        if let Err(why) = write_line(&self.stdin, &line).await {
            lock(&self.control).remove(&id);
            return Err(why);
        }
        Ok(rx)
    }
}

impl PendingTurn<'_> {
    /// How the turn this message started ended: proven only when the CLI
    /// echoed this exact text before the turn's `result`.
    pub async fn answer(self) -> PromptAnswer {
        let mut turns = self.client.turns.lock().await;
        let mut replayed = false;
        loop {
            let Some(line) = turns.recv().await else {
                let why = self.client.closed();
                return PromptAnswer::Closed(why.unwrap_or_else(|| "the output ended".into()));
            };
            match line {
                TurnLine::Replay(text) => replayed |= text == self.text,
                TurnLine::Result(result) => return answer_of(replayed, result),
            }
        }
    }
}

/// A turn's `result` → the answer, given whether this message was echoed.
fn answer_of(replayed: bool, result: TurnResult) -> PromptAnswer {
    let interrupted = result.terminal_reason.as_deref() == Some("aborted_streaming");
    if result.is_error && interrupted {
        return PromptAnswer::Stopped("cancelled".into());
    }
    if !replayed {
        let mut why = "a turn ended with no replay of this message (stream-json acknowledges \
             an input only with --replay-user-messages)"
            .to_string();
        if result.is_error {
            why.push_str(&format!("; the turn failed: {}", result.error));
        }
        return PromptAnswer::Unproven(why);
    }
    if result.is_error {
        let error = if result.error.is_empty() {
            result.subtype.unwrap_or_else(|| "is_error".into())
        } else {
            result.error
        };
        return PromptAnswer::TurnFailed(error);
    }
    PromptAnswer::Stopped("end_turn".into())
}

fn lock(
    control: &ControlAnswers,
) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Result<(), String>>>> {
    // A panic while holding this lock leaves a map that is still whole.
    control.lock().unwrap_or_else(|e| e.into_inner())
}

/// The task that reads the CLI's output.
struct Reader {
    turns: mpsc::UnboundedSender<TurnLine>,
    updates: mpsc::UnboundedSender<Update>,
    control: Arc<ControlAnswers>,
    session: watch::Sender<Option<String>>,
}

impl Reader {
    async fn run(self, stdout: AgentOutput, closed: watch::Sender<Option<String>>) {
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        let why = loop {
            if let Err(why) = next_line(&mut lines, &mut line).await {
                break why;
            }
            self.handle(line.trim());
        };
        closed.send_replace(Some(why.clone()));
        for (_, tx) in lock(&self.control).drain() {
            let _ = tx.send(Err(why.clone()));
        }
        // Dropping the senders ends a turn waiting on them.
    }

    fn handle(&self, line: &str) {
        if line.is_empty() {
            return;
        }
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            tracing::debug!(%line, "not stream-json; ignored");
            return;
        };
        match message.get("type").and_then(Value::as_str) {
            Some("system") => {
                if let Some(id) = message.get("session_id").and_then(Value::as_str) {
                    self.session.send_replace(Some(id.to_string()));
                }
            }
            Some("user") if message.get("isReplay").and_then(Value::as_bool) == Some(true) => {
                let content = message.pointer("/message/content").unwrap_or(&Value::Null);
                let _ = self.turns.send(TurnLine::Replay(content_text(content)));
            }
            Some("assistant") => {
                for update in assistant_updates(&message) {
                    let _ = self.updates.send(update);
                }
            }
            Some("result") => {
                let _ = self.turns.send(TurnLine::Result(result_of(&message)));
            }
            Some("control_response") => self.resolve(&message),
            _ => {}
        }
    }

    fn resolve(&self, message: &Value) {
        let response = message.get("response").unwrap_or(&Value::Null);
        let Some(id) = response.get("request_id").and_then(Value::as_str) else {
            return;
        };
        let Some(tx) = lock(&self.control).remove(id) else {
            return;
        };
        let answer = match response.get("subtype").and_then(Value::as_str) {
            Some("success") => Ok(()),
            _ => Err(response
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("(no error given)")
                .to_string()),
        };
        let _ = tx.send(answer);
    }
}

/// A user message's `content`: a string, or its text blocks one per line.
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

/// An `assistant` message's text and `tool_use` blocks.
fn assistant_updates(message: &Value) -> Vec<Update> {
    let Some(blocks) = message
        .pointer("/message/content")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    blocks
        .iter()
        .filter_map(|block| match block.get("type")?.as_str()? {
            "text" => Some(Update::MessageChunk(
                text(block, "text").unwrap_or_default(),
            )),
            "tool_use" => Some(Update::ToolCall {
                id: text(block, "id")?,
                title: text(block, "name"),
                status: None,
            }),
            _ => None,
        })
        .collect()
}

fn result_of(message: &Value) -> TurnResult {
    let text = |key: &str| message.get(key).and_then(Value::as_str).map(str::to_string);
    let errors = message
        .get("errors")
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|e| !e.is_empty());
    TurnResult {
        is_error: message.get("is_error").and_then(Value::as_bool) == Some(true),
        terminal_reason: text("terminal_reason"),
        subtype: text("subtype"),
        error: errors.or_else(|| text("result")).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(value: Value) -> TurnResult {
        result_of(&value)
    }

    #[test]
    fn only_an_echo_of_the_text_before_the_result_proves_the_turn() {
        let ok = result(
            json!({"type": "result", "subtype": "success", "is_error": false,
            "result": "done"}),
        );
        assert_eq!(
            answer_of(true, ok.clone()),
            PromptAnswer::Stopped("end_turn".into())
        );
        assert!(matches!(answer_of(false, ok), PromptAnswer::Unproven(_)));
    }

    #[test]
    fn an_error_result_is_a_failed_turn_with_its_errors() {
        let failed = result(
            json!({"type": "result", "subtype": "error_during_execution",
            "is_error": true, "errors": ["not today"], "terminal_reason": "completed"}),
        );
        assert_eq!(
            answer_of(true, failed),
            PromptAnswer::TurnFailed("not today".into())
        );
        let interrupted = result(json!({"type": "result", "is_error": true,
            "errors": ["interrupted"], "terminal_reason": "aborted_streaming"}));
        assert_eq!(
            answer_of(true, interrupted),
            PromptAnswer::Stopped("cancelled".into())
        );
    }

    #[test]
    fn reads_assistant_text_and_tool_use() {
        let updates = assistant_updates(&json!({"type": "assistant", "message": {"content": [
            {"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}},
            {"type": "thinking", "thinking": "hmm"}
        ]}}));
        assert_eq!(
            updates,
            vec![
                Update::MessageChunk("hi".into()),
                Update::ToolCall {
                    id: "toolu_1".into(),
                    title: Some("Read".into()),
                    status: None
                }
            ]
        );
    }
}
