//! The terminal stream's protocol (`GET /v1/agents/{name}/terminal`), as
//! messages: what a client may send, and the text frames the broker sends
//! (their types are `courier_protocol::frames`, which clients decode).
//!
//! Server → client: TEXT `{"type":"hello","agent","rows","cols","writable"}`,
//! then a BINARY frame that paints the screen on a fresh terminal, then
//! BINARY frames of raw output as the agent writes it. TEXT
//! `{"type":"resync"}` (followed by a new BINARY screen) when the client
//! fell too far behind; TEXT `{"type":"error","code","message"}` for a
//! refused client frame; TEXT `{"type":"exit","code","signal"}` and a close
//! when the program ended.
//!
//! Client → server: BINARY frames are keystrokes; TEXT
//! `{"type":"input","data":"..."}` (keystrokes as UTF-8 text) and
//! `{"type":"resize","rows":R,"cols":C}`.

use courier_protocol::frames::{ClientFrame as TextFrame, ServerFrame};
use courier_terminal::ExitInfo;

use crate::spec::limits::{COLS, ROWS};

/// A client's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// Keystrokes, as they are.
    Input(Vec<u8>),
    /// A new terminal size for the agent.
    Resize { rows: u16, cols: u16 },
}

/// A client frame that is refused: the error frame's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Refused {
            code,
            message: message.into(),
        }
    }

    /// The TEXT frame that tells the client.
    pub fn frame(&self) -> String {
        error(self.code, &self.message)
    }
}

/// Reads a client's TEXT frame.
pub fn parse_text(text: &str) -> Result<ClientFrame, Refused> {
    let frame: TextFrame = serde_json::from_str(text).map_err(|e| {
        Refused::new(
            "bad_frame",
            format!(
                "a text frame is {{\"type\":\"input\",\"data\":\"...\"}} or {{\"type\":\"resize\",\"rows\":R,\"cols\":C}} ({e})"
            ),
        )
    })?;
    match frame {
        TextFrame::Input { data } => Ok(ClientFrame::Input(data.into_bytes())),
        TextFrame::Resize { rows, cols } => {
            let fits = |n: u32, range: &std::ops::RangeInclusive<u16>| {
                u16::try_from(n).ok().filter(|n| range.contains(n))
            };
            match (fits(rows, &ROWS), fits(cols, &COLS)) {
                (Some(rows), Some(cols)) => Ok(ClientFrame::Resize { rows, cols }),
                _ => Err(Refused::new(
                    "invalid_size",
                    format!(
                        "rows must be within {}..={} and cols within {}..={}, got {rows}×{cols}",
                        ROWS.start(),
                        ROWS.end(),
                        COLS.start(),
                        COLS.end()
                    ),
                )),
            }
        }
    }
}

/// The refusal for a viewer that may only watch.
pub fn read_only(agent: &str) -> Refused {
    Refused::new(
        "read_only",
        format!(
            "this view of {agent:?} is read-only (read_only=1, an agent's or an observer's token): input and resize are ignored"
        ),
    )
}

/// The first frame.
pub fn hello(agent: &str, rows: u16, cols: u16, writable: bool) -> String {
    ServerFrame::Hello {
        agent: agent.to_string(),
        cols,
        rows,
        writable,
    }
    .to_text()
}

/// The client fell behind: a fresh screen follows.
pub fn resync() -> String {
    ServerFrame::Resync.to_text()
}

/// The program ended (the connection closes next).
pub fn exit(info: ExitInfo) -> String {
    ServerFrame::Exit {
        code: info.code,
        signal: info.signal,
    }
    .to_text()
}

pub fn error(code: &str, message: &str) -> String {
    ServerFrame::Error {
        code: code.to_string(),
        message: message.to_string(),
    }
    .to_text()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn value(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn text_frames_are_input_or_a_bounded_resize() {
        assert_eq!(
            parse_text(r#"{"type":"input","data":"ls\r"}"#),
            Ok(ClientFrame::Input(b"ls\r".to_vec()))
        );
        assert_eq!(
            parse_text(r#"{"type":"resize","rows":30,"cols":100}"#),
            Ok(ClientFrame::Resize {
                rows: 30,
                cols: 100
            })
        );
        for bad in [
            r#"{"type":"resize","rows":0,"cols":100}"#,
            r#"{"type":"resize","rows":501,"cols":100}"#,
            r#"{"type":"resize","rows":30,"cols":1001}"#,
            r#"{"type":"resize","rows":70000,"cols":100}"#,
        ] {
            assert_eq!(parse_text(bad).unwrap_err().code, "invalid_size", "{bad}");
        }
        for bad in [
            "not json",
            r#"{"type":"paste","data":"x"}"#,
            r#"{"type":"input"}"#,
            r#"{"type":"input","data":"x","extra":1}"#,
            r#"{"type":"resize","rows":-1,"cols":5}"#,
        ] {
            assert_eq!(parse_text(bad).unwrap_err().code, "bad_frame", "{bad}");
        }
    }

    #[test]
    fn server_frames_are_the_documented_json() {
        assert_eq!(
            value(&hello("bob", 40, 120, true)),
            json!({"type": "hello", "agent": "bob", "rows": 40, "cols": 120, "writable": true})
        );
        assert_eq!(value(&resync()), json!({"type": "resync"}));
        let exited = ExitInfo {
            code: Some(0),
            signal: None,
        };
        assert_eq!(
            value(&exit(exited)),
            json!({"type": "exit", "code": 0, "signal": null})
        );
        let refused = value(&read_only("bob").frame());
        assert_eq!(refused["type"], "error");
        assert_eq!(refused["code"], "read_only");
        assert!(refused["message"].as_str().unwrap().contains("read-only"));
    }
}
