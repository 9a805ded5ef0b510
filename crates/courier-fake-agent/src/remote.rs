//! `--remote unix://PATH`: the fake TUI as a client of a Codex app server, the way
//! `codex --remote unix://PATH` joins `codex app-server --listen unix://PATH` — JSON-RPC (without
//! the `jsonrpc` member) as WebSocket text frames over a Unix socket.
//!
//! A [`Link`] is the connection's I/O only, driven by the TUI's main loop (it polls the link's
//! socket next to the terminal): it connects (retrying for [`CONNECT_FOR`] while the socket is
//! not there or refuses), sends `initialize` (as `codex-tui`), `initialized` and `thread/start`,
//! and from then on turns what arrives into [`Event`]s and [`Outgoing`] requests into frames.
//! What the screen makes of them is `app_remote`'s.

use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// How long the TUI keeps trying to reach the server at start.
pub const CONNECT_FOR: Duration = Duration::from_secs(10);
/// Between two attempts to connect.
const RETRY: Duration = Duration::from_millis(20);
/// The longest the WebSocket upgrade may take once connected.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

const INITIALIZE: i64 = 1;
const THREAD_START: i64 = 2;

/// What the server told the TUI.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The handshake is done and the TUI's thread started.
    Ready { thread: String },
    /// A notification (any thread's; the screen keeps those of its own).
    Notification { method: String, params: Value },
    /// A request of the TUI's failed (e.g. a refused `turn/start`).
    Failed { message: String },
    /// The connection is gone (or never came within [`CONNECT_FOR`]); it is not tried again.
    Lost,
}

/// What the TUI asks of the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// `turn/start` on the TUI's thread with one text input.
    TurnStart(String),
    /// `turn/interrupt` of this turn on the TUI's thread.
    Interrupt { turn: String },
}

enum State {
    Connecting,
    Open(Box<WebSocket<UnixStream>>),
    Gone,
}

pub struct Link {
    path: PathBuf,
    state: State,
    give_up: Instant,
    next_try: Instant,
    next_id: i64,
    thread: Option<String>,
    /// The last flush could not write everything.
    blocked: bool,
}

impl Link {
    pub fn new(path: PathBuf, now: Instant) -> Link {
        Link {
            path,
            state: State::Connecting,
            give_up: now + CONNECT_FOR,
            next_try: now,
            next_id: THREAD_START,
            thread: None,
            blocked: false,
        }
    }

    /// The socket to poll, once connected; and whether to wait for it to take more output.
    pub fn poll_fd(&self) -> Option<(RawFd, bool)> {
        match &self.state {
            State::Open(ws) => Some((ws.get_ref().as_raw_fd(), self.blocked)),
            _ => None,
        }
    }

    /// When to try connecting again.
    pub fn deadline(&self) -> Option<Instant> {
        matches!(self.state, State::Connecting).then_some(self.next_try)
    }

    /// Connects when it is time to, reads what has arrived and writes what is pending.
    pub fn pump(&mut self, now: Instant) -> Vec<Event> {
        match &mut self.state {
            State::Gone => Vec::new(),
            State::Connecting if now < self.next_try => Vec::new(),
            State::Connecting => match connect(&self.path) {
                Ok(ws) => {
                    self.state = State::Open(Box::new(ws));
                    self.hello()
                }
                Err(_) if now >= self.give_up => self.lost(),
                Err(_) => {
                    self.next_try = now + RETRY;
                    Vec::new()
                }
            },
            State::Open(ws) => {
                let mut msgs = Vec::new();
                let mut gone = false;
                loop {
                    match ws.read() {
                        Ok(Message::Text(text)) => {
                            if let Ok(v) = serde_json::from_str::<Value>(text.as_str()) {
                                msgs.push(v);
                            }
                        }
                        Ok(_) => {} // pongs are tungstenite's
                        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                            break;
                        }
                        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => {
                            gone = true;
                            break;
                        }
                    }
                }
                let mut events: Vec<Event> =
                    msgs.into_iter().filter_map(|m| self.event(m)).collect();
                if gone || !self.flush() {
                    events.extend(self.lost());
                }
                events
            }
        }
    }

    /// Sends `out` (once the thread is there; before, it is the caller's to hold it).
    pub fn send(&mut self, out: Outgoing) -> Vec<Event> {
        let Some(thread) = self.thread.clone() else {
            return Vec::new();
        };
        let (method, params) = match out {
            Outgoing::TurnStart(text) => (
                "turn/start",
                json!({ "threadId": thread, "input": [{ "type": "text", "text": text }] }),
            ),
            Outgoing::Interrupt { turn } => (
                "turn/interrupt",
                json!({ "threadId": thread, "turnId": turn }),
            ),
        };
        self.next_id += 1;
        let msg = json!({ "id": self.next_id, "method": method, "params": params });
        if self.write(&msg) {
            Vec::new()
        } else {
            self.lost()
        }
    }

    /// The handshake and the thread, sent at once (the server takes them in order).
    fn hello(&mut self) -> Vec<Event> {
        let init = json!({
            "id": INITIALIZE, "method": "initialize",
            "params": {
                "clientInfo": { "name": "codex-tui", "title": null, "version": env!("CARGO_PKG_VERSION") },
                "capabilities": { "experimentalApi": true }
            }
        });
        let ok = self.write(&init)
            && self.write(&json!({ "method": "initialized" }))
            && self.write(&json!({ "id": THREAD_START, "method": "thread/start", "params": {} }));
        if ok { Vec::new() } else { self.lost() }
    }

    fn event(&mut self, msg: Value) -> Option<Event> {
        if let Some(method) = msg.get("method").and_then(Value::as_str) {
            let params = msg.get("params").cloned().unwrap_or(Value::Null);
            let method = method.to_string();
            return Some(Event::Notification { method, params });
        }
        let id = msg.get("id").and_then(Value::as_i64);
        let error = msg.pointer("/error/message").and_then(Value::as_str);
        match (id, error) {
            (Some(INITIALIZE | THREAD_START), Some(_)) => {
                self.state = State::Gone; // without a thread there is nothing to join
                Some(Event::Lost)
            }
            (Some(THREAD_START), None) => {
                let thread = msg.pointer("/result/thread/id")?.as_str()?.to_string();
                self.thread = Some(thread.clone());
                Some(Event::Ready { thread })
            }
            (_, Some(message)) => Some(Event::Failed {
                message: message.to_string(),
            }),
            _ => None,
        }
    }

    fn lost(&mut self) -> Vec<Event> {
        self.state = State::Gone;
        self.thread = None;
        vec![Event::Lost]
    }

    /// One frame; false when the connection is gone.
    fn write(&mut self, msg: &Value) -> bool {
        let State::Open(ws) = &mut self.state else {
            return false;
        };
        crate::ws_frames::send(ws, msg.to_string(), &mut self.blocked)
    }

    fn flush(&mut self) -> bool {
        let State::Open(ws) = &mut self.state else {
            return false;
        };
        crate::ws_frames::flush(ws, &mut self.blocked)
    }
}

/// Connects and upgrades to WebSocket (blocking, bounded), then leaves the socket nonblocking.
fn connect(path: &std::path::Path) -> io::Result<WebSocket<UnixStream>> {
    let stream = UnixStream::connect(path)?;
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    stream.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let (ws, _) = tungstenite::client("ws://localhost/", stream).map_err(io::Error::other)?;
    ws.get_ref().set_nonblocking(true)?;
    Ok(ws)
}
