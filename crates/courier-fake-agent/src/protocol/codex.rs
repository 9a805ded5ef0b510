//! `--protocol codex-app-server`: Codex's app server (`codex app-server`, stdio transport) —
//! JSON-RPC 2.0 in JSON lines with the `jsonrpc` member left out. See
//! `protocols/codex-app-server/README.md` for the sources.
//!
//! - `initialize` (once; anything else first is refused "Not initialized") → `userAgent`, …;
//!   the client's `initialized` notification is accepted and ignored.
//! - `thread/start` → the thread, then `thread/started`.
//! - `turn/start` on an idle thread → the new turn (`inProgress`), then `thread/status/changed`
//!   (active), `turn/started`, the `userMessage` item (`item/started`, `item/completed`); after
//!   the think time the `agentMessage` item (started, one `item/agentMessage/delta`, completed),
//!   `turn/completed` and `thread/status/changed` (idle).
//! - `turn/steer` (with `expectedTurnId`) adds its input to the running turn: no `turn/started`,
//!   the reply of that turn echoes every input it took. A `turn/start` while a turn runs does the
//!   same, as Codex's core does (`steer_input` first; a new task only with no active turn).
//! - `thread/queue/add` (experimental API) queues a follow-up: a turn of its own once the thread is
//!   idle; `thread/queue/changed` tells of every change. An interrupted turn leaves the queue
//!   paused until `thread/queue/start`.
//! - `turn/interrupt` ends the running turn `interrupted`.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::jsonrpc::{Envelope, INVALID_REQUEST};
use super::policy::{Accepted, CRASH_CODE, Policy, transcript_failed};
use super::runner::{Outbox, Timer};

const RPC: Envelope = Envelope::Bare;

pub enum CodexTimer {
    /// The think time of this turn is over.
    Answer { turn: String },
}

impl Timer for CodexTimer {
    fn is_think(&self) -> bool {
        true
    }
}

struct Active {
    id: String,
    inputs: Vec<String>,
    refused: bool,
    started_at: i64,
    started: std::time::Instant,
}

struct Queued {
    /// The queued submission's id (for a `turn/start`, the turn's).
    id: String,
    client_id: Value,
    input: Value,
    text: String,
    /// Its number among accepted inputs (for `--crash-after`).
    n: usize,
}

struct Thread {
    id: String,
    created_at: i64,
    active: Option<Active>,
    queue: VecDeque<Queued>,
    /// After an interrupt the queue waits for `thread/queue/start`.
    paused: bool,
}

