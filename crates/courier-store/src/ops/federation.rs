//! Federation writes (see `crate::federation`). Core decides what an
//! outcome does to the local copy (`courier_core::remote::follow`) and what
//! the queue cap evicts; this file only writes.

use courier_core::{Delivery, EventKind, Message, Transition};
use rusqlite::{OptionalExtension, params};

use super::{Result, insert_delivery, make_room, seq_param, update_delivery};
use crate::error::SqlContext;
use crate::federation::{Inbound, InboundDelivery, RemoteAgent, RemoteOutcome};
use crate::reads;
use crate::writer::Ctx;

/// Why a forwarded delivery to a name no agent of this host has ends.
pub const REASON_NOT_HERE: &str = "unknown_agent_here";

pub(crate) fn accept_inbound(
    ctx: &mut Ctx<'_>,
    batch: Vec<InboundDelivery>,
) -> Result<Vec<Inbound>> {
    let mut answers = Vec::with_capacity(batch.len());
    for inbound in batch {
        answers.push(accept_one(ctx, inbound)?);
    }
    Ok(answers)
}

fn accept_one(ctx: &mut Ctx<'_>, inbound: InboundDelivery) -> Result<Inbound> {
    if reads::delivery(ctx.conn, ctx.path, &inbound.delivery_id)?.is_some() {
        return Ok(Inbound::Duplicate);
    }
    insert_message_once(ctx, &inbound.message)?;
    let here = reads::agent(ctx.conn, ctx.path, &inbound.agent)?.is_some();
    if here {
        make_room(ctx, &inbound.agent, 1)?;
    }
    let mut delivery = Delivery::queued(
        inbound.delivery_id.clone(),
        inbound.message.id.clone(),
        &inbound.agent,
        &inbound.message.from,
        ctx.now,
    );
    delivery.origin_host = Some(inbound.origin_host.clone());
    ctx.emit(EventKind::DeliveryReceived {
        delivery_id: delivery.id.clone(),
        message_id: delivery.message_id.clone(),
        agent: delivery.agent.clone(),
        from_host: inbound.origin_host,
    })?;
    let queued = ctx.emit(delivery.queued_event())?;
    insert_delivery(ctx, &delivery, queued.seq)?;
    if !here {
        // Released here after the sender last saw the directory: a dead
        // letter whose drop goes back to the sender, never a silent loss.
        super::transition::transition(
            ctx,
            &delivery.id,
            Transition::Drop {
                reason: REASON_NOT_HERE.to_string(),
            },
        )?;
    }
    Ok(Inbound::Committed)
}

/// The message of a forwarded delivery, once per message id (a channel
/// message forwarded to two agents of this host arrives twice). Its
/// idempotency key stays with the sender's host, which already judged it.
fn insert_message_once(ctx: &Ctx<'_>, m: &Message) -> Result<()> {
    let mut stmt = ctx
        .conn
        .prepare_cached(
            "INSERT OR IGNORE INTO messages (id, sender, recipient, body, thread, idempotency_key, \
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
        )
        .during(ctx.path, "preparing an inbound message insert")?;
    stmt.execute(params![
        m.id.as_str(),
        m.from,
        m.to.to_string(),
        m.body,
        m.thread.as_ref().map(|t| t.as_str()),
        m.created_at.as_millis(),
    ])
    .during(ctx.path, "inserting an inbound message")?;
    Ok(())
}

