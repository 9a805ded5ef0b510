//! `courier ask NAME TEXT`: send a message and wait for its reply (its
//! `reply_to` link: a headless agent's final answer to the turn the message
//! started, or a message sent with `thread` set to its id), for scripts and
//! orchestrators. The exit code says how it ended (see [`AskExit`]).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use courier_core::DeliveryState;
use courier_protocol::deliveries::{DeliveryView, MessageStatus, SendReceipt, SendRequest};
use courier_protocol::events::EventsPage;
use serde_json::{Value, json};

use crate::cli::AskArgs;
use crate::client::{Client, decode, segment};
use crate::event_stream::{EventStream, Next};
use crate::output::cell_of;

/// How `courier ask` ended; the broker's own errors exit 1 like any command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskExit {
    /// A reply came; it is printed.
    Replied = 0,
    /// No reply within `--timeout`; the message stays queued or delivered.
    TimedOut = 3,
    /// The delivery ended without reaching the agent for certain:
    /// unverified, dropped or dead-lettered (printed with its reason), or
    /// the send reached nobody.
    Undelivered = 4,
}

/// Sends `args.text` to `args.name` and waits for the reply: it follows
/// the broker's event stream from before the send and looks at the message
/// (`GET /v1/messages/{id}`) when an event says its wait may be over — a
/// `message_replied` for it, one of its deliveries ended unverified, dead
/// or dropped — and after the stream had to be opened again.
pub async fn ask(client: &Client, args: AskArgs, json_out: bool) -> anyhow::Result<ExitCode> {
    // The cursor before the send: whatever happens to the message is after it.
    let since = last_seq(client).await?;
    let body = SendRequest {
        from: Some(args.from),
        to: args.name,
        body: args.text,
        thread: None,
        idempotency_key: None,
    };
    let v = client.post("/v1/messages", &json!(body)).await?;
    let receipt: SendReceipt = decode(&v, "a send")?;
    let id = receipt.message_id.clone();
    if receipt.deliveries.is_empty() {
        let why = "the send reached no agent (refused by the ACL, or nobody to send to)";
        return Ok(finish(json_out, AskExit::Undelivered, &id.0, None, why));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
    let mut stream = EventStream::new(client, since);
    loop {
        let next = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(next) => next.with_context(|| format!("waiting for the reply to {}", id.0))?,
            Err(_) => {
                // Time is up: one last look, which also says where it is.
                let (v, status) = look(stream.client(), &id.0).await?;
                if let Some(exit) = settled(json_out, &id.0, &v, &status) {
                    return Ok(exit);
                }
                let why = format!(
                    "no reply within {}s; deliveries: {}",
                    args.timeout,
                    states(&status.deliveries)
                );
                return Ok(finish(json_out, AskExit::TimedOut, &id.0, Some(&v), &why));
            }
        };
        let may_be_over = match &next {
            Next::Event(event) => ends_the_wait(event, &id.0),
            // Events may have been missed (pruned, or a stream reopened).
            Next::Gap(_) | Next::Reconnected => true,
        };
        if may_be_over {
            let (v, status) = look(stream.client(), &id.0).await?;
            if let Some(exit) = settled(json_out, &id.0, &v, &status) {
                return Ok(exit);
            }
        }
    }
}

/// The newest seq in the event log.
async fn last_seq(client: &Client) -> anyhow::Result<u64> {
    let v = client
        .get(&format!("/v1/events?since={}&limit=1", u64::MAX))
        .await?;
    let page: EventsPage = decode(&v, "an event page")?;
    Ok(page.last_seq)
}

/// Message `id`'s status, as the broker sent it and as read.
async fn look(client: &Client, id: &str) -> anyhow::Result<(Value, MessageStatus)> {
    let v = client
        .get(&format!("/v1/messages/{}", segment(id)))
        .await
        .with_context(|| format!("waiting for the reply to {id}"))?;
    let status: MessageStatus = decode(&v, "a message")?;
    Ok((v, status))
}

/// Whether `event` may end the wait for message `id`: its reply, or one of
/// its deliveries ending without reaching the agent for certain.
fn ends_the_wait(event: &Value, id: &str) -> bool {
    let mine = event["message_id"] == id;
    match event["type"].as_str().unwrap_or_default() {
        "message_replied" | "delivery_dead" => mine,
        "delivery_verified" => mine && event["verification"] == "timeout_fallback",
        "delivery_dropped" => event["dropped"]
            .as_array()
            .is_some_and(|dropped| dropped.iter().any(|d| d["message_id"] == id)),
        _ => false,
    }
}

/// How the wait ends given the message's status (printed), if it does:
/// its first reply, or every delivery ended undelivered.
fn settled(json_out: bool, id: &str, v: &Value, status: &MessageStatus) -> Option<ExitCode> {
    if let Some(reply) = status.replies.first() {
        if json_out {
            print_json(AskExit::Replied, v, None);
        } else {
            println!("{}", courier_core::display::for_terminal(&reply.text));
        }
        return Some(code(AskExit::Replied));
    }
    let why = undelivered(&status.deliveries)?;
    Some(finish(json_out, AskExit::Undelivered, id, Some(v), &why))
}

/// Why no reply will come: every delivery ended unverified, dropped or
/// dead, with its state and reason. `None` while one may still be answered.
fn undelivered(deliveries: &[DeliveryView]) -> Option<String> {
    let ended = |d: &DeliveryView| {
        matches!(
            d.state,
            DeliveryState::Unverified | DeliveryState::Dropped | DeliveryState::Dead
        )
    };
    if deliveries.is_empty() || !deliveries.iter().all(ended) {
        return None;
    }
    let each: Vec<String> = deliveries
        .iter()
        .map(|d| {
            format!(
                "to {}: {} ({})",
                cell_of(&d.agent),
                cell_of(&d.state),
                d.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    Some(each.join("; "))
}

fn states(deliveries: &[DeliveryView]) -> String {
    deliveries
        .iter()
        .map(|d| format!("{} {}", cell_of(&d.agent), cell_of(&d.state)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn finish(json_out: bool, exit: AskExit, id: &str, status: Option<&Value>, why: &str) -> ExitCode {
    if json_out {
        print_json(
            exit,
            status.unwrap_or(&json!({ "message": { "id": id } })),
            Some(why),
        );
    } else {
        let what = match exit {
            AskExit::TimedOut => "timed out",
            _ => "not delivered",
        };
        eprintln!(
            "courier ask: {what}: {}; follow it with `courier message {id}`",
            courier_core::display::for_terminal(why)
        );
    }
    code(exit)
}

/// `{"outcome", "reason"?, "reply"?, "status"}`: the message's status as
/// the broker sent it, and what ended the wait.
fn print_json(exit: AskExit, status: &Value, why: Option<&str>) {
    let outcome = match exit {
        AskExit::Replied => "replied",
        AskExit::TimedOut => "timeout",
        AskExit::Undelivered => "undelivered",
    };
    let mut out = json!({ "outcome": outcome, "status": status });
    if let Some(reply) = status.get("replies").and_then(|r| r.get(0)) {
        out["reply"] = reply.clone();
    }
    if let Some(why) = why {
        out["reason"] = json!(why);
    }
    println!("{out}");
}

fn code(exit: AskExit) -> ExitCode {
    ExitCode::from(exit as u8)
}
