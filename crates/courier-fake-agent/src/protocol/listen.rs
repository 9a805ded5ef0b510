//! `--protocol codex-app-server --listen unix://PATH`: the same server as on stdio, but as
//! `codex app-server --listen unix://PATH` serves it — JSON-RPC as WebSocket text frames (one
//! message a frame) over a Unix socket, to any number of clients at once.
//!
//! The clients share one [`Codex`] (so one set of threads): a small multiplexer in front of it
//! gives each client its own id space (a request's id is rewritten to a number of the
//! multiplexer's, and the response gets the client's id back and goes to that client only) and
//! its own handshake (`initialize` once per connection), and sends every notification to every
//! client that has initialized. One thread polls the listening socket and every connection
//! (nonblocking), so a message is handled as soon as it arrives.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, ErrorKind};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::handshake::server::{NoCallback, ServerHandshake};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::{Message, WebSocket};

use super::codex::{Codex, CodexTimer};
use super::runner::{Outbox, Server, Step};
use crate::tty;

/// The longest the loop waits without looking at the signal flags.
const SIGNAL_TICK_MS: i32 = 100;

type Handshake = MidHandshake<ServerHandshake<UnixStream, NoCallback>>;

enum Conn {
    /// The HTTP upgrade has not been read (or answered) in full yet.
    Opening(Option<Handshake>),
    Open(Client),
}

struct Client {
    ws: WebSocket<UnixStream>,
    initialized: bool,
    experimental: bool,
    /// The last flush could not write everything: wait for the socket to take more.
    blocked: bool,
}

/// What became of a connection after it was driven.
enum Fate {
    Keep,
    Drop,
}

struct Mux {
    conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    /// A request id of ours → (the client, its own id for it).
    routes: HashMap<u64, (u64, Value)>,
    next_id: u64,
}

/// Serves `codex` on the Unix socket `path` until a signal or a step that exits.
pub fn run(codex: &mut Codex, path: &Path, ack_delay: Duration) -> u8 {
    tty::install_signal_handlers();
    tty::install_hurry_handler();
    // A socket file left by a server that died would make bind fail.
    let _ = std::fs::remove_file(path);
    let mut listener = match UnixListener::bind(path).and_then(|l| {
        l.set_nonblocking(true)?;
        Ok(l)
    }) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!(
                "courier-fake-agent: cannot listen on {}: {e}",
                path.display()
            );
            return 1;
        }
    };
    let mut mux = Mux {
        conns: BTreeMap::new(),
        next_conn: 0,
        routes: HashMap::new(),
        next_id: 0,
    };
    let mut out = Outbox::new(Instant::now());
    loop {
        let now = Instant::now();
        out.set_now(now);
        if tty::take_hurry() {
            out.hurry(now);
        }
        while let Some(step) = out.pop_due(now) {
            match step {
                Step::Send(msg) => mux.send(&msg),
                Step::Deliver(msg) => mux.deliver(codex, msg, &mut out),
                Step::Fire(timer) => codex.on_timer(timer, &mut out),
                Step::Exit(code) => return code,
                Step::CloseStdout => {
                    // The clients read end of file; nobody new gets in.
                    mux.conns.clear();
                    listener = None;
                }
            }
        }
        if let Some(sig) = tty::term_signal() {
            let _ = std::fs::remove_file(path);
            return if sig == libc::SIGINT { 130 } else { 0 };
        }
        let timeout = out.next_due().map_or(SIGNAL_TICK_MS, |at| {
            let ms = at.saturating_duration_since(Instant::now()).as_millis();
            i32::try_from(ms.saturating_add(1)).map_or(SIGNAL_TICK_MS, |ms| ms.min(SIGNAL_TICK_MS))
        });
        let ready = match mux.poll(listener.as_ref(), timeout) {
            Ok(ready) => ready,
            Err(e) => {
                eprintln!("courier-fake-agent: cannot poll the sockets: {e}");
                return 1;
            }
        };
        out.set_now(Instant::now());
        if ready.listener
            && let Some(l) = &listener
        {
            mux.accept(l);
        }
        for id in ready.conns {
            mux.drive(id, &mut out, ack_delay);
        }
    }
}

