//! The native channel: one delivery carried by the agent CLI's own
//! protocol (ACP's `session/prompt`, a stream-json user line) and what that
//! protocol reported, for core's `settle_protocol`. Every protocol is
//! spoken through [`NativeSession`]; only [`report_of`] reads its answer.
//!
//! `injected` is committed before the request is written, as it is before
//! Enter on a terminal: after a crash of the broker, a delivery still
//! `injecting` provably never reached the agent, an `injected` one may have.
//! The turn's conversation — the prompt, the agent's reply, its tool calls,
//! an error — is recorded as events as it happens (`courier transcript`).

use std::time::Duration;

use courier_core::delivery::Transition;
use courier_core::event::EventKind;
use courier_core::framing;
use courier_core::settle::{Exit, ProtocolAttempt, ProtocolReport, Settlement, settle_protocol};
use courier_core::time::{Clock, SystemClock};
use courier_core::{Delivery, Message, MessageId, Reply, ReplyVia};
use courier_terminal::Terminal;

use super::crash;
use super::screen_witness::ScreenWitness;
use crate::agents::context::AgentContext;
use crate::native::session::Pending;
use crate::native::{NativeSession, PromptAnswer, Update};

/// How long an agent whose protocol went away has to exit, so its
/// delivery is settled as a crash with the exit it had.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// What is sent for `message`: its header line and body, as typed into a
/// terminal but with no framing (nothing here runs it as code).
pub fn prompt_text(message: &Message) -> String {
    framing::frame(
        &message.from,
        &message.to,
        &message.id,
        message.thread.as_ref(),
        &message.body,
    )
}

/// How a delivery joins the agent's conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joins {
    /// A turn of its own (or, in `immediate` mode, steered into a turn
    /// someone else started); its turn's answer is its reply.
    OwnTurn,
    /// Steered into the turn another delivery of this broker started and
    /// is following: the turn's updates and its reply are that one's.
    ThatTurn,
}

/// Carries one claimed delivery through `native`; core settles the report.
pub async fn carry(
    ctx: &AgentContext,
    delivery: &Delivery,
    message: &Message,
    native: &NativeSession,
    joins: Joins,
) -> Settlement {
    let text = prompt_text(message);
    if joins == Joins::OwnTurn {
        native.drain_updates().await;
    }
    // An agent whose protocol already went away never sees it: nothing is
    // marked, and the next generation gets it.
    if let Some(why) = native.closed() {
        let exit = exit_within(ctx, EXIT_WAIT).await;
        return settle(ProtocolReport::NotSent { why }, false, exit);
    }
    if let Err(e) = ctx
        .store
        .transition_async(&delivery.id, Transition::Written)
        .await
    {
        let why = format!("cannot record the injection, nothing sent: {e}");
        return settle(ProtocolReport::NotSent { why }, false, None);
    }
    ctx.record_queued(EventKind::ConversationPrompt {
        name: ctx.spec.name.clone(),
        delivery_id: delivery.id.clone(),
        message_id: message.id.clone(),
        from: message.from.clone(),
        text: text.clone(),
    });
    // `immediate`: into the running turn, where the protocol can steer.
    let steer = joins == Joins::ThatTurn
        || *ctx.control.mode.borrow() == courier_core::DeliveryMode::Immediate;
    // A TUI sharing the protocol should show it too: the second witness.
    let witness = ScreenWitness::before(ctx, &text);
    let pending = match native.prompt(&text, steer).await {
        Ok(pending) => pending,
        Err(why) => {
            let exit = exit_within(ctx, EXIT_WAIT).await;
            conversation_error(ctx, &message.id, &why);
            return settle(ProtocolReport::NotSent { why }, true, exit);
        }
    };
    let (answer, reply) = answer_of(ctx, &message.id, native, pending, joins).await;
    let report = report_of(answer, &reply);
    let exit = match report {
        ProtocolReport::Gone { .. } => exit_within(ctx, EXIT_WAIT).await,
        _ => None,
    };
    if let (Some(witness), ProtocolReport::Carried) = (witness, &report) {
        witness.record_after(delivery, message);
    }
    record_answer(ctx, message, &report, joins, reply);
    tracing::debug!(?report, "carried natively");
    settle(report, true, exit)
}

/// What the turn said, in the conversation: a turn of its own that
/// carried the message answered it (its reply); anything but carried is
/// an error of the conversation.
fn record_answer(
    ctx: &AgentContext,
    message: &Message,
    report: &ProtocolReport,
    joins: Joins,
    reply: String,
) {
    match (report, joins) {
        (ProtocolReport::Carried, Joins::OwnTurn) => record_reply(ctx, message, reply),
        // The turn's reply is the message's that started it.
        (ProtocolReport::Carried, Joins::ThatTurn) => {}
        _ => conversation_error(ctx, &message.id, &report.to_string()),
    }
}

