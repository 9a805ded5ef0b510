//! A terminal stream client for the tests (`GET /v1/agents/{name}/terminal`
//! over a real WebSocket on 127.0.0.1), with a vt100 emulator fed every
//! binary frame, as a person's terminal would be.

use std::net::TcpStream;

use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use super::{Broker, DEADLINE};

/// One frame from the broker.
#[derive(Debug)]
pub enum Frame {
    Text(Value),
    Binary(Vec<u8>),
    Closed,
}

pub struct Viewer {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    pub hello: Value,
    /// The screen as this viewer's frames painted it.
    pub term: vt100::Parser,
}

/// `ws://…/v1/agents/{name}/terminal{query}` with `token` as a bearer
/// header (`None`: no header; put `?token=` in `query` instead). On a
/// refused upgrade: the HTTP status and JSON body.
pub fn open(
    broker: &Broker,
    name: &str,
    token: Option<&str>,
    query: &str,
) -> Result<WebSocket<MaybeTlsStream<TcpStream>>, (u16, Value)> {
    let url = format!(
        "{}/v1/agents/{name}/terminal{query}",
        broker.url.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().expect("terminal URL");
    if let Some(token) = token {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("token header"),
        );
    }
    match tungstenite::connect(request) {
        Ok((ws, _)) => {
            if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
                tcp.set_read_timeout(Some(DEADLINE)).expect("read timeout");
            }
            Ok(ws)
        }
        Err(tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            Err((status, body))
        }
        Err(e) => panic!("cannot open {name}'s terminal stream: {e}"),
    }
}

/// A fresh emulator of `rows` × `cols` without scrollback.
pub fn parser(rows: u16, cols: u16) -> vt100::Parser {
    let nz = |n: u16| std::num::NonZeroU16::new(n).expect("a size of at least 1");
    vt100::Parser::new(nz(rows), nz(cols), 0)
}

impl Viewer {
    /// Opens the stream as the owner (`query` e.g. `"?read_only=1"`), reads
    /// the hello and the screen frame.
    pub fn owner(broker: &Broker, name: &str, query: &str) -> Viewer {
        Viewer::start(open(broker, name, Some(&broker.token), query).expect("upgrade"))
    }

    /// Reads the hello and the screen frame of an opened stream.
    pub fn start(ws: WebSocket<MaybeTlsStream<TcpStream>>) -> Viewer {
        let mut viewer = Viewer {
            ws,
            hello: Value::Null,
            term: parser(1, 1),
        };
        viewer.hello = match viewer.next() {
            Frame::Text(hello) if hello["type"] == "hello" => hello,
            other => panic!("expected a hello first, got {other:?}"),
        };
        let rows = viewer.hello["rows"].as_u64().expect("rows") as u16;
        let cols = viewer.hello["cols"].as_u64().expect("cols") as u16;
        viewer.term = parser(rows, cols);
        match viewer.next() {
            Frame::Binary(screen) => {
                assert!(
                    screen.starts_with(b"\x1b[H\x1b[2J"),
                    "the screen frame homes and clears first"
                );
                viewer.term.process(&screen);
            }
            other => panic!("expected the screen frame after the hello, got {other:?}"),
        }
        viewer
    }

    /// The next frame (panics after [`DEADLINE`] without one).
    pub fn next(&mut self) -> Frame {
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    return Frame::Text(
                        serde_json::from_str(text.as_str()).expect("JSON text frame"),
                    );
                }
                Ok(Message::Binary(bytes)) => return Frame::Binary(bytes.to_vec()),
                Ok(Message::Close(_)) => return Frame::Closed,
                Ok(_) => continue,
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Frame::Closed;
                }
                Err(e) => panic!("reading the terminal stream: {e}"),
            }
        }
    }

    /// Reads frames, painting binary ones, until the screen satisfies
    /// `done`; returns the text frames seen meanwhile.
    pub fn until_screen(
        &mut self,
        what: &str,
        done: impl Fn(&vt100::Screen) -> bool,
    ) -> Vec<Value> {
        let mut texts = Vec::new();
        while !done(self.term.screen()) {
            match self.next() {
                Frame::Binary(bytes) => self.term.process(&bytes),
                Frame::Text(v) => texts.push(v),
                Frame::Closed => panic!(
                    "stream closed before the screen showed {what}:\n{}",
                    self.term.screen().contents()
                ),
            }
        }
        texts
    }

    /// Reads until the painted screen contains `needle`.
    pub fn until_contains(&mut self, needle: &str) -> Vec<Value> {
        self.until_screen(needle, |s| s.contents().contains(needle))
    }

    /// Reads until a text frame of `kind`; paints binary frames meanwhile.
    pub fn until_text(&mut self, kind: &str) -> Value {
        loop {
            match self.next() {
                Frame::Binary(bytes) => self.term.process(&bytes),
                Frame::Text(v) if v["type"] == kind => return v,
                Frame::Text(_) => {}
                Frame::Closed => panic!("stream closed before a {kind} frame"),
            }
        }
    }

    pub fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(Message::binary(bytes.to_vec()))
            .expect("send a binary frame");
    }

    pub fn send_json(&mut self, value: &Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .expect("send a text frame");
    }

    /// The painted screen's visible rows, as /screen gives them.
    pub fn rows(&self) -> Vec<String> {
        let screen = self.term.screen();
        let (_, cols) = screen.size();
        screen.rows(0, cols.get()).collect()
    }
}
