//! Read receipts, claims by a hook, and delivery modes.

use courier_core::{
    CoreError, Delivery, DeliveryChannel, DeliveryId, DeliveryMode, EventKind, Message, Transition,
};
use rusqlite::params;

use super::Result;
use super::transition::apply;
use crate::error::{SqlContext, StoreError};
use crate::reads;
use crate::types::AgentRecord;
use crate::writer::Ctx;

/// Marks deliveries of `agent` read: the given ones, or every delivered and
/// unread one when `ids` is `None`. Ids of other agents' deliveries, and
/// deliveries not delivered yet or already read, are skipped. Returns the
/// deliveries it marked.
pub(crate) fn mark_read(
    ctx: &mut Ctx<'_>,
    agent: &str,
    ids: Option<Vec<DeliveryId>>,
) -> Result<Vec<Delivery>> {
    let candidates = match ids {
        None => reads::unread(ctx.conn, ctx.path, agent)?,
        Some(ids) => {
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(d) = reads::delivery(ctx.conn, ctx.path, &id)? {
                    found.push(d);
                }
            }
            found
        }
    };
    let mut marked = Vec::new();
    for d in candidates {
        if d.agent != agent || !d.state.is_delivered() {
            continue;
        }
        marked.push(apply(ctx, &d, Transition::Read { channel: None })?);
    }
    Ok(marked)
}

/// Takes up to `limit` of the oldest queued deliveries of `agent` for
/// `channel` (a hook): each becomes `read` with that channel in this one
/// transaction, so the terminal task can no longer claim it (and one it is
/// typing is not queued, so the hook cannot take it).
///
/// It does not look at the agent's delivery mode: `manual` lets a hook take
/// only what a flush let through, and the flush units live in the running
/// broker (shared with the terminal task), so the broker passes the `limit`
/// the mode allows, and does not ask at all while deliveries are held (see
/// `Broker::claim_for_hook` in courier-broker).
pub(crate) fn claim_for(
    ctx: &mut Ctx<'_>,
    agent: &str,
    channel: DeliveryChannel,
    limit: usize,
) -> Result<Vec<(Delivery, Message)>> {
    let mut out = Vec::new();
    for queued in reads::oldest_queued(ctx.conn, ctx.path, agent, limit)? {
        let message =
            reads::message_only(ctx.conn, ctx.path, &queued.message_id)?.ok_or_else(|| {
                StoreError::BadRow {
                    path: ctx.path.to_path_buf(),
                    what: format!("delivery {}", queued.id),
                    detail: format!("its message {} is missing", queued.message_id),
                }
            })?;
        let claimed = apply(
            ctx,
            &queued,
            Transition::Read {
                channel: Some(channel),
            },
        )?;
        out.push((claimed, message));
    }
    Ok(out)
}

/// Sets the delivery mode of a registered agent (`agent_mode` event when it
/// changes). Returns the stored record.
pub(crate) fn set_mode(ctx: &mut Ctx<'_>, agent: &str, mode: DeliveryMode) -> Result<AgentRecord> {
    let before = reads::agent(ctx.conn, ctx.path, agent)?.ok_or_else(|| {
        StoreError::Refused(CoreError::UnknownAgent {
            name: agent.to_string(),
        })
    })?;
    if before.mode != mode {
        let mut stmt = ctx
            .conn
            .prepare_cached("UPDATE agents SET mode = ?2 WHERE name = ?1")
            .during(ctx.path, "preparing a mode change")?;
        stmt.execute(params![agent, mode.as_str()])
            .during(ctx.path, "changing an agent's mode")?;
        ctx.emit(EventKind::AgentMode {
            name: agent.to_string(),
            mode,
        })?;
    }
    Ok(AgentRecord { mode, ..before })
}
