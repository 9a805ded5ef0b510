//! `courier transcript NAME`: a headless agent's conversation — the
//! messages it got, its replies, tool calls and errors — from
//! `GET /v1/agents/{name}/transcript`; `--follow` then prints new ones as
//! they happen, from the broker's event stream; `--json` prints each event
//! as the broker sent it.

use std::process::ExitCode;

use courier_protocol::events::{Event, EventKind, Transcript};
use serde_json::Value;

use crate::cli::TranscriptArgs;
use crate::client::{Client, decode, segment};
use crate::event_stream::{EventStream, Next};
use crate::output::{json_line, text};

/// Prints the transcript after `args.since`, page by page; with
/// `--follow`, then every new conversation event of the agent from the
/// broker's event stream, from the transcript's cursor on.
pub async fn transcript(
    client: &Client,
    args: TranscriptArgs,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let mut since = args.since;
    let cursor = loop {
        let path = format!(
            "/v1/agents/{}/transcript?since={since}&limit=1000",
            segment(&args.name)
        );
        let v = client.get(&path).await?;
        let page: Transcript = decode(&v, "a transcript")?;
        for (raw, event) in v["events"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(&page.events)
        {
            print(raw, event, json_out);
        }
        since = match page.events.last() {
            Some(last) => last.seq,
            None if args.follow => break since.max(page.last_seq),
            None => return Ok(ExitCode::SUCCESS),
        };
    };
    // The page's cursor was read before its events: whatever was committed
    // since is after it, on the stream.
    let mut stream = EventStream::new(client, cursor);
    loop {
        match stream.next().await? {
            Next::Event(raw) => {
                let of_agent = raw["name"] == args.name.as_str()
                    && EventKind::CONVERSATION.contains(&raw["type"].as_str().unwrap_or_default());
                if of_agent && let Ok(event) = serde_json::from_value::<Event>(raw.clone()) {
                    print(&raw, &event, json_out);
                }
            }
            Next::Gap(gap) => eprintln!(
                "courier transcript: {} events were pruned before they could be read (after seq {})",
                gap["missed"], gap["after"]
            ),
            Next::Reconnected => {}
        }
    }
}

/// `--json`: the event as the broker sent it; else its lines, if it is one
/// a person reads.
fn print(raw: &Value, event: &Event, json_out: bool) {
    if json_out {
        json_line(raw);
    } else if let Some(line) = line_of(&event.kind) {
        println!("{}", line);
    }
}

/// One conversation event as a person reads it (through `display`).
fn line_of(kind: &EventKind) -> Option<String> {
    Some(match kind {
        EventKind::ConversationPrompt {
            from, text: said, ..
        } => {
            format!("── {} →\n{}", text(from), text(said))
        }
        EventKind::ConversationReply {
            name, text: said, ..
        } => {
            format!("── {} ←\n{}", text(name), text(said))
        }
        EventKind::ConversationToolCall {
            tool_call_id,
            title,
            status,
            ..
        } => format!(
            "── tool {} {} ({})",
            text(tool_call_id),
            text(title.as_deref().unwrap_or("")),
            text(status.as_deref().unwrap_or("reported"))
        ),
        EventKind::ConversationError { error, .. } => format!("── error: {}", text(error)),
        _ => return None,
    })
}