pub(crate) fn apply_outcomes(
    ctx: &mut Ctx<'_>,
    host: &str,
    outcomes: Vec<RemoteOutcome>,
) -> Result<usize> {
    let mut applied = 0;
    for outcome in outcomes {
        // A reply given there: recorded once by its place in that host's
        // log (`replies_from_hosts`), as each delivery event is by
        // `remote_seq`. A reply is only ever logged, never a snapshot.
        if let Some(reply) = outcome.reply {
            if !outcome.snapshot
                && super::reply::record_remote_reply(ctx, host, outcome.seq, reply)?.is_some()
            {
                applied += 1;
            }
            continue;
        }
        for id in outcome.event.delivery_ids() {
            let Some(local) = reads::delivery(ctx.conn, ctx.path, id)? else {
                continue; // pruned here, or never ours
            };
            // Only a copy this host forwarded follows another host's log.
            if local.origin_host.is_some()
                || reads::agent(ctx.conn, ctx.path, &local.agent)?.is_some()
            {
                tracing::warn!(delivery = %id, host, "an outcome for a delivery this host owns; ignored");
                continue;
            }
            let last_seq = remote_seq(ctx, id)?;
            let followed = courier_core::remote::follow(
                &local,
                last_seq,
                outcome.origin(),
                host,
                &outcome.event,
                ctx.now,
            );
            if let Some((next, events)) = followed.change {
                update_delivery(ctx, &next, None)?;
                for event in events {
                    ctx.emit(event)?;
                }
                applied += 1;
            }
            if let Some(seq) = followed.last_seq.filter(|_| followed.last_seq != last_seq) {
                set_remote_seq(ctx, id, seq)?;
            }
        }
    }
    Ok(applied)
}

fn remote_seq(ctx: &Ctx<'_>, id: &courier_core::DeliveryId) -> Result<Option<u64>> {
    let mut stmt = ctx
        .conn
        .prepare_cached("SELECT remote_seq FROM deliveries WHERE id = ?1")
        .during(ctx.path, "preparing a remote seq lookup")?;
    let seq: Option<Option<i64>> = stmt
        .query_row([id.as_str()], |r| r.get(0))
        .optional()
        .during(ctx.path, "reading a remote seq")?;
    Ok(seq.flatten().map(|s| u64::try_from(s).unwrap_or(0)))
}

fn set_remote_seq(ctx: &Ctx<'_>, id: &courier_core::DeliveryId, seq: u64) -> Result<()> {
    let mut stmt = ctx
        .conn
        .prepare_cached("UPDATE deliveries SET remote_seq = ?2 WHERE id = ?1")
        .during(ctx.path, "preparing a remote seq update")?;
    stmt.execute(params![id.as_str(), seq_param(seq)])
        .during(ctx.path, "recording a remote seq")?;
    Ok(())
}

pub(crate) fn upsert_remote(ctx: &mut Ctx<'_>, agents: Vec<RemoteAgent>) -> Result<Vec<String>> {
    let mut skipped = Vec::new();
    for agent in agents {
        if reads::agent(ctx.conn, ctx.path, &agent.name)?.is_some() {
            skipped.push(agent.name);
            continue;
        }
        let channels = serde_json::to_string(&agent.channels).unwrap_or_else(|_| "[]".into());
        let mut stmt = ctx
            .conn
            .prepare_cached(
                "INSERT OR REPLACE INTO remote_agents (name, host, presence, channels, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .during(ctx.path, "preparing a remote agent upsert")?;
        stmt.execute(params![
            agent.name,
            agent.host,
            agent.presence,
            channels,
            agent.updated_at.as_millis()
        ])
        .during(ctx.path, "recording a remote agent")?;
    }
    Ok(skipped)
}

pub(crate) fn remove_remote(ctx: &mut Ctx<'_>, name: &str) -> Result<bool> {
    let removed = ctx
        .conn
        .prepare_cached("DELETE FROM remote_agents WHERE name = ?1")
        .during(ctx.path, "preparing a remote agent delete")?
        .execute([name])
        .during(ctx.path, "forgetting a remote agent")?
        > 0;
    if removed {
        for queued in reads::oldest_queued(ctx.conn, ctx.path, name, 1 << 40)? {
            super::transition::transition(
                ctx,
                &queued.id,
                Transition::Drop {
                    reason: "agent_released".to_string(),
                },
            )?;
        }
    }
    Ok(removed)
}

pub(crate) fn set_cursor(ctx: &mut Ctx<'_>, name: &str, seq: u64) -> Result<()> {
    ctx.conn
        .prepare_cached("INSERT OR REPLACE INTO federation_cursors (name, seq) VALUES (?1, ?2)")
        .during(ctx.path, "preparing a cursor update")?
        .execute(params![name, seq_param(seq)])
        .during(ctx.path, "recording a cursor")?;
    Ok(())
}
