//! Helpers for the tests of `--protocol codex-app-server --listen unix://PATH`: the fake server as
//! a real child process on a real Unix socket, and a WebSocket client of it whose every message is
//! checked against `protocols/codex-app-server/schema.json` (as `proto` checks the stdio ones).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use super::proto::{FOREVER_MS, Schema, TIMEOUT};

pub const UPSTREAM: &str = "COURIER_UPSTREAM_CODEX_SCHEMA_DIR";

/// `courier-fake-agent --protocol codex-app-server --listen unix://PATH …`, running.
pub struct Listener {
    child: Child,
    pub path: PathBuf,
}

impl Listener {
    /// Starts the server on `path` and waits until it accepts connections.
    pub fn start(path: &Path, args: &[&str]) -> Listener {
        let child = Command::new(env!("CARGO_BIN_EXE_courier-fake-agent"))
            .args(["--protocol", "codex-app-server", "--listen"])
            .arg(format!("unix://{}", path.display()))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the fake app server");
        let deadline = Instant::now() + TIMEOUT;
        while UnixStream::connect(path).is_err() {
            assert!(Instant::now() < deadline, "the server never listened");
            std::thread::sleep(Duration::from_millis(5));
        }
        Listener {
            child,
            path: path.to_path_buf(),
        }
    }

    /// `unix://PATH`, as `--remote` takes it.
    pub fn url(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    pub fn signal(&self, sig: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: a plain kill(2) of our own child.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill {sig}");
    }

    /// Waits (bounded) for the exit code.
    pub fn wait(&mut self) -> Option<i32> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebSocket client of the server.
pub struct Ws {
    ws: WebSocket<UnixStream>,
    schema: Schema,
    methods: HashMap<String, String>,
    /// Every message read so far.
    pub seen: Vec<Value>,
}

impl Ws {
    /// Connects to the socket at `path` (retrying while it is not there yet).
    pub fn connect(path: &Path) -> Ws {
        let deadline = Instant::now() + TIMEOUT;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) => assert!(Instant::now() < deadline, "cannot connect: {e}"),
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let (ws, _) = tungstenite::client("ws://localhost/rpc", stream).expect("ws handshake");
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("read timeout");
        Ws {
            ws,
            schema: Schema::load("codex-app-server", UPSTREAM),
            methods: HashMap::new(),
            seen: Vec::new(),
        }
    }

    pub fn send(&mut self, msg: Value) {
        if let (Some(id), Some(method)) = (msg.get("id"), msg.get("method").and_then(Value::as_str))
        {
            self.methods.insert(id.to_string(), method.to_string());
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("send a frame");
    }

    pub fn request(&mut self, id: i64, method: &str, params: Value) {
        self.send(json!({ "id": id, "method": method, "params": params }));
    }

    /// The next message within `wait`: `None` when none came (or the connection closed).
    pub fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    let msg: Value = serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text.as_str()));
                    self.schema.check_message(&msg, &self.methods);
                    self.seen.push(msg.clone());
                    return Some(msg);
                }
                Ok(Message::Binary(_)) => panic!("a binary frame"),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return None,
            }
            if Instant::now() >= deadline {
                return None;
            }
        }
    }

    /// The next message; panics when none comes within the timeout or the connection closed.
    pub fn next(&mut self) -> Value {
        self.next_within(TIMEOUT)
            .unwrap_or_else(|| panic!("no message (or closed); seen: {:#?}", self.seen))
    }

    /// Reads until a message matches `pred`.
    pub fn until(&mut self, _what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let msg = self.next();
            if pred(&msg) {
                return msg;
            }
        }
    }

    /// Reads until the response to request `id`.
    pub fn response(&mut self, id: i64) -> Value {
        self.until(&format!("the response to {id}"), |m| {
            m.get("id") == Some(&json!(id)) && m.get("method").is_none()
        })
    }

    /// Reads until a notification of `method`.
    pub fn notification(&mut self, method: &str) -> Value {
        self.until(method, |m| m.get("method") == Some(&json!(method)))
    }

    /// True when the server closes the connection within the timeout.
    pub fn closed(&mut self) -> bool {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.ws.read() {
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return true,
            }
            if Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// A ping; true when its pong comes back.
    pub fn ping(&mut self, payload: &[u8]) -> bool {
        self.ws
            .send(Message::Ping(payload.to_vec().into()))
            .expect("send a ping");
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            match self.ws.read() {
                Ok(Message::Pong(p)) => return p.as_ref() == payload,
                Ok(Message::Text(t)) => self
                    .seen
                    .push(serde_json::from_str(t.as_str()).expect("JSON")),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("no pong: {e}"),
            }
        }
        false
    }

    /// Closes the connection (a close frame, then the socket).
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }

    /// `initialize` (as `name`) and `initialized`.
    pub fn initialize(&mut self, id: i64, name: &str) {
        let client = json!({ "name": name, "version": "0" });
        self.request(
            id,
            "initialize",
            json!({ "clientInfo": client, "capabilities": { "experimentalApi": false } }),
        );
        let r = self.response(id);
        assert!(r["result"]["userAgent"].is_string(), "{r}");
        self.send(json!({ "method": "initialized" }));
    }

    /// `thread/start`; the thread's id.
    pub fn thread_start(&mut self, id: i64) -> String {
        self.request(id, "thread/start", json!({}));
        self.response(id)["result"]["thread"]["id"]
            .as_str()
            .expect("thread id")
            .to_string()
    }

    /// `thread/loaded/list`; its `data`.
    pub fn loaded(&mut self, id: i64) -> Vec<String> {
        self.request(id, "thread/loaded/list", json!({}));
        let r = self.response(id);
        assert_eq!(r["result"]["nextCursor"], Value::Null, "{r}");
        r["result"]["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|v| v.as_str().expect("a thread id").to_string())
            .collect()
    }

    pub fn turn_start(&mut self, id: i64, thread: &str, text: &str) {
        let input = json!([{ "type": "text", "text": text }]);
        self.request(
            id,
            "turn/start",
            json!({ "threadId": thread, "input": input }),
        );
    }
}

/// A think time no test waits out (re-exported for the listen tests).
pub const FOREVER: &str = FOREVER_MS;
