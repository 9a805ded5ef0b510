//! Codex's app server (`codex app-server`, v2 API), the client side, over
//! [`super::jsonrpc`] (Codex leaves the `jsonrpc` member out of what it
//! writes and accepts it in what it reads): the handshake (`initialize`,
//! `initialized`, `thread/start`), one turn at a time (`turn/start`),
//! `turn/interrupt`, and the notifications a turn streams.
//!
//! With its TUI kept, Codex's app server is shared: the TUI is one client
//! and this is a second one that joins the TUI's thread (`thread/loaded/list`)
//! instead of starting its own. A message for a turn that is running (in
//! `immediate` mode) is steered into it (`turn/steer` with the running
//! turn's id, read from `turn/started`); otherwise it starts a turn.
//!
//! What proves a message: the turn `turn/start` answered with shows this
//! exact text as one of its `userMessage` items (`item/started` or
//! `item/completed` with that `turnId`), then `turn/completed` ends that
//! turn. Codex 0.171.0 offline, read here: the `userMessage` item comes at
//! once, then the turn waits for the network (`error` notifications with
//! `willRetry`), so a turn that never ends leaves its delivery `injected`
//! until it is interrupted.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::{Mutex, broadcast, mpsc, watch};

use super::codex_wire::{TurnNote, first_thread, input_text, parse_update, turn_note};
use super::jsonrpc::{
    AgentInput, AgentOutput, Answer, Connection, Handler, Incoming, expect_result,
};
use super::turn::{PromptAnswer, Update};

/// The turn notifications of a joined thread: not yet ours, ours, or not
/// to be had by `thread/resume` (a server that sends them to every client).
const UNSUBSCRIBED: u8 = 0;
const SUBSCRIBED: u8 = 1;
const NO_RESUME: u8 = 2;
/// How long the first turn's rollout may take to appear for `thread/resume`.
const ROLLOUT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Turn notes a follower may fall behind (each turn has a handful).
const TURN_NOTES: usize = 4096;

/// How long a client joining a TUI's app server waits for its thread.
const JOIN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// One Codex app-server connection and its thread.
pub struct CodexClient {
    rpc: Connection,
    /// Joins the thread the TUI started instead of starting one.
    joins: bool,
    /// A joining client gets the thread's turn notifications once it
    /// resumed the thread (Codex: possible once the thread's rollout
    /// exists, i.e. after its first turn started).
    subscription: std::sync::atomic::AtomicU8,
    thread: watch::Sender<Option<String>>,
    /// The turn running on the thread, whoever started it (`turn/started`
    /// until its `turn/completed`): what a steered message joins.
    active: Arc<std::sync::Mutex<Option<String>>>,
    /// The turn running, as `turn/start` named it (for `turn/interrupt`).
    running: Arc<std::sync::Mutex<Option<String>>>,
    /// Every turn note, to each pending turn that follows one (a steered
    /// message follows the same turn as the message that started it).
    notes: broadcast::Sender<TurnNote>,
    updates: Mutex<mpsc::UnboundedReceiver<Update>>,
    turn: watch::Sender<bool>,
}

/// A `turn/start` written, its turn's end to come.
pub struct PendingTurn<'a> {
    client: &'a CodexClient,
    answer: tokio::sync::oneshot::Receiver<Answer>,
    notes: broadcast::Receiver<TurnNote>,
    /// Written as `turn/steer`: refused, it was not taken (the turn ended).
    steered: bool,
    text: String,
}

impl CodexClient {
    /// A client on a headless agent's stdio (nothing is sent yet).
    pub fn new(stdin: AgentInput, stdout: AgentOutput) -> CodexClient {
        CodexClient::connected(stdin, stdout, false)
    }

    /// A second client of the app server a TUI uses: its handshake joins
    /// the TUI's thread.
    pub fn joining(input: AgentInput, output: AgentOutput) -> CodexClient {
        CodexClient::connected(input, output, true)
    }

