//! `--remote`: what the fake TUI does as a client of a Codex app server (the connection itself is
//! `crate::remote`). While the server is there:
//!
//! - a submitted message becomes a `turn/start` on the TUI's thread (held in the queue, shown as
//!   `queued: …`, while a turn runs or the thread is not there yet) and is written to the
//!   transcript as `{"n":N,"text":T,"via":"turn/start"}`; it is not shown by the TUI itself;
//! - every user message of the thread (from any client) shows as `› <text>` (further lines
//!   indented by two spaces; none with `--remote-hides-user-messages`), every agent message as
//!   `• <text>`;
//! - while a turn runs on the thread the busy line is `Working (Ns • esc to interrupt)`, the reply
//!   streaming above it; Esc sends `turn/interrupt`.
//!
//! When the connection is lost (or never made) the screen says [`DISCONNECTED`] and the TUI goes
//! on as a local one: messages are shown and recorded as without `--remote`.

use std::time::Instant;

use serde_json::{Value, json};

use super::{App, Busy};
use crate::composer::Submission;
use crate::remote::{Event, Outgoing};

/// The line shown when the app server goes away.
pub const DISCONNECTED: &str = "app server disconnected";

/// What the screen knows of the server.
#[derive(Debug, Default)]
pub struct RemoteView {
    /// The TUI's thread, once started.
    thread: Option<String>,
    /// The connection is gone for good: the TUI is a local one now.
    lost: bool,
    /// The turn running on the thread, once `turn/started` named it.
    turn: Option<String>,
    /// The agent message streaming in.
    live: String,
    outgoing: Vec<Outgoing>,
    /// `--remote-hides-user-messages`: the thread's user messages are not
    /// shown (a TUI that does not follow what other clients send).
    hides_user_messages: bool,
}

/// `first` then `rest` before each line of `text`.
fn prefixed(text: &str, first: &str, rest: &str) -> Vec<String> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| format!("{}{l}", if i == 0 { first } else { rest }))
        .collect()
}