pub struct Codex {
    policy: Policy,
    initialized: bool,
    experimental: bool,
    threads: Vec<Thread>,
    ids: u64,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn cwd() -> String {
    std::env::current_dir().map_or_else(|_| "/".to_string(), |p| p.display().to_string())
}

/// The text of a `UserInput[]`: its text items, one per line.
fn input_text(input: &Value) -> String {
    input
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|i| i.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Codex {
    pub fn new(policy: Policy) -> Self {
        Codex {
            policy,
            initialized: false,
            experimental: false,
            threads: Vec::new(),
            ids: 0,
        }
    }

    pub(super) fn rpc(&self) -> Envelope {
        RPC
    }

    pub(super) fn initialized(&self) -> bool {
        self.initialized
    }

    pub(super) fn set_initialized(&mut self, experimental: bool) {
        self.initialized = true;
        self.experimental = experimental;
    }

    pub(super) fn experimental(&self) -> bool {
        self.experimental
    }

    /// Puts back one connection's handshake (`--listen`: every client has its own).
    pub(super) fn set_handshake(&mut self, initialized: bool, experimental: bool) {
        self.initialized = initialized;
        self.experimental = experimental;
    }

    /// `thread/loaded/list`: the ids of every thread started, oldest first.
    pub(super) fn thread_ids(&self) -> Vec<String> {
        self.threads.iter().map(|t| t.id.clone()).collect()
    }

    /// The thread named by `params.threadId`.
    pub(super) fn thread_of(&self, params: &Value) -> Option<usize> {
        self.thread_index(params)
    }

    /// The thread named by `params.threadId`, if `turn` is its running turn.
    pub(super) fn thread_with_active(&self, params: &Value, turn: &str) -> Option<usize> {
        let t = self.thread_index(params)?;
        self.threads[t]
            .active
            .as_ref()
            .is_some_and(|a| a.id == turn)
            .then_some(t)
    }

    pub(super) fn is_active(&self, t: usize) -> bool {
        self.threads[t].active.is_some()
    }

    pub(super) fn queue_is_empty(&self, t: usize) -> bool {
        self.threads[t].queue.is_empty()
    }

    pub(super) fn queue_json(&self, t: usize) -> Vec<Value> {
        self.threads[t]
            .queue
            .iter()
            .map(|q| json!({ "id": q.id, "input": q.input, "clientUserMessageId": q.client_id }))
            .collect()
    }

    /// `thread/queue/add`: accepted now, a turn of its own once the thread is idle (at once if it
    /// is idle and the queue not paused).
    pub(super) fn queue_add(
        &mut self,
        t: usize,
        id: &Value,
        params: &Value,
        out: &mut Outbox<CodexTimer>,
    ) {
        let input = params.get("input").cloned().unwrap_or_else(|| json!([]));
        let text = input_text(&input);
        if self.policy.refuses_request(&text) {
            return out.send(RPC.error(id, INVALID_REQUEST, self.policy.reason()));
        }
        let n = match self.accept(&text, "thread/queue/add", None, self.policy.refuses(&text)) {
            Ok(n) => n,
            Err(code) => return out.exit(code),
        };
        let client_id = params
            .get("clientUserMessageId")
            .cloned()
            .unwrap_or(Value::Null);
        let q = Queued {
            id: self.next_id("qs"),
            client_id: client_id.clone(),
            input: input.clone(),
            text,
            n,
        };
        let submission = json!({ "id": q.id, "input": input, "clientUserMessageId": client_id });
        self.threads[t].queue.push_back(q);
        out.send(RPC.result(id, json!({ "queuedSubmission": submission })));
        let thread_id = self.threads[t].id.clone();
        out.send(RPC.notification("thread/queue/changed", json!({ "threadId": thread_id })));
        if !self.threads[t].paused {
            self.start_queued(t, None, out);
        }
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.ids += 1;
        format!("{prefix}_{}", self.ids)
    }

    fn thread_json(t: &Thread) -> Value {
        json!({
            "id": t.id, "sessionId": t.id, "forkedFromId": null, "preview": "",
            "ephemeral": true, "modelProvider": "openai", "createdAt": t.created_at,
            "updatedAt": t.created_at, "status": Self::status(t), "path": null, "cwd": cwd(),
            "cliVersion": env!("CARGO_PKG_VERSION"), "source": "appServer", "threadSource": null,
            "agentNickname": null, "agentRole": null, "gitInfo": null, "name": null, "turns": []
        })
    }

    fn status(t: &Thread) -> Value {
        match t.active {
            Some(_) => json!({ "type": "active", "activeFlags": [] }),
            None => json!({ "type": "idle" }),
        }
    }

    fn turn_json(a: &Active, status: &str, error: Option<&str>, now: i64) -> Value {
        let done = status != "inProgress";
        let elapsed = i64::try_from(a.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        json!({
            "id": a.id, "items": [], "status": status,
            "error": error.map(|m| json!({ "message": m, "codexErrorInfo": "other", "additionalDetails": null })),
            "startedAt": a.started_at,
            "completedAt": if done { json!(now) } else { Value::Null },
            "durationMs": if done { json!(elapsed) } else { Value::Null },
        })
    }

    fn item(method: &str, thread: &str, turn: &str, item: Value) -> Value {
        RPC.notification(
            method,
            json!({ "item": item, "threadId": thread, "turnId": turn }),
        )
    }

    fn user_item(&mut self, thread: &str, turn: &str, input: &Value, out: &mut Outbox<CodexTimer>) {
        let item = json!({ "type": "userMessage", "id": self.next_id("item"), "content": input });
        out.send(Self::item("item/started", thread, turn, item.clone()));
        out.send(Self::item("item/completed", thread, turn, item));
    }

    fn thread_index(&self, params: &Value) -> Option<usize> {
        let id = params.get("threadId").and_then(Value::as_str)?;
        self.threads.iter().position(|t| t.id == id)
    }

    fn accept(
        &mut self,
        text: &str,
        via: &str,
        turn: Option<&str>,
        refused: bool,
    ) -> Result<usize, u8> {
        let accepted = Accepted {
            text,
            via,
            turn,
            refused,
        };
        self.policy
            .accept(&accepted)
            .map_err(|e| transcript_failed(&e))
    }

    pub(super) fn thread_start(&mut self, id: &Value, out: &mut Outbox<CodexTimer>) {
        let thread = Thread {
            id: self.next_id("thr"),
            created_at: unix_now(),
            active: None,
            queue: VecDeque::new(),
            paused: false,
        };
        let json = Self::thread_json(&thread);
        out.send(RPC.result(
            id,
            json!({
                "thread": json, "model": "fake-model", "modelProvider": "openai",
                "serviceTier": null, "cwd": cwd(), "instructionSources": [],
                "approvalPolicy": "never", "approvalsReviewer": "user",
                "sandbox": { "type": "dangerFullAccess" }, "reasoningEffort": null
            }),
        ));
        out.send(RPC.notification("thread/started", json!({ "thread": json })));
        self.threads.push(thread);
    }

    /// Starts a turn on idle thread `t` with one input (already accepted as number `n`),
    /// answering `respond` first when the turn came from a request.
    fn begin_turn(
        &mut self,
        t: usize,
        q: Queued,
        turn_id: String,
        respond: Option<&Value>,
        out: &mut Outbox<CodexTimer>,
    ) {
        let refused = self.policy.refuses(&q.text);
        let active = Active {
            id: turn_id,
            inputs: vec![q.text],
            refused,
            started_at: unix_now(),
            started: out.now(),
        };
        let turn = Self::turn_json(&active, "inProgress", None, active.started_at);
        let turn_id = active.id.clone();
        let thread_id = self.threads[t].id.clone();
        self.threads[t].active = Some(active);
        if let Some(id) = respond {
            out.send(RPC.result(id, json!({ "turn": turn })));
        }
        let status = Self::status(&self.threads[t]);
        out.send(RPC.notification(
            "thread/status/changed",
            json!({ "threadId": thread_id, "status": status }),
        ));
        out.send(RPC.notification(
            "turn/started",
            json!({ "threadId": thread_id, "turn": turn }),
        ));
        self.user_item(&thread_id, &turn_id, &q.input, out);
        if self.policy.crashes_at(q.n) {
            return out.exit(CRASH_CODE);
        }
        out.timer(
            self.policy.settings.think,
            CodexTimer::Answer { turn: turn_id },
        );
    }

    pub(super) fn turn_start(&mut self, id: &Value, params: &Value, out: &mut Outbox<CodexTimer>) {
        let Some(t) = self.thread_index(params) else {
            return out.send(RPC.error(id, INVALID_REQUEST, "thread not found"));
        };
        let input = params.get("input").cloned().unwrap_or_else(|| json!([]));
        let text = input_text(&input);
        if self.threads[t].active.is_some() {
            return self.steer(t, id, input, "turn/start", out);
        }
        if self.policy.refuses_request(&text) {
            return out.send(RPC.error(id, INVALID_REQUEST, self.policy.reason()));
        }
        let turn = self.next_id("turn");
        let refused = self.policy.refuses(&text);
        let n = match self.accept(&text, "turn/start", Some(&turn), refused) {
            Ok(n) => n,
            Err(code) => return out.exit(code),
        };
        let q = Queued {
            id: turn.clone(),
            client_id: Value::Null,
            input,
            text,
            n,
        };
        self.begin_turn(t, q, turn, Some(id), out);
    }

    /// Adds an input to thread `t`'s running turn.
    fn steer(
        &mut self,
        t: usize,
        id: &Value,
        input: Value,
        via: &str,
        out: &mut Outbox<CodexTimer>,
    ) {
        let text = input_text(&input);
        if self.policy.refuses_request(&text) {
            return out.send(RPC.error(id, INVALID_REQUEST, self.policy.reason()));
        }
        let refused = self.policy.refuses(&text);
        let Some(active) = self.threads[t].active.as_ref() else {
            return out.send(RPC.error(id, INVALID_REQUEST, "no active turn to steer"));
        };
        let (thread_id, turn_id) = (self.threads[t].id.clone(), active.id.clone());
        let n = match self.accept(&text, via, Some(&turn_id), refused) {
            Ok(n) => n,
            Err(code) => return out.exit(code),
        };
        if let Some(active) = self.threads[t].active.as_mut() {
            active.inputs.push(text);
            active.refused |= refused;
            if via == "turn/start" {
                let turn = Self::turn_json(active, "inProgress", None, active.started_at);
                out.send(RPC.result(id, json!({ "turn": turn })));
            } else {
                out.send(RPC.result(id, json!({ "turnId": turn_id })));
            }
        }
        self.user_item(&thread_id, &turn_id, &input, out);
        if self.policy.crashes_at(n) {
            out.exit(CRASH_CODE);
        }
    }

    pub(super) fn turn_steer(&mut self, id: &Value, params: &Value, out: &mut Outbox<CodexTimer>) {
        let Some(t) = self.thread_index(params) else {
            return out.send(RPC.error(id, INVALID_REQUEST, "thread not found"));
        };
        let expected = params
            .get("expectedTurnId")
            .and_then(Value::as_str)
            .unwrap_or("");
        match self.threads[t].active.as_ref().map(|a| a.id.clone()) {
            None => out.send(RPC.error(id, INVALID_REQUEST, "no active turn to steer")),
            Some(active) if active != expected => {
                let msg = format!("expected active turn id `{expected}` but found `{active}`");
                out.send(RPC.error(id, INVALID_REQUEST, &msg));
            }
            Some(_) => {
                let input = params.get("input").cloned().unwrap_or_else(|| json!([]));
                self.steer(t, id, input, "turn/steer", out);
            }
        }
    }

    /// Ends thread `t`'s running turn with `status`, then starts the next queued turn unless the
    /// queue is paused.
    pub(super) fn end_turn(&mut self, t: usize, status: &str, out: &mut Outbox<CodexTimer>) {
        let Some(active) = self.threads[t].active.take() else {
            return;
        };
        let thread_id = self.threads[t].id.clone();
        let error = (status == "failed").then(|| self.policy.reason().to_string());
        if let Some(message) = &error {
            let err =
                json!({ "message": message, "codexErrorInfo": "other", "additionalDetails": null });
            out.send(RPC.notification(
                "error",
                json!({ "error": err, "willRetry": false, "threadId": thread_id, "turnId": active.id }),
            ));
        }
        let turn = Self::turn_json(&active, status, error.as_deref(), unix_now());
        out.send(RPC.notification(
            "turn/completed",
            json!({ "threadId": thread_id, "turn": turn }),
        ));
        let idle = Self::status(&self.threads[t]);
        out.send(RPC.notification(
            "thread/status/changed",
            json!({ "threadId": thread_id, "status": idle }),
        ));
        if self.policy.turn_completed() {
            out.close_stdout();
        }
        if status == "interrupted" {
            self.threads[t].paused = true;
        } else {
            self.start_queued(t, None, out);
        }
    }

    /// Starts the queue's head on idle thread `t`.
    pub(super) fn start_queued(
        &mut self,
        t: usize,
        respond: Option<&Value>,
        out: &mut Outbox<CodexTimer>,
    ) {
        if self.threads[t].active.is_some() {
            return;
        }
        let Some(q) = self.threads[t].queue.pop_front() else {
            return;
        };
        self.threads[t].paused = false;
        let thread_id = self.threads[t].id.clone();
        out.send(RPC.notification("thread/queue/changed", json!({ "threadId": thread_id })));
        let turn = self.next_id("turn");
        self.begin_turn(t, q, turn, respond, out);
    }

    pub(super) fn answer(&mut self, turn: &str, out: &mut Outbox<CodexTimer>) {
        let Some(t) = self
            .threads
            .iter()
            .position(|t| t.active.as_ref().is_some_and(|a| a.id == turn))
        else {
            return; // interrupted meanwhile
        };
        let Some(active) = self.threads[t].active.as_ref() else {
            return;
        };
        if active.refused {
            return self.end_turn(t, "failed", out);
        }
        let reply = self.policy.reply(&active.inputs);
        let thread_id = self.threads[t].id.clone();
        let item_id = self.next_id("item");
        let item = |text: &str| json!({ "type": "agentMessage", "id": item_id, "text": text, "phase": "final_answer" });
        out.send(Self::item("item/started", &thread_id, turn, item("")));
        out.send(RPC.notification(
            "item/agentMessage/delta",
            json!({ "threadId": thread_id, "turnId": turn, "itemId": item_id, "delta": reply }),
        ));
        out.send(Self::item("item/completed", &thread_id, turn, item(&reply)));
        self.end_turn(t, "completed", out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_of_an_input_is_its_text_items_one_per_line() {
        let input = json!([
            { "type": "text", "text": "a" },
            { "type": "localImage", "path": "/x.png" },
            { "type": "text", "text": "b" }
        ]);
        assert_eq!(input_text(&input), "a\nb");
        assert_eq!(input_text(&json!(null)), "");
    }
}