    fn connected(stdin: AgentInput, stdout: AgentOutput, joins: bool) -> CodexClient {
        let (rpc, incoming) = Connection::start(stdin, stdout, server_requests());
        let (notes, _) = broadcast::channel(TURN_NOTES);
        let (updates_tx, updates) = mpsc::unbounded_channel();
        let active = Arc::default();
        tokio::spawn(route(
            incoming,
            notes.clone(),
            updates_tx,
            Arc::clone(&active),
        ));
        CodexClient {
            rpc,
            joins,
            subscription: std::sync::atomic::AtomicU8::new(if joins {
                UNSUBSCRIBED
            } else {
                SUBSCRIBED
            }),
            thread: watch::channel(None).0,
            active,
            running: Arc::default(),
            notes,
            updates: Mutex::new(updates),
            turn: watch::channel(false).0,
        }
    }

    /// `initialize`, `initialized`, then `thread/start` in `cwd` with no
    /// approvals asked (nobody is there to answer them): the thread's id.
    pub async fn handshake(&self, cwd: &str) -> Result<String, String> {
        let init = json!({
            "clientInfo": {"name": "courier", "version": env!("CARGO_PKG_VERSION")}
        });
        expect_result("initialize", self.rpc.call("initialize", init).await)?;
        self.rpc.notify("initialized", json!({})).await?;
        if self.joins {
            let id = self.join().await?;
            self.thread.send_replace(Some(id.clone()));
            return Ok(id);
        }
        let start = json!({"cwd": cwd, "approvalPolicy": "never"});
        let result = expect_result("thread/start", self.rpc.call("thread/start", start).await)?;
        let id = result
            .pointer("/thread/id")
            .and_then(Value::as_str)
            .ok_or("thread/start answered no thread id")?
            .to_string();
        self.thread.send_replace(Some(id.clone()));
        Ok(id)
    }

