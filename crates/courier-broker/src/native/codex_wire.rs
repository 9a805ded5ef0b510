//! What Codex's app server writes, read into what the client needs: the
//! notes that prove or end a turn, the updates a transcript keeps, the
//! thread a TUI started. Pure: no I/O, nothing about deliveries.

use serde_json::Value;

use super::jsonrpc::Incoming;
use super::turn::Update;

/// What the server said about the turns (not the conversation in them).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TurnNote {
    /// A `userMessage` item of turn `turn`: its text.
    UserMessage { turn: String, text: String },
    /// `turn/completed`: the turn, its status and its error's message.
    Completed {
        turn: String,
        status: String,
        error: Option<String>,
    },
}

pub(super) fn turn_note(incoming: &Incoming) -> Option<TurnNote> {
    let params = &incoming.params;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    match incoming.method.as_str() {
        "item/started" | "item/completed" => {
            let item = params.get("item")?;
            (text(item, "type")? == "userMessage").then(|| TurnNote::UserMessage {
                turn: text(params, "turnId").unwrap_or_default(),
                text: input_text(item.get("content").unwrap_or(&Value::Null)),
            })
        }
        "turn/completed" => {
            let turn = params.get("turn")?;
            Some(TurnNote::Completed {
                turn: text(turn, "id")?,
                status: text(turn, "status").unwrap_or_default(),
                error: turn
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
        }
        _ => None,
    }
}

/// The first thread of a `thread/loaded/list` answer (ids, or threads).
pub(super) fn first_thread(listed: &Value) -> Option<String> {
    let first = listed.get("data")?.as_array()?.first()?;
    first
        .as_str()
        .or_else(|| first.get("id").and_then(Value::as_str))
        .map(str::to_string)
}

/// The text of a `UserInput[]`: its text items, one per line.
pub(super) fn input_text(content: &Value) -> String {
    content
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|i| i.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A notification a transcript keeps: the agent's message as it streams,
/// and each tool item as it starts and ends.
pub(super) fn parse_update(incoming: &Incoming) -> Option<Update> {
    let params = &incoming.params;
    match incoming.method.as_str() {
        "item/agentMessage/delta" => Some(Update::MessageChunk(
            params.get("delta")?.as_str()?.to_string(),
        )),
        "item/started" | "item/completed" => {
            let item = params.get("item")?;
            let kind = item.get("type")?.as_str()?;
            if matches!(kind, "userMessage" | "agentMessage" | "reasoning") {
                return None;
            }
            Some(Update::ToolCall {
                id: item.get("id")?.as_str()?.to_string(),
                title: Some(tool_title(kind, item)),
                status: item
                    .get("status")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
        }
        _ => None,
    }
}

/// What a tool item did, in a few words: the command, the MCP tool, or
/// the item's type.
fn tool_title(kind: &str, item: &Value) -> String {
    let text = |key: &str| item.get(key).and_then(Value::as_str);
    match (kind, text("command"), text("server"), text("tool")) {
        ("commandExecution", Some(command), _, _) => command.to_string(),
        ("mcpToolCall", _, Some(server), Some(tool)) => format!("{server}.{tool}"),
        _ => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn note(method: &str, params: Value) -> Option<TurnNote> {
        turn_note(&Incoming {
            method: method.into(),
            params,
        })
    }

    #[test]
    fn a_user_message_item_and_the_turn_end_are_read_as_codex_writes_them() {
        // As Codex 0.171.0 wrote them, offline.
        let item = json!({"item": {"type": "userMessage", "id": "i1", "clientId": null,
            "content": [{"type": "text", "text": "hello from courier", "text_elements": []}]},
            "threadId": "th", "turnId": "tu"});
        assert_eq!(
            note("item/started", item),
            Some(TurnNote::UserMessage {
                turn: "tu".into(),
                text: "hello from courier".into()
            })
        );
        let done = json!({"threadId": "th", "turn": {"id": "tu", "status": "failed",
            "error": {"message": "no network", "codexErrorInfo": "other"}}});
        assert_eq!(
            note("turn/completed", done),
            Some(TurnNote::Completed {
                turn: "tu".into(),
                status: "failed".into(),
                error: Some("no network".into())
            })
        );
    }

    #[test]
    fn tool_items_are_kept_and_messages_are_not() {
        let update = |params: Value| {
            parse_update(&Incoming {
                method: "item/started".into(),
                params,
            })
        };
        assert_eq!(
            update(json!({"item": {"type": "commandExecution", "id": "c1",
                "command": "ls -la", "status": "inProgress"}})),
            Some(Update::ToolCall {
                id: "c1".into(),
                title: Some("ls -la".into()),
                status: Some("inProgress".into())
            })
        );
        assert_eq!(
            update(json!({"item": {"type": "agentMessage", "id": "a1", "text": ""}})),
            None
        );
        let delta = parse_update(&Incoming {
            method: "item/agentMessage/delta".into(),
            params: json!({"delta": "hi", "itemId": "a1"}),
        });
        assert_eq!(delta, Some(Update::MessageChunk("hi".into())));
    }
}
