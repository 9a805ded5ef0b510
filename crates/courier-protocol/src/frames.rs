//! The live terminal's WebSocket (`GET /v1/agents/{name}/terminal`).
//!
//! Server → client: TEXT [`ServerFrame::Hello`], then a BINARY frame that
//! paints the screen on a fresh terminal, then BINARY frames of raw output
//! as the agent writes it; TEXT [`ServerFrame::Resync`] (a new BINARY
//! screen follows) when the client fell too far behind,
//! [`ServerFrame::Error`] for a refused client frame, [`ServerFrame::Exit`]
//! and a close when the program ended.
//!
//! Client → server: BINARY frames are keystrokes; TEXT frames are
//! [`ClientFrame`]s.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A TEXT frame the broker sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The first frame: whose terminal, its size, and whether this client
    /// may type into it (owner only).
    Hello {
        agent: String,
        cols: u16,
        rows: u16,
        writable: bool,
    },
    /// The client fell behind: a fresh screen follows.
    Resync,
    /// A client frame was refused (`bad_frame`, `invalid_size`, `read_only`).
    Error { code: String, message: String },
    /// The program ended; the connection closes next.
    Exit {
        code: Option<i32>,
        signal: Option<i32>,
    },
}

impl ServerFrame {
    /// The frame's text, with its keys in sorted order: the bytes the
    /// broker has always written (from `json!`, which sorts them).
    pub fn to_text(&self) -> String {
        serde_json::to_value(self)
            .map(|value| value.to_string())
            // A derived Serialize of strings, numbers and bools cannot fail.
            .unwrap_or_default()
    }
}

/// A TEXT frame a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Keystrokes as UTF-8 text.
    Input { data: String },
    /// A new terminal size for the agent (owner only).
    Resize { rows: u32, cols: u32 },
}

/// The query of `GET /v1/agents/{name}/terminal`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TerminalQuery {
    /// 1 (or true): watch only, even with the owner's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["0", "1", "false", "true"]))]
    pub read_only: Option<String>,
}
