//! `courier transcript NAME`: a headless agent's conversation — the
//! messages it got, its replies, tool calls and errors — from
//! `GET /v1/agents/{name}/transcript`; `--follow` keeps reading new turns,
//! `--json` prints each event as the broker sent it.

use std::process::ExitCode;
use std::time::Duration;

use courier_protocol::events::{EventKind, Transcript};

use crate::cli::TranscriptArgs;
use crate::client::{Client, decode, segment};
use crate::output::{json_line, text};

/// How often `--follow` asks for new turns.
const FOLLOW_EVERY: Duration = Duration::from_millis(300);

pub async fn transcript(
    client: &Client,
    args: TranscriptArgs,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let mut since = args.since;
    loop {
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
            if json_out {
                json_line(raw);
            } else if let Some(line) = line_of(&event.kind) {
                println!("{}", line);
            }
        }
        since = match page.events.last() {
            Some(last) => last.seq,
            None if args.follow => since.max(page.last_seq),
            None => return Ok(ExitCode::SUCCESS),
        };
        if page.events.is_empty() {
            tokio::time::sleep(FOLLOW_EVERY).await;
        }
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