struct Ready {
    listener: bool,
    conns: Vec<u64>,
}

impl Mux {
    /// Waits for the listener or a connection to be ready (or `timeout_ms`, or a signal).
    fn poll(&self, listener: Option<&UnixListener>, timeout_ms: i32) -> io::Result<Ready> {
        let mut fds = Vec::with_capacity(self.conns.len() + 1);
        fds.push(libc::pollfd {
            fd: listener.map_or(-1, AsRawFd::as_raw_fd),
            events: libc::POLLIN,
            revents: 0,
        });
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for conn in self.conns.values() {
            let (fd, blocked) = match conn {
                Conn::Opening(Some(mid)) => (mid.get_ref().get_ref().as_raw_fd(), false),
                Conn::Opening(None) => (-1, false),
                Conn::Open(c) => (c.ws.get_ref().as_raw_fd(), c.blocked),
            };
            let events = libc::POLLIN | if blocked { libc::POLLOUT } else { 0 };
            fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
        }
        let n = libc::nfds_t::try_from(fds.len()).map_err(io::Error::other)?;
        // SAFETY: `fds` is a valid array of `n` pollfds; negative fds are ignored.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), n, timeout_ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                return Ok(Ready {
                    listener: false,
                    conns: Vec::new(),
                });
            }
            return Err(e);
        }
        Ok(Ready {
            listener: fds[0].revents != 0,
            conns: ids
                .into_iter()
                .zip(&fds[1..])
                .filter(|(_, p)| p.revents != 0)
                .map(|(id, _)| id)
                .collect(),
        })
    }

    /// Takes every connection waiting on the listener.
    fn accept(&mut self, listener: &UnixListener) {
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    if let Err(e) = stream.set_nonblocking(true) {
                        eprintln!("courier-fake-agent: dropping a connection: {e}");
                        continue;
                    }
                    self.next_conn += 1;
                    let id = self.next_conn;
                    match tungstenite::accept(stream) {
                        Ok(ws) => self.open(id, ws),
                        Err(HandshakeError::Interrupted(mid)) => {
                            self.conns.insert(id, Conn::Opening(Some(mid)));
                        }
                        // Not a WebSocket client (or one that left at once): nothing to serve.
                        Err(HandshakeError::Failure(_)) => {}
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return, // WouldBlock: no more waiting
            }
        }
    }

    fn open(&mut self, id: u64, ws: WebSocket<UnixStream>) {
        let client = Client {
            ws,
            initialized: false,
            experimental: false,
            blocked: false,
        };
        self.conns.insert(id, Conn::Open(client));
    }

    /// Reads what connection `id` has for us (or finishes its handshake) and writes what it can.
    fn drive(&mut self, id: u64, out: &mut Outbox<CodexTimer>, ack_delay: Duration) {
        let fate = match self.conns.get_mut(&id) {
            None => return,
            Some(Conn::Opening(mid)) => match mid.take().map(MidHandshake::handshake) {
                Some(Ok(ws)) => return self.open(id, ws),
                Some(Err(HandshakeError::Interrupted(again))) => {
                    *mid = Some(again);
                    Fate::Keep
                }
                Some(Err(HandshakeError::Failure(_))) | None => Fate::Drop,
            },
            Some(Conn::Open(client)) => {
                let mut fate = Fate::Keep;
                for msg in client.read_all(&mut fate) {
                    self.next_id += 1;
                    if let Some(msg) = route(msg, id, self.next_id, &mut self.routes) {
                        out.push(ack_delay, Step::Deliver(msg));
                    }
                }
                fate
            }
        };
        if let Fate::Drop = fate {
            self.conns.remove(&id);
            self.routes.retain(|_, (client, _)| *client != id);
        }
    }

    /// Hands a client's request to the server with that client's handshake in place.
    fn deliver(&mut self, codex: &mut Codex, msg: Value, out: &mut Outbox<CodexTimer>) {
        let Some(ours) = msg.get("id").and_then(Value::as_u64) else {
            return;
        };
        let Some(&(conn, _)) = self.routes.get(&ours) else {
            return; // its client went away meanwhile
        };
        let Some(Conn::Open(client)) = self.conns.get_mut(&conn) else {
            return;
        };
        codex.set_handshake(client.initialized, client.experimental);
        codex.on_message(msg, out);
        client.initialized = codex.initialized();
        client.experimental = codex.experimental();
    }

    /// A response goes to the client that asked, with its own id; a notification to every client
    /// that has initialized.
    fn send(&mut self, msg: &Value) {
        let is_response = msg.get("method").is_none();
        let mut dropped = Vec::new();
        if is_response {
            let Some(ours) = msg.get("id").and_then(Value::as_u64) else {
                return;
            };
            let Some((conn, theirs)) = self.routes.remove(&ours) else {
                return;
            };
            let mut msg = msg.clone();
            msg["id"] = theirs;
            if let Some(Conn::Open(client)) = self.conns.get_mut(&conn)
                && !client.send(&msg.to_string())
            {
                dropped.push(conn);
            }
        } else {
            let text = msg.to_string();
            for (&id, conn) in &mut self.conns {
                if let Conn::Open(client) = conn
                    && client.initialized
                    && !client.send(&text)
                {
                    dropped.push(id);
                }
            }
        }
        for id in dropped {
            self.conns.remove(&id);
            self.routes.retain(|_, (client, _)| *client != id);
        }
    }
}

