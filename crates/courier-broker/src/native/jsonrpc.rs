//! JSON-RPC 2.0 over a child's stdio, or a WebSocket bridged to lines
//! (`websocket.rs`): one JSON object per line.
//!
//! Requests get ids of their own and their answers come back on a
//! `oneshot`; notifications go to one queue; requests from the agent
//! (permission asks, file reads) are answered at once by a handler so the
//! agent never waits on us. The end of the child's output fails every
//! request still waiting ([`Answer::Closed`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, mpsc, oneshot, watch};

/// The longest line read from the agent (a reply with a large file).
pub(super) const MAX_LINE: usize = 16 * 1024 * 1024;

/// What the agent writes: its stdout, or a WebSocket's frames as lines.
pub type AgentOutput = Box<dyn AsyncRead + Send + Unpin>;
/// What the agent reads: its stdin, or a WebSocket taking lines as frames.
pub type AgentInput = Box<dyn AsyncWrite + Send + Unpin>;

/// How a request ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Its `result`.
    Result(Value),
    /// Its `error`: code and message.
    Error { code: i64, message: String },
    /// The agent's output ended (or could not be read) first.
    Closed { why: String },
}

/// A request or notification from the agent: `method`, `params`.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub method: String,
    pub params: Value,
}

/// Answers a request from the agent: its result, or an error (code, message).
pub type Handler = Box<dyn Fn(&Incoming) -> Result<Value, (i64, String)> + Send + Sync>;

/// One JSON-RPC connection over a child's stdin and stdout.
pub struct Connection {
    stdin: Arc<Mutex<Option<AgentInput>>>,
    next_id: AtomicU64,
    pending: Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Answer>>>>,
    closed: watch::Receiver<Option<String>>,
}

impl Connection {
    /// Starts reading `stdout`; notifications go to the returned queue,
    /// the agent's requests to `handler`.
    pub fn start(
        stdin: AgentInput,
        stdout: AgentOutput,
        handler: Handler,
    ) -> (Connection, mpsc::UnboundedReceiver<Incoming>) {
        let (notify_tx, notify_rx) = mpsc::unbounded_channel();
        let (closed_tx, closed) = watch::channel(None);
        let conn = Connection {
            stdin: Arc::new(Mutex::new(Some(stdin))),
            next_id: AtomicU64::new(1),
            pending: Arc::new(std::sync::Mutex::new(HashMap::new())),
            closed,
        };
        let reader = Reader {
            stdin: conn.stdin.clone(),
            pending: conn.pending.clone(),
            notify: notify_tx,
            handler,
            closed: closed_tx,
        };
        tokio::spawn(reader.run(stdout));
        (conn, notify_rx)
    }

    /// Whether the agent's output ended, and why.
    pub fn closed(&self) -> Option<String> {
        self.closed.borrow().clone()
    }

    /// Waits until the agent's output ended; why.
    pub async fn wait_closed(&self) -> String {
        wait_closed(self.closed.clone()).await
    }

    /// Writes a request; the receiver gets its answer. `Err` when nothing
    /// could be written (the agent's input is closed): it never saw it.
    pub async fn send(
        &self,
        method: &str,
        params: Value,
    ) -> Result<(u64, oneshot::Receiver<Answer>), String> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        self.lock_pending().insert(id, tx);
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let Err(why) = self.write(&line).await {
            self.lock_pending().remove(&id);
            return Err(why);
        }
        // The reader may have ended between the insert and now.
        if let Some(why) = self.closed()
            && let Some(tx) = self.lock_pending().remove(&id)
        {
            let _ = tx.send(Answer::Closed { why });
        }
        Ok((id, rx))
    }

    /// A request and its answer.
    pub async fn call(&self, method: &str, params: Value) -> Answer {
        match self.send(method, params).await {
            Ok((_, rx)) => rx.await.unwrap_or_else(|_| Answer::Closed {
                why: "the connection's reader ended".into(),
            }),
            Err(why) => Answer::Closed { why },
        }
    }

    /// Writes a notification.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), String> {
        self.write(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await
    }

    async fn write(&self, message: &Value) -> Result<(), String> {
        write_line(&self.stdin, message).await
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Answer>>> {
        lock(&self.pending)
    }
}

/// Waits until `closed` holds why the output ended.
pub(super) async fn wait_closed(mut closed: watch::Receiver<Option<String>>) -> String {
    loop {
        if let Some(why) = closed.borrow_and_update().clone() {
            return why;
        }
        if closed.changed().await.is_err() {
            return "the connection's reader ended".into();
        }
    }
}

