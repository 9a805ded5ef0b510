//! The tools' arguments, with the JSON schemas the model sees. There is no
//! `from` anywhere: a tool always acts as the agent this server runs for.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default and largest number of inbox entries `read_inbox` returns.
pub const DEFAULT_INBOX_LIMIT: usize = 20;
pub const MAX_INBOX_LIMIT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageArgs {
    /// Recipient: an agent's name (e.g. "bob"), a channel with its '#'
    /// (e.g. "#backend": every member but you), or "*" for every other agent.
    pub to: String,
    /// The message text. Plain UTF-8; newlines are kept. Be self-contained:
    /// the recipient sees only this text and your name.
    pub body: String,
    /// Optional: the id of the message you are replying to (the "msg ..." id
    /// in the header of a message you received), to keep a conversation threaded.
    #[serde(default)]
    pub thread: Option<String>,
    /// Optional: a unique key for this send. Sending again with the same key
    /// creates nothing new and returns the first message's id, so a retry
    /// after an error or timeout cannot deliver twice.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Not in the schema: present only so that a caller who tries to pick
    /// the sender gets a clear tool error instead of a protocol error.
    #[serde(default)]
    #[schemars(skip)]
    pub from: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportDoneArgs {
    /// Optional: what you produced or concluded, in a few lines (a summary,
    /// a path, a verdict), for whoever gave you the task.
    #[serde(default)]
    pub result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelArgs {
    /// The channel, with or without its '#', e.g. "#backend".
    pub channel: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadInboxArgs {
    /// How many of the most recent deliveries to return (default 20, at most 200).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl ReadInboxArgs {
    /// The limit to ask the broker for: default when absent, clamped to 1..=max.
    pub fn effective_limit(&self) -> usize {
        self.limit
            .unwrap_or(DEFAULT_INBOX_LIMIT)
            .clamp(1, MAX_INBOX_LIMIT)
    }
}

/// When messages for the agent are typed into its terminal. The same names
/// as the broker's modes; inlined so the schema is a plain string enum, with
/// no `$ref` a model or client could trip on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum Mode {
    Idle,
    Immediate,
    Manual,
}

impl Mode {
    /// The broker's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Idle => "idle",
            Mode::Immediate => "immediate",
            Mode::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetModeArgs {
    /// "idle" (the default: messages are typed in when you are back at your
    /// prompt), "immediate" (typed in at once, even while you are working) or
    /// "manual" (held until you call flush_inbox).
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageStatusArgs {
    /// The id of a message you sent or received: the "msg ..." id that
    /// send_message returned or that a message header showed.
    pub message_id: String,
}

/// Tools without arguments still take an (empty) object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub struct NoArgs {}

/// Trims an optional text argument; an empty one counts as absent.
pub fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_limit_defaults_and_clamps() {
        assert_eq!(ReadInboxArgs { limit: None }.effective_limit(), 20);
        assert_eq!(ReadInboxArgs { limit: Some(0) }.effective_limit(), 1);
        assert_eq!(ReadInboxArgs { limit: Some(5) }.effective_limit(), 5);
        assert_eq!(
            ReadInboxArgs {
                limit: Some(10_000)
            }
            .effective_limit(),
            200
        );
    }

    #[test]
    fn send_schema_has_no_sender_and_requires_to_and_body() {
        let schema = serde_json::to_value(schemars::schema_for!(SendMessageArgs)).unwrap();
        let props = schema["properties"].as_object().unwrap();
        assert!(props.contains_key("to") && props.contains_key("body"));
        assert!(!props.contains_key("from"));
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(required, ["to", "body"]);
    }

    #[test]
    fn a_from_is_read_only_to_be_refused() {
        let args = serde_json::from_value::<SendMessageArgs>(
            serde_json::json!({"to": "bob", "body": "hi", "from": "carol"}),
        )
        .unwrap();
        assert_eq!(args.from, Some(serde_json::json!("carol")));
        let err = serde_json::from_value::<SendMessageArgs>(
            serde_json::json!({"to": "bob", "body": "hi", "sender": "carol"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `sender`"));
    }

    #[test]
    fn the_mode_schema_is_a_plain_enum_of_the_broker_names() {
        let schema = serde_json::to_value(schemars::schema_for!(SetModeArgs)).unwrap();
        let mode = &schema["properties"]["mode"];
        assert_eq!(
            mode["enum"],
            serde_json::json!(["idle", "immediate", "manual"]),
            "{schema}"
        );
        assert!(!schema.to_string().contains("$ref"), "{schema}");
        assert_eq!(schema["required"], serde_json::json!(["mode"]));
        for (text, mode) in [
            ("idle", Mode::Idle),
            ("immediate", Mode::Immediate),
            ("manual", Mode::Manual),
        ] {
            let args: SetModeArgs =
                serde_json::from_value(serde_json::json!({ "mode": text })).unwrap();
            assert_eq!(args.mode, mode);
            assert_eq!(mode.as_str(), text);
        }
        let err = serde_json::from_value::<SetModeArgs>(serde_json::json!({"mode": "later"}))
            .unwrap_err();
        assert!(err.to_string().contains("unknown variant `later`"), "{err}");
    }

    #[test]
    fn message_status_needs_an_id() {
        let args: MessageStatusArgs =
            serde_json::from_value(serde_json::json!({"message_id": "01AB"})).unwrap();
        assert_eq!(args.message_id, "01AB");
        assert!(serde_json::from_value::<MessageStatusArgs>(serde_json::json!({})).is_err());
    }

    #[test]
    fn blank_optional_text_is_absent() {
        assert_eq!(non_empty(Some("  ".into())), None);
        assert_eq!(non_empty(Some(" 01AB ".into())), Some("01AB".into()));
        assert_eq!(non_empty(None), None);
    }
}
