//! `courier ask NAME TEXT`: send a message and wait for its reply (its
//! `reply_to` link: a headless agent's final answer to the turn the message
//! started, or a message sent with `thread` set to its id), for scripts and
//! orchestrators. The exit code says how it ended (see [`AskExit`]).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use courier_core::DeliveryState;
use courier_protocol::deliveries::{DeliveryView, MessageStatus, SendReceipt, SendRequest};
use serde_json::{Value, json};

use crate::cli::AskArgs;
use crate::client::{Client, decode, segment};
use crate::output::cell_of;

/// How often the message is looked at while waiting.
const POLL: Duration = Duration::from_millis(200);

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

/// Sends `args.text` to `args.name` and waits for the reply.
pub async fn ask(client: &Client, args: AskArgs, json_out: bool) -> anyhow::Result<ExitCode> {
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
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    loop {
        let v = client
            .get(&format!("/v1/messages/{}", segment(&id.0)))
            .await
            .with_context(|| format!("waiting for the reply to {}", id.0))?;
        let status: MessageStatus = decode(&v, "a message")?;
        if let Some(reply) = status.replies.first() {
            if json_out {
                print_json(AskExit::Replied, &v, None);
            } else {
                println!("{}", courier_core::display::for_terminal(&reply.text));
            }
            return Ok(code(AskExit::Replied));
        }
        if let Some(why) = undelivered(&status.deliveries) {
            return Ok(finish(
                json_out,
                AskExit::Undelivered,
                &id.0,
                Some(&v),
                &why,
            ));
        }
        if Instant::now() >= deadline {
            let why = format!(
                "no reply within {}s; deliveries: {}",
                args.timeout,
                states(&status.deliveries)
            );
            return Ok(finish(json_out, AskExit::TimedOut, &id.0, Some(&v), &why));
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
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