/// A client's request with its id replaced by `ours` (remembered in `routes`); `None` for what
/// the server would not answer anyway (notifications, responses, garbage).
fn route(
    mut msg: Value,
    conn: u64,
    ours: u64,
    routes: &mut HashMap<u64, (u64, Value)>,
) -> Option<Value> {
    msg.get("method")?;
    let theirs = msg.get_mut("id")?.take();
    msg["id"] = json!(ours);
    routes.insert(ours, (conn, theirs));
    Some(msg)
}

impl Client {
    /// Every JSON message that has arrived; sets `fate` to drop when the connection is over.
    fn read_all(&mut self, fate: &mut Fate) -> Vec<Value> {
        let mut msgs = Vec::new();
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => match serde_json::from_str(text.as_str()) {
                    Ok(v) => msgs.push(v),
                    Err(_) => eprintln!(
                        "courier-fake-agent: ignoring a frame that is not JSON: {:?}",
                        text.as_str()
                    ),
                },
                // Pings are answered by tungstenite itself (on the next read or flush).
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    *fate = Fate::Drop;
                    return msgs;
                }
            }
        }
        if !self.flush() {
            *fate = Fate::Drop;
        }
        msgs
    }

    /// Sends one text frame; false when the connection is gone.
    fn send(&mut self, text: &str) -> bool {
        crate::ws_frames::send(&mut self.ws, text.to_string(), &mut self.blocked)
    }

    /// Writes out what is buffered; false when the connection is gone.
    fn flush(&mut self) -> bool {
        crate::ws_frames::flush(&mut self.ws, &mut self.blocked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_are_routed_and_their_ids_come_back() {
        let mut routes = HashMap::new();
        let req = json!({ "id": "a", "method": "turn/start", "params": {} });
        let ours = route(req, 7, 3, &mut routes);
        assert_eq!(
            ours,
            Some(json!({ "id": 3, "method": "turn/start", "params": {} }))
        );
        assert_eq!(routes.get(&3), Some(&(7, json!("a"))));
        assert_eq!(
            route(json!({ "method": "initialized" }), 7, 4, &mut routes),
            None
        );
        assert_eq!(
            route(json!({ "id": 1, "result": {} }), 7, 5, &mut routes),
            None
        );
        assert_eq!(routes.len(), 1);
    }
}
