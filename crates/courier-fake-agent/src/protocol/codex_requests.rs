//! The request dispatch of `--protocol codex-app-server`, and the requests too small for a
//! section of `codex.rs`: the handshake, `thread/loaded/list`, interrupt and the experimental
//! queue.

use serde_json::{Value, json};

use super::codex::{Codex, CodexTimer};
use super::jsonrpc::{INVALID_REQUEST, Incoming, METHOD_NOT_FOUND};
use super::runner::{Outbox, Server};

impl Server for Codex {
    type Timer = CodexTimer;

    fn on_message(&mut self, msg: Value, out: &mut Outbox<CodexTimer>) {
        let (id, method, params) = match Incoming::parse(msg) {
            Incoming::Request { id, method, params } => (id, method, params),
            // `initialized` and any other notification: nothing to answer.
            Incoming::Notification { .. } | Incoming::Other => return,
        };
        if method == "initialize" {
            return self.initialize(&id, &params, out);
        }
        if !self.initialized() {
            return out.send(self.rpc().error(&id, INVALID_REQUEST, "Not initialized"));
        }
        match method.as_str() {
            "thread/start" => self.thread_start(&id, out),
            "thread/loaded/list" => {
                let data = self.thread_ids();
                out.send(
                    self.rpc()
                        .result(&id, json!({ "data": data, "nextCursor": null })),
                );
            }
            "turn/start" => self.turn_start(&id, &params, out),
            "turn/steer" => self.turn_steer(&id, &params, out),
            "turn/interrupt" => self.turn_interrupt(&id, &params, out),
            "thread/queue/add" | "thread/queue/list" | "thread/queue/start" => {
                self.queue_request(&id, &method, &params, out);
            }
            _ => {
                let msg = format!("method not found: {method}");
                out.send(self.rpc().error(&id, METHOD_NOT_FOUND, &msg));
            }
        }
    }

    fn on_timer(&mut self, timer: CodexTimer, out: &mut Outbox<CodexTimer>) {
        let CodexTimer::Answer { turn } = timer;
        self.answer(&turn, out);
    }
}

impl Codex {
    fn initialize(&mut self, id: &Value, params: &Value, out: &mut Outbox<CodexTimer>) {
        if self.initialized() {
            return out.send(self.rpc().error(id, INVALID_REQUEST, "Already initialized"));
        }
        let experimental = params
            .pointer("/capabilities/experimentalApi")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.set_initialized(experimental);
        out.send(self.rpc().result(
            id,
            json!({
                "userAgent": format!("courier-fake-agent/{}", env!("CARGO_PKG_VERSION")),
                "codexHome": std::env::temp_dir().join("courier-fake-codex-home").display().to_string(),
                "platformFamily": "unix",
                "platformOs": std::env::consts::OS,
            }),
        ));
    }

    fn turn_interrupt(&mut self, id: &Value, params: &Value, out: &mut Outbox<CodexTimer>) {
        let turn = params.get("turnId").and_then(Value::as_str).unwrap_or("");
        match self.thread_with_active(params, turn) {
            Some(t) => {
                out.send(self.rpc().result(id, json!({})));
                self.end_turn(t, "interrupted", out);
            }
            None => out.send(
                self.rpc()
                    .error(id, INVALID_REQUEST, "no active turn to interrupt"),
            ),
        }
    }

    /// `thread/queue/*`, which needs the experimental API like the real server.
    fn queue_request(
        &mut self,
        id: &Value,
        method: &str,
        params: &Value,
        out: &mut Outbox<CodexTimer>,
    ) {
        if !self.experimental() {
            let msg = format!("{method} requires experimentalApi capability");
            return out.send(self.rpc().error(id, INVALID_REQUEST, &msg));
        }
        let Some(t) = self.thread_of(params) else {
            return out.send(self.rpc().error(id, INVALID_REQUEST, "thread not found"));
        };
        match method {
            "thread/queue/add" => self.queue_add(t, id, params, out),
            "thread/queue/list" => {
                let data = self.queue_json(t);
                out.send(
                    self.rpc()
                        .result(id, json!({ "data": data, "nextCursor": null })),
                );
            }
            _ => {
                if self.is_active(t) {
                    return out.send(self.rpc().error(
                        id,
                        INVALID_REQUEST,
                        "thread has an active turn",
                    ));
                }
                if self.queue_is_empty(t) {
                    return out.send(self.rpc().error(id, INVALID_REQUEST, "queue is empty"));
                }
                self.start_queued(t, Some(id), out);
            }
        }
    }
}
