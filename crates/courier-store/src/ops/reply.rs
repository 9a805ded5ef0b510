//! A reply to a message: its row in `replies` (the durable `reply_to`
//! link) and its `message_replied` event, in one transaction. A reply given
//! on another host comes here as that host's outcome
//! ([`record_remote_reply`]), kept once by its place in that host's log.

use courier_core::{Event, EventKind, Reply, ReplyVia};
use rusqlite::params;

use super::{Result, seq_param};
use crate::error::SqlContext;
use crate::reads;
use crate::writer::Ctx;

/// The wire name of `via` in its text column.
pub(crate) fn via_name(via: ReplyVia) -> &'static str {
    match via {
        ReplyVia::Protocol => "protocol",
        ReplyVia::Message => "message",
    }
}

/// Records `reply`, dated by this commit; `None` when the message it answers is not stored (an
/// unknown or pruned id links to nothing).
pub(crate) fn record_reply(ctx: &mut Ctx<'_>, mut reply: Reply) -> Result<Option<Event>> {
    reply.created_at = ctx.now;
    if reads::message_only(ctx.conn, ctx.path, &reply.reply_to)?.is_none() {
        return Ok(None);
    }
    insert(ctx, &reply, None)?;
    emit(ctx, reply).map(Some)
}

/// Records `reply`, given on `host` and logged there at `seq`, as it was
/// dated there; `None` when it is already recorded (the same outcome
/// applied again), or when it answers no message this host forwarded to
/// `host` (unknown here, pruned, or not ours to be answered from there).
pub(crate) fn record_remote_reply(
    ctx: &mut Ctx<'_>,
    host: &str,
    seq: u64,
    reply: Reply,
) -> Result<Option<Event>> {
    if !forwarded_to(ctx, &reply, host)? {
        tracing::debug!(message = %reply.reply_to, host, "a reply to no message forwarded there; ignored");
        return Ok(None);
    }
    if !insert(ctx, &reply, Some((host, seq)))? {
        return Ok(None);
    }
    emit(ctx, reply).map(Some)
}

/// Whether this host forwarded message `reply.reply_to` to an agent of
/// `host` (a delivery of it that `host` reported committing).
fn forwarded_to(ctx: &Ctx<'_>, reply: &Reply, host: &str) -> Result<bool> {
    let mut stmt = ctx
        .conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE message_id = ?1 \
             AND forwarded_to = ?2 AND origin_host IS NULL)",
        )
        .during(ctx.path, "preparing a forwarded message lookup")?;
    stmt.query_row(params![reply.reply_to.as_str(), host], |r| r.get(0))
        .during(ctx.path, "looking up a forwarded message")
}

/// Inserts the row; `false` when a reply from `origin` at that seq is
/// already there (the unique index `replies_from_hosts`).
fn insert(ctx: &Ctx<'_>, reply: &Reply, origin: Option<(&str, u64)>) -> Result<bool> {
    let mut stmt = ctx
        .conn
        .prepare_cached(
            "INSERT INTO replies (reply_to, sender, via, body, message_id, created_at, \
             origin_host, origin_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT DO NOTHING",
        )
        .during(ctx.path, "preparing a reply insert")?;
    let inserted = stmt
        .execute(params![
            reply.reply_to.as_str(),
            reply.from,
            via_name(reply.via),
            reply.text,
            reply.message_id.as_ref().map(|m| m.as_str()),
            reply.created_at.as_millis(),
            origin.map(|(host, _)| host),
            origin.map(|(_, seq)| seq_param(seq)),
        ])
        .during(ctx.path, "recording a reply")?;
    Ok(inserted == 1)
}

fn emit(ctx: &mut Ctx<'_>, reply: Reply) -> Result<Event> {
    ctx.emit(EventKind::MessageReplied {
        message_id: reply.reply_to,
        from: reply.from,
        via: reply.via,
        reply_id: reply.message_id,
    })
}