/// The text of a `UserInput[]`: its text items, one per line.
fn input_text(content: &Value) -> String {
    content
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

impl App {
    /// Makes this TUI a client of an app server (before the first event).
    pub fn enable_remote(&mut self, hides_user_messages: bool) {
        self.remote = Some(RemoteView {
            hides_user_messages,
            ..RemoteView::default()
        });
    }

    /// The requests for the server made since the last call.
    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        self.remote
            .as_mut()
            .map(|r| std::mem::take(&mut r.outgoing))
            .unwrap_or_default()
    }

    /// Whether the server decides what a message does (connected, or still connecting).
    pub(super) fn remote_live(&self) -> bool {
        self.remote.as_ref().is_some_and(|r| !r.lost)
    }

    /// An Enter's submission: `None` when it waits in the queue (a turn runs, or no thread yet).
    pub(super) fn remote_enter(&mut self, sub: Submission) -> Option<Submission> {
        let ready = self.remote.as_ref().is_some_and(|r| r.thread.is_some());
        if self.remote_live() && (self.busy.is_some() || !ready) {
            self.queue.push_back(sub);
            return None;
        }
        Some(sub)
    }

    /// Sends a submission as a turn; false when there is no server to send it to.
    pub(super) fn remote_submit(&mut self, sub: &Submission, now: Instant) -> bool {
        if !self.remote_live() {
            return false;
        }
        self.submitted += 1;
        if let Some(t) = &mut self.transcript {
            let line = json!({ "n": self.submitted, "text": sub.text, "via": "turn/start" });
            if let Err(e) = t.record_value(&line) {
                eprintln!(
                    "courier-fake-agent: cannot write transcript {}: {e}",
                    t.path().display()
                );
            }
        }
        if let Some(r) = &mut self.remote {
            r.outgoing.push(Outgoing::TurnStart(sub.text.clone()));
        }
        self.start_remote_busy(now);
        true
    }

    /// Esc while a turn runs: interrupt it.
    pub(super) fn remote_escape(&mut self) {
        if let Some(r) = self.remote.as_mut().filter(|r| !r.lost)
            && let Some(turn) = r.turn.clone()
        {
            r.outgoing.push(Outgoing::Interrupt { turn });
        }
    }

    /// The busy lines while a turn runs: the reply so far, then the status line.
    pub(super) fn remote_busy_lines(&self, busy_since: Instant, now: Instant) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(r) = &self.remote
            && !r.live.is_empty()
        {
            lines.extend(prefixed(&r.live, "• ", "  "));
        }
        let secs = now.saturating_duration_since(busy_since).as_secs();
        lines.push(format!("Working ({secs}s • esc to interrupt)"));
        lines
    }

    fn start_remote_busy(&mut self, now: Instant) {
        if self.busy.is_none() {
            self.busy = Some(Busy {
                started: now,
                until: None,
            });
            self.next_tick = now;
        }
    }

    /// Ends the busy period (which submits the next queued message, if any), or, when idle,
    /// submits the next queued message.
    fn remote_idle(&mut self, now: Instant) {
        if self.busy.is_some() {
            self.finish_busy(now);
        } else if let Some(next) = self.queue.pop_front() {
            self.submit(next, now);
        }
    }

    /// What the server said.
    pub fn on_remote(&mut self, ev: Event, now: Instant) {
        let Some(r) = self.remote.as_mut() else {
            return;
        };
        match ev {
            Event::Ready { thread } => {
                r.thread = Some(thread);
                if self.busy.is_none() {
                    self.remote_idle(now);
                }
            }
            Event::Notification { method, params } => {
                let ours = r.thread.is_some()
                    && params.get("threadId").and_then(Value::as_str) == r.thread.as_deref();
                if ours {
                    self.on_notification(&method, &params, now);
                }
            }
            Event::Failed { message } => {
                self.history.push(format!("■ {message}"));
                if r.turn.is_none() {
                    self.remote_idle(now); // the turn/start that made us busy failed
                }
            }
            Event::Lost => {
                *r = RemoteView {
                    lost: true,
                    ..RemoteView::default()
                };
                self.history.push(DISCONNECTED.to_string());
                self.remote_idle(now);
            }
        }
        if self.rendered {
            self.redraw(now);
        }
    }

    fn on_notification(&mut self, method: &str, params: &Value, now: Instant) {
        let Some(r) = self.remote.as_mut() else {
            return;
        };
        let item = params.get("item").unwrap_or(&Value::Null);
        match (method, item.get("type").and_then(Value::as_str)) {
            ("turn/started", _) => {
                r.turn = params
                    .pointer("/turn/id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                self.start_remote_busy(now);
            }
            ("item/agentMessage/delta", _) => {
                r.live
                    .push_str(params.get("delta").and_then(Value::as_str).unwrap_or(""));
            }
            ("item/completed", Some("userMessage")) if r.hides_user_messages => {}
            ("item/completed", Some("userMessage")) => {
                let text = input_text(item.get("content").unwrap_or(&Value::Null));
                self.history.extend(prefixed(&text, "› ", "  "));
            }
            ("item/completed", Some("agentMessage")) => {
                r.live.clear();
                let text = item.get("text").and_then(Value::as_str).unwrap_or("");
                self.history.extend(prefixed(text, "• ", "  "));
            }
            ("turn/completed", _) => {
                r.turn = None;
                r.live.clear();
                if let Some(e) = params
                    .pointer("/turn/error/message")
                    .and_then(Value::as_str)
                {
                    self.history.push(format!("■ {e}"));
                }
                self.remote_idle(now);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tests::cfg;
    use crate::config::{Mode, Outcome};
    use std::time::Duration;

    fn note(method: &str, params: Value) -> Event {
        Event::Notification {
            method: method.into(),
            params,
        }
    }

    #[test]
    fn typed_messages_wait_for_the_thread_and_for_the_turn_then_go_out_as_turns() {
        let now = Instant::now();
        let mut app = App::new(cfg(Mode::Tui), None, (24, 40), now);
        app.enable_remote(false);
        assert_eq!(app.on_timer(now), Outcome::Continue);
        app.on_bytes(b"early\r", now);
        assert!(app.take_outgoing().is_empty(), "no thread yet");
        app.on_remote(Event::Ready { thread: "t".into() }, now);
        assert_eq!(app.take_outgoing(), [Outgoing::TurnStart("early".into())]);
        assert!(app.history.is_empty(), "the server's user message shows it");
        let started = json!({ "threadId": "t", "turn": { "id": "u1" } });
        app.on_remote(note("turn/started", started), now);
        app.on_bytes(b"later\r", now);
        assert!(app.take_outgoing().is_empty(), "queued while the turn runs");
        app.on_bytes(b"\x1b", now);
        app.on_timer(now + Duration::from_millis(50));
        assert_eq!(
            app.take_outgoing(),
            [Outgoing::Interrupt { turn: "u1".into() }]
        );
        let other =
            json!({ "threadId": "elsewhere", "item": { "type": "userMessage", "content": [] } });
        app.on_remote(note("item/completed", other), now);
        let user = json!({ "threadId": "t", "item": { "type": "userMessage",
            "content": [{ "type": "text", "text": "early\nbird" }] } });
        app.on_remote(note("item/completed", user), now);
        app.on_remote(
            note("turn/completed", json!({ "threadId": "t", "turn": {} })),
            now,
        );
        assert_eq!(app.history, ["› early", "  bird"]);
        assert_eq!(app.take_outgoing(), [Outgoing::TurnStart("later".into())]);
        app.on_remote(Event::Lost, now);
        assert_eq!(app.history.last().map(String::as_str), Some(DISCONNECTED));
        assert!(app.busy.is_none(), "no turn runs on a server that is gone");
        app.on_bytes(b"local\r", now);
        assert_eq!(app.history.last().map(String::as_str), Some("you: local"));
        assert!(app.take_outgoing().is_empty());
    }
}