/// The turn's answer and its reply: a turn of its own is followed (busy
/// meanwhile, its conversation recorded); a steered message only waits
/// for the answer (the turn's follower is another delivery's).
async fn answer_of(
    ctx: &AgentContext,
    message_id: &MessageId,
    native: &NativeSession,
    pending: Pending<'_>,
    joins: Joins,
) -> (PromptAnswer, String) {
    match joins {
        Joins::OwnTurn => {
            native.set_turn(true);
            let followed = follow_turn(ctx, message_id, native, pending).await;
            native.set_turn(false);
            followed
        }
        Joins::ThatTurn => (pending.answer().await, String::new()),
    }
}

/// What the protocol's answer to the prompt reports: a refused turn's
/// reason is the agent's own words, when it said some.
fn report_of(answer: PromptAnswer, reply: &str) -> ProtocolReport {
    match answer {
        PromptAnswer::Stopped(stop) => match stop.as_str() {
            "refusal" if reply.trim().is_empty() => ProtocolReport::TurnRefused {
                message: "the agent refused the turn".into(),
            },
            "refusal" => ProtocolReport::TurnRefused {
                message: reply.trim().to_string(),
            },
            "cancelled" => ProtocolReport::TurnCancelled,
            _ => ProtocolReport::Carried,
        },
        PromptAnswer::Error(message) => ProtocolReport::Refused { message },
        PromptAnswer::TurnFailed(message) => ProtocolReport::TurnRefused { message },
        PromptAnswer::Unproven(why) => ProtocolReport::Unproven { why },
        PromptAnswer::Closed(why) => ProtocolReport::Gone { why },
        PromptAnswer::NotTaken(why) => ProtocolReport::NotSent { why },
    }
}

fn settle(report: ProtocolReport, marked_injected: bool, exit: Option<Exit>) -> Settlement {
    settle_protocol(ProtocolAttempt {
        report,
        marked_injected,
        exit,
    })
}

/// Follows the turn until its answer, recording tool calls as they come
/// and the reply once the turn ended; the answer and the reply.
async fn follow_turn(
    ctx: &AgentContext,
    message_id: &MessageId,
    native: &NativeSession,
    pending: Pending<'_>,
) -> (PromptAnswer, String) {
    let answer = pending.answer();
    tokio::pin!(answer);
    let mut reply = String::new();
    let mut streaming = true;
    let answer = loop {
        tokio::select! {
            answer = &mut answer => break answer,
            update = native.next_update(), if streaming => match update {
                Some(update) => take_update(ctx, message_id, update, &mut reply),
                None => streaming = false,
            },
        }
    };
    // Updates sent right before the answer may still be queued: chunks of
    // the reply, and tool calls (often the last one's completion).
    while let Some(update) = next_ready(native).await {
        take_update(ctx, message_id, update, &mut reply);
    }
    if !reply.is_empty() {
        ctx.record_queued(EventKind::ConversationReply {
            name: ctx.spec.name.clone(),
            message_id: Some(message_id.clone()),
            text: reply.clone(),
        });
    }
    (answer, reply)
}

/// The turn's final answer is the reply to the message that started it
/// (`reply_to`, kept in the store; `message_replied`), even when empty:
/// the turn ended and that was all it said. Queued, not awaited: it
/// commits before (or with) the delivery's outcome, which is.
fn record_reply(ctx: &AgentContext, message: &Message, text: String) {
    let reply = Reply {
        reply_to: message.id.clone(),
        from: ctx.spec.name.clone(),
        via: ReplyVia::Protocol,
        text,
        message_id: None,
        created_at: SystemClock.now(),
    };
    ctx.record_reply_queued(reply);
}

/// One update of the turn of `message_id`: a chunk goes into `reply`, a
/// tool call is recorded.
fn take_update(ctx: &AgentContext, message_id: &MessageId, update: Update, reply: &mut String) {
    match update {
        Update::MessageChunk(text) => reply.push_str(&text),
        Update::ToolCall { id, title, status } => {
            ctx.record_queued(EventKind::ConversationToolCall {
                name: ctx.spec.name.clone(),
                message_id: Some(message_id.clone()),
                tool_call_id: id,
                title,
                status,
            });
        }
    }
}

/// An update already read, without waiting for another.
async fn next_ready(native: &NativeSession) -> Option<Update> {
    tokio::time::timeout(Duration::ZERO, native.next_update())
        .await
        .ok()
        .flatten()
}

fn conversation_error(ctx: &AgentContext, message_id: &MessageId, error: &str) {
    ctx.record_queued(EventKind::ConversationError {
        name: ctx.spec.name.clone(),
        message_id: Some(message_id.clone()),
        error: error.to_string(),
    });
}

/// The agent's exit, if it comes within `wait`.
async fn exit_within(ctx: &AgentContext, wait: Duration) -> Option<Exit> {
    tokio::time::timeout(wait, ctx.session.wait_exit())
        .await
        .ok()
        .map(crash::exit_of)
}