    /// The thread the TUI started, once it has one (`thread/loaded/list`).
    async fn join(&self) -> Result<String, String> {
        let deadline = tokio::time::Instant::now() + JOIN_WAIT;
        loop {
            let listed = expect_result(
                "thread/loaded/list",
                self.rpc.call("thread/loaded/list", json!({})).await,
            )?;
            if let Some(id) = first_thread(&listed) {
                return Ok(id);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "the app server had no thread after {} s (the TUI did not start one)",
                    JOIN_WAIT.as_secs()
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// `thread/resume` of the joined thread, which subscribes this
    /// connection to its turns; `Err` says why not (no rollout yet).
    async fn subscribe(&self, thread: &str) -> Result<(), String> {
        use std::sync::atomic::Ordering::SeqCst;
        if self.subscription.load(SeqCst) != UNSUBSCRIBED {
            return Ok(());
        }
        let params = json!({"threadId": thread, "excludeTurns": true});
        match self.rpc.call("thread/resume", params).await {
            Answer::Result(_) => {
                self.subscription.store(SUBSCRIBED, SeqCst);
                Ok(())
            }
            Answer::Error { message, .. } if message.contains("no rollout") => Err(message),
            Answer::Error { message, .. } => {
                tracing::debug!(%message, "thread/resume refused; following what the server sends");
                self.subscription.store(NO_RESUME, SeqCst);
                Ok(())
            }
            Answer::Closed { why } => Err(why),
        }
    }

    /// After the first turn started: subscribes (its rollout appears
    /// moments later), then reads what this turn showed meanwhile.
    async fn catch_up(&self, thread: &str, turn: &str, text: &str) -> Option<Caught> {
        use std::sync::atomic::Ordering::SeqCst;
        if self.subscription.load(SeqCst) != UNSUBSCRIBED {
            return None;
        }
        let deadline = tokio::time::Instant::now() + ROLLOUT_WAIT;
        while let Err(why) = self.subscribe(thread).await {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(%why, "cannot follow the joined thread's turns");
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let params = json!({"threadId": thread, "includeTurns": true});
        let read = expect_result("thread/read", self.rpc.call("thread/read", params).await).ok()?;
        let found = read
            .pointer("/thread/turns")?
            .as_array()?
            .iter()
            .find(|t| t.get("id").and_then(Value::as_str) == Some(turn))?;
        let shown = found
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|item| {
                item.get("type").and_then(Value::as_str) == Some("userMessage")
                    && input_text(item.get("content").unwrap_or(&Value::Null)) == text
            });
        let status = found.get("status").and_then(Value::as_str).unwrap_or("");
        let ended = (status != "inProgress" && !status.is_empty()).then(|| {
            (
                status.to_string(),
                found
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
        });
        Some(Caught { shown, ended })
    }

    fn thread(&self) -> Option<String> {
        self.thread.borrow().clone()
    }

    /// Whether a turn runs, kept current.
    pub fn turn(&self) -> watch::Receiver<bool> {
        self.turn.subscribe()
    }

    /// Marks a turn running or over.
    pub fn set_turn(&self, running: bool) {
        self.turn.send_replace(running);
    }

    /// Whether the server's output ended, and why.
    pub fn closed(&self) -> Option<String> {
        self.rpc.closed()
    }

    /// Waits until the server's output ended; why.
    pub async fn wait_closed(&self) -> String {
        self.rpc.wait_closed().await
    }

    /// `turn/start` with `text` as one text input, or `turn/steer` into
    /// the running turn when `steer` and one runs. `Err`: nothing was
    /// written (no thread, the agent's input closed).
    pub async fn prompt(&self, text: &str, steer: bool) -> Result<PendingTurn<'_>, String> {
        let thread = self
            .thread()
            .ok_or("no Codex thread yet (the handshake did not finish)")?;
        // A joined thread that has had a turn can be subscribed to now.
        if self.joins {
            let _ = self.subscribe(&thread).await;
        }
        // From now on: what an earlier turn left (an interrupted one's end)
        // is not this message's.
        let notes = self.notes.subscribe();
        let input = json!([{"type": "text", "text": text, "text_elements": []}]);
        let running = lock(&self.active).clone().filter(|_| steer);
        let steered = running.is_some();
        let (_, answer) = match running {
            Some(turn) => {
                let params = json!({"threadId": thread, "input": input, "expectedTurnId": turn});
                self.rpc.send("turn/steer", params).await?
            }
            None => {
                let params = json!({"threadId": thread, "input": input});
                self.rpc.send("turn/start", params).await?
            }
        };
        Ok(PendingTurn {
            client: self,
            answer,
            notes,
            steered,
            text: text.to_string(),
        })
    }

    /// `turn/interrupt` of the running turn; `Err` when the server refused
    /// it (`turn/completed` then says the turn ended).
    pub async fn cancel(&self) -> Result<(), String> {
        // Ours, else the one running on the thread (a person's, in the TUI).
        let turn = lock(&self.running)
            .clone()
            .or_else(|| lock(&self.active).clone());
        let (Some(thread), Some(turn)) = (self.thread(), turn) else {
            return Ok(());
        };
        let params = json!({"threadId": thread, "turnId": turn});
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            self.rpc.call("turn/interrupt", params),
        )
        .await
        .map_err(|_| "turn/interrupt: no answer within 5 s".to_string())?;
        expect_result("turn/interrupt", answer).map(drop)
    }

    /// Whether a turn runs on the thread that a message could be steered
    /// into (`turn/steer`).
    pub fn can_steer(&self) -> bool {
        lock(&self.active).is_some()
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
}

impl PendingTurn<'_> {
    /// How the turn that `turn/start` answered with ended: proven only when
    /// it showed this exact text as a `userMessage` before it completed.
    pub async fn answer(self) -> PromptAnswer {
        let PendingTurn {
            client,
            answer,
            mut notes,
            steered,
            text,
        } = self;
        let turn = match answer.await {
            // `turn/start` answers the turn, `turn/steer` the turn's id.
            Ok(Answer::Result(result)) => match result
                .pointer("/turn/id")
                .or_else(|| result.get("turnId"))
                .and_then(Value::as_str)
            {
                Some(id) => id.to_string(),
                None => return PromptAnswer::Error("the server answered no turn id".into()),
            },
            Ok(Answer::Error { code, message }) if steered => {
                return PromptAnswer::NotTaken(format!(
                    "turn/steer refused ({message}, code {code}): the turn had ended"
                ));
            }
            Ok(Answer::Error { code, message }) => {
                return PromptAnswer::Error(format!("{message} (code {code})"));
            }
            Ok(Answer::Closed { why }) => return PromptAnswer::Closed(why),
            Err(_) => return PromptAnswer::Closed("the connection's reader ended".into()),
        };
        *lock(&client.running) = Some(turn.clone());
        let caught = match client.thread() {
            Some(thread) => client.catch_up(&thread, &turn, &text).await,
            None => None,
        };
        let answer = match caught {
            Some(Caught {
                shown,
                ended: Some((status, error)),
            }) => answer_of(shown, &status, error),
            Some(Caught { shown, ended: None }) => {
                follow(client, &mut notes, &turn, &text, shown).await
            }
            None => follow(client, &mut notes, &turn, &text, false).await,
        };
        *lock(&client.running) = None;
        answer
    }
}

/// What a late subscriber read of a turn: whether it showed the text, and
/// its end (status, error) if it ended.
struct Caught {
    shown: bool,
    ended: Option<(String, Option<String>)>,
}

/// Reads the turn's notes until it ends (`shown`: the text was seen).
async fn follow(
    client: &CodexClient,
    notes: &mut broadcast::Receiver<TurnNote>,
    turn: &str,
    text: &str,
    mut shown: bool,
) -> PromptAnswer {
    loop {
        let note = match notes.recv().await {
            Ok(note) => note,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "turn notes were missed; following on");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => {
                let why = client.closed();
                return PromptAnswer::Closed(why.unwrap_or_else(|| "the output ended".into()));
            }
        };
        match note {
            TurnNote::UserMessage {
                turn: t,
                text: shown_text,
            } if t == turn => shown |= shown_text == text,
            TurnNote::Completed {
                turn: t,
                status,
                error,
            } if t == turn => return answer_of(shown, &status, error),
            _ => {}
        }
    }
}

/// A turn's end → the answer, given whether it showed this message.
fn answer_of(shown: bool, status: &str, error: Option<String>) -> PromptAnswer {
    if status == "interrupted" {
        return PromptAnswer::Stopped("cancelled".into());
    }
    if !shown {
        let mut why = "the turn that turn/start answered with ended without this message \
                       among its userMessage items"
            .to_string();
        if let Some(error) = &error {
            why.push_str(&format!("; the turn failed: {error}"));
        }
        return PromptAnswer::Unproven(why);
    }
    match status {
        "completed" => PromptAnswer::Stopped("end_turn".into()),
        _ => PromptAnswer::TurnFailed(error.unwrap_or_else(|| format!("the turn ended {status}"))),
    }
}

fn lock(running: &std::sync::Mutex<Option<String>>) -> std::sync::MutexGuard<'_, Option<String>> {
    // A panic while holding this lock leaves an id that is still whole.
    running.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the server asks of us: an approval is declined (the thread asks
/// for none; a headless agent acts within what its sandbox allows),
/// nothing else is offered.
fn server_requests() -> Handler {
    Box::new(|incoming| {
        if incoming.method.ends_with("requestApproval") {
            Ok(json!({"decision": "decline"}))
        } else {
            Err((-32601, format!("Method not found: {}", incoming.method)))
        }
    })
}

/// Sorts the server's notifications: what ends or proves a turn, and what
/// a transcript keeps.
async fn route(
    mut incoming: mpsc::UnboundedReceiver<Incoming>,
    notes: broadcast::Sender<TurnNote>,
    updates: mpsc::UnboundedSender<Update>,
    active: Arc<std::sync::Mutex<Option<String>>>,
) {
    while let Some(notification) = incoming.recv().await {
        let turn_id = || {
            notification
                .params
                .pointer("/turn/id")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match notification.method.as_str() {
            "turn/started" => *lock(&active) = turn_id(),
            "turn/completed" => {
                let mut active = lock(&active);
                if *active == turn_id() {
                    *active = None;
                }
            }
            _ => {}
        }
        if let Some(note) = turn_note(&notification) {
            let _ = notes.send(note);
        } else if let Some(update) = parse_update(&notification) {
            let _ = updates.send(update);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_turn_that_showed_the_text_is_proven() {
        assert_eq!(
            answer_of(true, "completed", None),
            PromptAnswer::Stopped("end_turn".into())
        );
        assert!(matches!(
            answer_of(false, "completed", None),
            PromptAnswer::Unproven(_)
        ));
        assert_eq!(
            answer_of(true, "failed", Some("not today".into())),
            PromptAnswer::TurnFailed("not today".into())
        );
        assert_eq!(
            answer_of(false, "interrupted", None),
            PromptAnswer::Stopped("cancelled".into())
        );
    }
}
