//! What the model reads back from each tool: short plain text that names
//! ids the way the terminal header does (`msg <id>`), so a reply can thread.

use std::fmt::Write as _;

use crate::types::{
    AgentInfo, AgentList, ChannelList, DeliveryInfo, Inbox, InboxItem, MembershipChange,
    SendReceipt, Whoami,
};

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

fn dropped_line(d: &DeliveryInfo) -> String {
    format!("msg {} from {} to {}", d.message_id, d.from, d.agent)
}

fn agent_state(agent: &AgentInfo) -> String {
    let status = &agent.status;
    if let Some(exit) = &status.exited {
        return match (exit.code, exit.signal) {
            (Some(code), _) => format!("exited (code {code})"),
            (None, Some(signal)) => format!("exited (signal {signal})"),
            (None, None) => "exited".to_string(),
        };
    }
    let mut state = match (status.ready, status.busy) {
        (true, false) => "ready".to_string(),
        (true, true) => "busy".to_string(),
        (false, _) => match &status.not_ready {
            Some(why) => format!("not ready ({why})"),
            None => "not ready".to_string(),
        },
    };
    if agent.queue_depth > 0 {
        let _ = write!(
            state,
            ", {} waiting",
            plural(agent.queue_depth, "message", "messages")
        );
    }
    state
}

pub fn agent_list(me: &str, list: &AgentList) -> String {
    if list.agents.is_empty() {
        return "No agents are running.".to_string();
    }
    let mut out = format!(
        "{} (ready = idle at its prompt, busy = working; messages wait until it is ready):",
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

fn state_note(item: &InboxItem) -> String {
    let d = &item.delivery;
    let mut note = d.state.clone();
    match d.state.as_str() {
        "verified" => note.push_str(": shown in your terminal"),
        "unverified" => note.push_str(
            ": typed into your terminal but never seen on screen; you may have missed it",
        ),
        "dropped" | "dead" => note.push_str(": never reached your terminal"),
        "queued" | "injecting" | "injected" => note.push_str(": not shown to you yet"),
        _ => {}
    }
    if let Some(reason) = &d.reason {
        let _ = write!(note, " (reason: {reason})");
    }
    note
}

fn inbox_item(item: &InboxItem) -> String {
    let m = &item.message;
    let mut header = format!(
        "[courier] from {} to {} | msg {}",
        m.from,
        target(&m.to),
        m.id
    );
    if let Some(thread) = &m.thread {
        let _ = write!(header, " | thread {thread}");
    }
    let when = m
        .created_at
        .as_deref()
        .map(|t| format!(" | {t}"))
        .unwrap_or_default();
    format!(
        "{header}{when}\nstate: {}\n{}",
        state_note(item),
        m.body.trim_end()
    )
}

pub fn inbox(inbox: &Inbox) -> String {
    if inbox.deliveries.is_empty() {
        return "Your inbox is empty: no message has been sent to you yet.".to_string();
    }
    let mut out = format!(
        "{} to you, newest first:",
        plural(
            inbox.deliveries.len(),
            "most recent message",
            "most recent messages"
        )
    );
    for item in &inbox.deliveries {
        out.push_str("\n\n");
        out.push_str(&inbox_item(item));
    }
    out
}

pub fn whoami(me: &Whoami, url: &str) -> String {
    match (me.kind.as_str(), &me.agent) {
        ("agent", Some(name)) => format!(
            "You are agent \"{name}\" on the Courier broker at {url}. Other agents see your \
             messages as coming from \"{name}\"; you cannot send as anyone else."
        ),
        ("owner", _) => format!(
            "This server holds the broker owner's token (broker at {url}), not an agent's. \
             Sends need an agent token; check COURIER_TOKEN."
        ),
        (kind, _) => format!("The broker at {url} says this token is of kind {kind:?}."),
    }
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
