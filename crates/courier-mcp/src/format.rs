//! What the model reads back from each tool: short plain text that names
//! ids the way the terminal header does (`msg <id>`), so a reply can thread.
//! Every tool's text passes through [`shown`] before it leaves, because the
//! agent's CLI shows it to a person in a terminal.

use std::fmt::Write as _;

use courier_core::display::for_terminal;
use courier_core::{AgentState, DeliveryChannel, DeliveryState};
use courier_protocol::agents::TokenKind;

use crate::types::{
    AgentList, AgentView, ChannelList, DeliveryView, DoneReport, Flushed, InboxItem, InboxRead,
    MembershipChange, MessageStatus, ModeChange, SendReceipt, Whoami,
};

/// A tool's text as it may be shown: bodies, reasons and names can come
/// from any sender, so no escape sequence, C1 control, bidi or invisible
/// character is left in it (they are made visible, see
/// `courier_core::display`).
pub fn shown(text: &str) -> String {
    for_terminal(text).into_owned()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn channel_name(name: &str) -> String {
    format!("#{}", name.trim_start_matches('#'))
}

pub fn send_receipt(to: &str, receipt: &SendReceipt) -> String {
    let mut out = String::new();
    if receipt.duplicate {
        let _ = write!(
            out,
            "Already sent: this idempotency key was used before, so nothing new was sent. \
             The original message is msg {}.",
            receipt.message_id
        );
    } else {
        let _ = write!(out, "Sent msg {} to {to}.", receipt.message_id);
    }
    let names: Vec<&str> = receipt
        .deliveries
        .iter()
        .map(|d| d.agent.as_str())
        .collect();
    if names.is_empty() {
        if !receipt.duplicate {
            out.push_str(
                " Nobody received it: no other agent matches that recipient \
                 (an empty channel, or you are the only agent).",
            );
        }
    } else {
        let _ = write!(
            out,
            " Recipients ({}): {}. It is queued and will be typed into each \
             recipient's terminal when it is ready.",
            names.len(),
            names.join(", ")
        );
    }
    if !receipt.refused.is_empty() {
        let _ = write!(
            out,
            "\nNot sent to {}: the broker's rules of who may message whom refuse it ({}).",
            receipt
                .refused
                .iter()
                .map(|r| r.agent.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            receipt
                .refused
                .iter()
                .map(|r| format!("{}: rule {}", r.agent, r.rule))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if !receipt.dropped.is_empty() {
        let _ = write!(
            out,
            "\nA full queue made the broker drop {}: {}.",
            plural(receipt.dropped.len(), "older delivery", "older deliveries"),
            receipt
                .dropped
                .iter()
                .map(dropped_line)
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    out
}

fn dropped_line(d: &DeliveryView) -> String {
    format!("msg {} from {} to {}", d.message_id, d.from, d.agent)
}

/// The broker's state of `agent`, with why when the listing says it, and
/// the messages waiting for it.
fn agent_state(agent: &AgentView) -> String {
    let status = agent.status.clone().unwrap_or_default();
    let why = match agent.state {
        AgentState::Exited => {
            status
                .exited
                .as_ref()
                .and_then(|exit| match (exit.code, exit.signal) {
                    (Some(code), _) => Some(format!("code {code}")),
                    (None, Some(signal)) => Some(format!("signal {signal}")),
                    (None, None) => None,
                })
        }
        AgentState::Starting => status.not_ready.clone(),
        AgentState::Held => status.held.clone(),
        AgentState::Dead => agent.dead_reason.clone(),
        _ => None,
    };
    let word = agent.state.as_str();
    let mut state = match why {
        Some(why) => format!("{word} ({why})"),
        None => word.to_string(),
    };
    // An agent of another host has no count here (nothing queued on this
    // host); a local one without a count is one the store could not count.
    match agent.queue_depth {
        Some(0) => {}
        Some(n) => {
            let _ = write!(state, ", {} waiting", plural(n, "message", "messages"));
        }
        None if agent.remote == Some(true) => {}
        None => state.push_str(", messages waiting unknown"),
    }
    state
}

pub fn agent_list(me: &str, list: &AgentList) -> String {
    if list.agents.is_empty() {
        return "No agents are running.".to_string();
    }
    let mut out = format!(
        "{} (idle/ready/done = at its prompt, busy = working; messages wait while it is \
         busy, starting, held or stuck, and are never typed into one exited or dead):",
        plural(list.agents.len(), "agent", "agents")
    );
    for agent in &list.agents {
        let you = if agent.name == me { " (you)" } else { "" };
        let channels = if agent.channels.is_empty() {
            "no channels".to_string()
        } else {
            agent
                .channels
                .iter()
                .map(|c| channel_name(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = write!(
            out,
            "\n- {}{you}: {}; {channels}",
            agent.name,
            agent_state(agent)
        );
    }
    out
}

pub fn channel_list(me: &str, list: &ChannelList) -> String {
    if list.channels.is_empty() {
        return "No channels yet. Join one with join_channel; it exists once it has a member."
            .to_string();
    }
    let mut out = format!("{}:", plural(list.channels.len(), "channel", "channels"));
    for channel in &list.channels {
        let member = if channel.members.iter().any(|m| m == me) {
            " (you are a member)"
        } else {
            ""
        };
        let members = if channel.members.is_empty() {
            "no members".to_string()
        } else {
            channel.members.join(", ")
        };
        let _ = write!(
            out,
            "\n- {}{member}: {members}",
            channel_name(&channel.name)
        );
    }
    out
}

pub fn joined(change: &MembershipChange) -> String {
    let channel = channel_name(&change.channel);
    if change.changed {
        format!("Joined {channel}. Messages sent to {channel} now reach you.")
    } else {
        format!("You were already a member of {channel}.")
    }
}

pub fn left(change: &MembershipChange) -> String {
    let channel = channel_name(&change.channel);
    if change.changed {
        format!("Left {channel}. Messages sent to {channel} no longer reach you.")
    } else {
        format!("You were not a member of {channel}; nothing changed.")
    }
}

fn target(to: &str) -> String {
    match to {
        "*" => "* (broadcast)".to_string(),
        t if t.starts_with('#') => t.to_string(),
        _ => "you (direct)".to_string(),
    }
}

/// How a read delivery got to its agent, from the channel it records.
fn read_via(channel: Option<DeliveryChannel>) -> &'static str {
    match channel {
        Some(DeliveryChannel::Hook) => {
            "handed over by read_inbox or a hook, never typed into the terminal"
        }
        Some(DeliveryChannel::Pty) => "after it was typed into the terminal",
        Some(DeliveryChannel::Native) => "after the agent's own protocol carried it",
        None => "",
    }
}

/// Where a delivery stands, for the agent it is for. `claimed`: this very
/// call took it over.
fn state_note(item: &InboxItem, mode: Option<&str>, claimed: bool) -> String {
    let d = &item.delivery;
    let mut note = d.state.as_str().to_string();
    match d.state {
        DeliveryState::Read if claimed => {
            note.push_str(": handed over here, not typed into your terminal")
        }
        DeliveryState::Verified => note.push_str(": shown in your terminal"),
        DeliveryState::Unverified => note.push_str(
            ": typed into your terminal but never seen on screen; you may have missed it",
        ),
        DeliveryState::Read => match read_via(d.channel) {
            "" => note.push_str(": you took it in already"),
            via => {
                let _ = write!(note, ": you took it in already, {via}");
            }
        },
        DeliveryState::Dropped | DeliveryState::Dead => {
            note.push_str(": never reached your terminal")
        }
        DeliveryState::Queued if mode == Some("manual") => note.push_str(
            ": held because your delivery mode is manual; call flush_inbox to release it",
        ),
        DeliveryState::Queued => note.push_str(
            ": not shown to you yet; it will be typed into your terminal when you are ready, \
             or call read_inbox again to take it here",
        ),
        DeliveryState::Injecting | DeliveryState::Injected => {
            note.push_str(": being typed into your terminal right now")
        }
        _ => {}
    }
    if let Some(reason) = &d.reason {
        let _ = write!(note, " (reason: {reason})");
    }
    note
}

fn inbox_item(item: &InboxItem, mode: Option<&str>, claimed: bool) -> String {
    let d = &item.delivery;
    // An inbox lists each delivery with its message; without one, the
    // delivery's own fields still say whose and which.
    let (to, body, thread, created_at) = match &d.message {
        Some(m) => (
            m.to.to_string(),
            m.body.as_str(),
            m.thread.as_ref(),
            m.created_at,
        ),
        None => (d.agent.clone(), "", None, d.created_at),
    };
    let mut header = format!(
        "[courier] from {} to {} | msg {}",
        d.from,
        target(&to),
        d.message_id
    );
    if let Some(thread) = thread {
        let _ = write!(header, " | thread {thread}");
    }
    let when = format!(" | {created_at}");
    let body = if item.body_withheld {
        "(text not shown here: it is still on its way to your terminal, and showing it here \
         too would deliver it twice)"
    } else {
        body.trim_end()
    };
    format!(
        "{header}{when}\nstate: {}\n{body}",
        state_note(item, mode, claimed)
    )
}

/// `read_inbox`: what it took over now, then the rest of the recent inbox.
pub fn inbox_read(view: &InboxRead) -> String {
    let mode = view.mode.as_deref();
    let mut sections = Vec::new();
    if !view.claimed.is_empty() {
        let mut out = format!(
            "{} for you, handed over here (marked read; they will not also be typed into \
             your terminal):",
            plural(view.claimed.len(), "new message", "new messages")
        );
        for item in &view.claimed {
            out.push_str("\n\n");
            out.push_str(&inbox_item(item, mode, true));
        }
        sections.push(out);
    }
    if !view.deliveries.is_empty() {
        let (one, many) = if view.claimed.is_empty() {
            ("most recent message", "most recent messages")
        } else {
            ("other recent message", "other recent messages")
        };
        let mut out = format!(
            "{} to you, newest first:",
            plural(view.deliveries.len(), one, many)
        );
        for item in &view.deliveries {
            out.push_str("\n\n");
            out.push_str(&inbox_item(item, mode, false));
        }
        sections.push(out);
    }
    if let Some(problem) = &view.listing_error {
        sections.push(format!(
            "(The rest of your inbox could not be listed: {problem}.)"
        ));
    }
    if sections.is_empty() {
        return "Your inbox is empty: no message has been sent to you yet.".to_string();
    }
    sections.join("\n\n")
}

/// `set_delivery_mode`: what the new mode means for the agent.
pub fn mode_set(change: &ModeChange) -> String {
    let meaning = match change.mode.as_str() {
        "idle" => {
            "messages for you are typed into your terminal when you are back at your prompt \
             (the default)"
        }
        "immediate" => {
            "messages for you are typed into your terminal as soon as they arrive, even while \
             you are working"
        }
        "manual" => {
            "messages for you are held, durably, until you call flush_inbox; read_inbox lists \
             them but cannot show their text while they are held"
        }
        _ => "",
    };
    let mut out = format!("Your delivery mode is now {}", change.mode);
    if !meaning.is_empty() {
        let _ = write!(out, ": {meaning}");
    }
    out.push_str(". It is kept across broker restarts.");
    out
}

/// `flush_inbox`.
/// The answer to `report_done`.
pub fn done_reported(report: &DoneReport) -> String {
    match &report.result {
        Some(_) => "Reported to Courier: you are done, with your result. Whoever spawned you \
                    sees it (`courier agents`, event agent_done)."
            .to_string(),
        None => "Reported to Courier: you are done (no result given). Whoever spawned you sees \
                 it (`courier agents`, event agent_done)."
            .to_string(),
    }
}

pub fn flushed(flush: &Flushed) -> String {
    if flush.flushed == 0 {
        return "Nothing was waiting: no message for you is queued.".to_string();
    }
    let n = usize::try_from(flush.flushed).unwrap_or(usize::MAX);
    format!(
        "Released {}. Each is typed into your terminal when you are ready, unless you call \
         read_inbox first, which hands them over here instead (each reaches you once). Later \
         messages are held again while your mode is manual.",
        plural(n, "held message", "held messages")
    )
}

/// One recipient's delivery, as its sender cares about it.
fn recipient_line(d: &DeliveryView) -> String {
    let verification = d.verification.map(|v| v.as_str());
    let how = match (verification, d.reason.as_deref()) {
        (Some(v), Some(r)) => format!(" (verification: {v}, reason: {r})"),
        (Some(v), None) => format!(" (verification: {v})"),
        (None, Some(r)) => format!(" (reason: {r})"),
        (None, None) => String::new(),
    };
    let mut line = match (d.read_at, d.state.as_str()) {
        (Some(at), _) => {
            let via = read_via(d.channel);
            let via = if via.is_empty() {
                String::new()
            } else {
                format!(", {via}")
            };
            format!("read at {at}{via}{how}")
        }
        (None, "verified") => {
            format!("not read yet; typed into its terminal and seen on its screen{how}")
        }
        (None, "unverified") => {
            format!("not read yet; typed into its terminal but never seen on its screen{how}")
        }
        (None, "queued") => format!(
            "not read yet; queued, waiting for it to be ready (or held by its manual mode){how}"
        ),
        (None, "injecting" | "injected") => {
            format!("not read yet; being typed into its terminal{how}")
        }
        (None, "dropped" | "dead") => format!("{}: never delivered{how}", d.state),
        (None, "forwarded") => format!(
            "not read yet; its host ({}) has it and is delivering it{how}",
            d.forwarded_to.as_deref().unwrap_or("another host")
        ),
        (None, state) => format!("not read yet; {state}{how}"),
    };
    if d.attempt > 0 {
        let _ = write!(
            line,
            "; {} failed before",
            plural(d.attempt as usize, "attempt", "attempts")
        );
    }
    format!("- {}: {line}", d.agent)
}

/// The first line of a body, cut short, so the model recognises its message.
fn excerpt(body: &str) -> String {
    const MAX: usize = 80;
    let first = body.trim().lines().next().unwrap_or_default();
    let cut: String = first.chars().take(MAX).collect();
    let more = cut.len() < body.trim().len();
    format!("\"{cut}{}\"", if more { "…" } else { "" })
}

/// `message_status`: who has read a message, and where each delivery is.
pub fn message_status(status: &MessageStatus) -> String {
    let m = &status.message;
    let mut out = format!("msg {} from {} to {}", m.id, m.from, m.to);
    if let Some(thread) = &m.thread {
        let _ = write!(out, " | thread {thread}");
    }
    let _ = write!(out, " | {}", m.created_at);
    let _ = write!(out, "\n{}", excerpt(&m.body));
    let total = status.deliveries.len();
    if total == 0 {
        out.push_str("\nIt had no recipients.");
        return out;
    }
    if status.read_by.is_empty() {
        let _ = write!(
            out,
            "\nNobody has read it yet ({}).",
            plural(total, "recipient", "recipients")
        );
    } else {
        let _ = write!(
            out,
            "\nRead by {} of {total}: {}.",
            status.read_by.len(),
            status.read_by.join(", ")
        );
    }
    for d in &status.deliveries {
        out.push('\n');
        out.push_str(&recipient_line(d));
    }
    for r in &status.replies {
        let via = match r.via {
            courier_protocol::ReplyVia::Protocol => "its final answer".to_string(),
            courier_protocol::ReplyVia::Message => match &r.message_id {
                Some(id) => format!("msg {id}"),
                None => "a message".to_string(),
            },
        };
        let _ = write!(
            out,
            "\nReply from {} ({via}, {}): {}",
            r.from,
            r.created_at,
            excerpt(&r.text)
        );
    }
    out
}

pub fn whoami(me: &Whoami, url: &str) -> String {
    match (me.kind, &me.agent) {
        (TokenKind::Agent, Some(name)) => format!(
            "You are agent \"{name}\" on the Courier broker at {url}. Other agents see your \
             messages as coming from \"{name}\"; you cannot send as anyone else."
        ),
        (TokenKind::Owner, _) => format!(
            "This server holds the broker owner's token (broker at {url}), not an agent's. \
             Sends need an agent token; check COURIER_TOKEN."
        ),
        (kind, _) => format!(
            "The broker at {url} says this token is of kind {:?}.",
            serde_json::to_value(kind)
                .ok()
                .and_then(|k| k.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
    }
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
