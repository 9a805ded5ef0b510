//! Agents, channel memberships and lifecycle events.

use courier_core::recipient::{validate_agent_name, validate_channel_name};
use courier_core::{CoreError, Event, EventKind};
use rusqlite::params;

use super::Result;
use crate::error::{SqlContext, StoreError};
use crate::reads;
use crate::types::AgentRecord;
use crate::writer::Ctx;

/// Registers or updates an agent; `created_at` is set on first registration
/// and kept afterwards. Returns the stored record.
pub(crate) fn upsert_agent(ctx: &mut Ctx<'_>, record: AgentRecord) -> Result<AgentRecord> {
    validate_agent_name(&record.name)?;
    let spec = serde_json::to_string(&record.spec).map_err(|e| StoreError::BadRow {
        path: ctx.path.to_path_buf(),
        what: format!("agent {}", record.name),
        detail: e.to_string(),
    })?;
    let mut stmt = ctx
        .conn
        .prepare_cached(
            "INSERT INTO agents (name, spec, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE SET spec = excluded.spec",
        )
        .during(ctx.path, "preparing an agent upsert")?;
    stmt.execute(params![record.name, spec, ctx.now.as_millis()])
        .during(ctx.path, "writing an agent")?;
    reads::agent(ctx.conn, ctx.path, &record.name)?.ok_or(StoreError::Refused(
        CoreError::UnknownAgent { name: record.name },
    ))
}

/// Removes an agent and its channel memberships (one `channel_left` event
/// each). Its deliveries stay. Returns whether it existed.
pub(crate) fn remove_agent(ctx: &mut Ctx<'_>, name: &str) -> Result<bool> {
    let channels: Vec<String> = reads::channels(ctx.conn, ctx.path)?
        .into_iter()
        .filter(|(_, members)| members.iter().any(|m| m == name))
        .map(|(channel, _)| channel)
        .collect();
    for channel in channels {
        leave(ctx, &channel, name)?;
    }
    let mut stmt = ctx
        .conn
        .prepare_cached("DELETE FROM agents WHERE name = ?1")
        .during(ctx.path, "preparing an agent delete")?;
    Ok(stmt.execute([name]).during(ctx.path, "removing an agent")? == 1)
}

/// Adds a known agent to a channel (`#` optional). Returns false if it was
/// already a member (no event then).
pub(crate) fn join(ctx: &mut Ctx<'_>, channel: &str, agent: &str) -> Result<bool> {
    let channel = validate_channel_name(channel)?;
    if reads::agent(ctx.conn, ctx.path, agent)?.is_none() {
        return Err(CoreError::UnknownAgent {
            name: agent.to_string(),
        }
        .into());
    }
    let mut stmt = ctx
        .conn
        .prepare_cached(
            "INSERT OR IGNORE INTO channel_members (channel, agent, joined_at) VALUES (?1, ?2, ?3)",
        )
        .during(ctx.path, "preparing a channel join")?;
    let added = stmt
        .execute(params![channel, agent, ctx.now.as_millis()])
        .during(ctx.path, "joining a channel")?
        == 1;
    if added {
        ctx.emit(EventKind::ChannelJoined {
            channel,
            agent: agent.to_string(),
        })?;
    }
    Ok(added)
}

/// Removes an agent from a channel. Returns false if it was not a member.
pub(crate) fn leave(ctx: &mut Ctx<'_>, channel: &str, agent: &str) -> Result<bool> {
    let channel = validate_channel_name(channel)?;
    let mut stmt = ctx
        .conn
        .prepare_cached("DELETE FROM channel_members WHERE channel = ?1 AND agent = ?2")
        .during(ctx.path, "preparing a channel leave")?;
    let removed = stmt
        .execute(params![channel, agent])
        .during(ctx.path, "leaving a channel")?
        == 1;
    if removed {
        ctx.emit(EventKind::ChannelLeft {
            channel,
            agent: agent.to_string(),
        })?;
    }
    Ok(removed)
}

/// Appends an agent or broker lifecycle event, or a watchdog's
/// `delivery_stuck` (an observation, not a state change). Message, delivery
/// and channel events are refused: only the operation that changes that state writes
/// them, so the log and the state cannot disagree.
pub(crate) fn append_event(ctx: &mut Ctx<'_>, kind: EventKind) -> Result<Event> {
    match kind {
        EventKind::AgentSpawned { .. }
        | EventKind::AgentReattached { .. }
        | EventKind::AgentReady { .. }
        | EventKind::AgentIdle { .. }
        | EventKind::AgentBusy { .. }
        | EventKind::AgentHeld { .. }
        | EventKind::AgentUnheld { .. }
        | EventKind::AgentExited { .. }
        | EventKind::AgentReleased { .. }
        | EventKind::AgentCrashed { .. }
        | EventKind::AgentRestarted { .. }
        | EventKind::AgentDead { .. }
        | EventKind::AgentDone { .. }
        | EventKind::AgentContextLow { .. }
        | EventKind::AgentInterrupted { .. }
        | EventKind::AgentChannel { .. }
        | EventKind::AgentFlushed { .. }
        | EventKind::DeliveryStuck { .. }
        | EventKind::DeliveryOnScreen { .. }
        | EventKind::BrokerStarted { .. }
        | EventKind::BrokerStopping { .. }
        | EventKind::HostAway { .. }
        | EventKind::HostBack { .. }
        | EventKind::ConversationPrompt { .. }
        | EventKind::ConversationReply { .. }
        | EventKind::ConversationToolCall { .. }
        | EventKind::ConversationError { .. } => ctx.emit(kind),
        other => Err(StoreError::NotLifecycleEvent { kind: other.name() }),
    }
}