/// A request's result, or why there is none, naming `method`.
pub fn expect_result(method: &str, answer: Answer) -> Result<Value, String> {
    match answer {
        Answer::Result(result) => Ok(result),
        Answer::Error { code, message } => Err(format!("{method}: {message} (code {code})")),
        Answer::Closed { why } => Err(format!("{method}: {why}")),
    }
}

type Pending = std::sync::Mutex<HashMap<u64, oneshot::Sender<Answer>>>;

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Answer>>> {
    // A panic while holding this lock leaves a map that is still whole.
    pending.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) async fn write_line(
    stdin: &Mutex<Option<AgentInput>>,
    message: &Value,
) -> Result<(), String> {
    let mut line = message.to_string();
    line.push('\n');
    let mut stdin = stdin.lock().await;
    let Some(pipe) = stdin.as_mut() else {
        return Err("the agent's input is closed".into());
    };
    let written = async {
        pipe.write_all(line.as_bytes()).await?;
        pipe.flush().await
    }
    .await;
    if let Err(e) = written {
        *stdin = None;
        return Err(format!("writing to the agent's input failed: {e}"));
    }
    Ok(())
}

/// The agent's next output line into `line` (cleared first); `Err` says
/// why there is none: the output ended, could not be read, or a line was
/// longer than [`MAX_LINE`]. Every protocol's reader reads through this.
pub(super) async fn next_line(
    lines: &mut BufReader<AgentOutput>,
    line: &mut String,
) -> Result<(), String> {
    line.clear();
    match lines.read_line(line).await {
        Ok(0) => Err("the agent's output ended".to_string()),
        Ok(_) if line.len() > MAX_LINE => Err("a line longer than 16 MiB".to_string()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("reading the agent's output failed: {e}")),
    }
}

/// The task that reads the agent's output.
struct Reader {
    stdin: Arc<Mutex<Option<AgentInput>>>,
    pending: Arc<Pending>,
    notify: mpsc::UnboundedSender<Incoming>,
    handler: Handler,
    closed: watch::Sender<Option<String>>,
}

impl Reader {
    async fn run(self, stdout: AgentOutput) {
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        let why = loop {
            if let Err(why) = next_line(&mut lines, &mut line).await {
                break why;
            }
            self.handle(line.trim()).await;
        };
        self.closed.send_replace(Some(why.clone()));
        for (_, tx) in lock(&self.pending).drain() {
            let _ = tx.send(Answer::Closed { why: why.clone() });
        }
    }

    async fn handle(&self, line: &str) {
        if line.is_empty() {
            return;
        }
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            tracing::debug!(%line, "not JSON-RPC; ignored");
            return;
        };
        let method = message.get("method").and_then(Value::as_str);
        let id = message.get("id").filter(|id| !id.is_null()).cloned();
        match (method, id) {
            (Some(method), Some(id)) => self.answer(method, id, &message).await,
            (Some(method), None) => {
                let _ = self.notify.send(Incoming {
                    method: method.to_string(),
                    params: message.get("params").cloned().unwrap_or(Value::Null),
                });
            }
            (None, Some(id)) => self.resolve(&id, &message),
            (None, None) => tracing::debug!(%line, "neither a request nor an answer; ignored"),
        }
    }

    /// A request from the agent, answered at once.
    async fn answer(&self, method: &str, id: Value, message: &Value) {
        let incoming = Incoming {
            method: method.to_string(),
            params: message.get("params").cloned().unwrap_or(Value::Null),
        };
        let reply = match (self.handler)(&incoming) {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, text)) => {
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": text}})
            }
        };
        if let Err(e) = write_line(&self.stdin, &reply).await {
            tracing::debug!(error = %e, %method, "cannot answer the agent's request");
        }
    }

    /// The answer to one of our requests.
    fn resolve(&self, id: &Value, message: &Value) {
        let Some(id) = id.as_u64() else {
            return;
        };
        let Some(tx) = lock(&self.pending).remove(&id) else {
            return;
        };
        let answer = match message.get("error") {
            Some(error) => Answer::Error {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)")
                    .to_string(),
            },
            None => Answer::Result(message.get("result").cloned().unwrap_or(Value::Null)),
        };
        let _ = tx.send(answer);
    }
}
