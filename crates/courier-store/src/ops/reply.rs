//! A reply to a message: its row in `replies` (the durable `reply_to`
//! link) and its `message_replied` event, in one transaction.

use courier_core::{Event, EventKind, Reply, ReplyVia};
use rusqlite::params;

use super::Result;
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
    let mut stmt = ctx
        .conn
        .prepare_cached(
            "INSERT INTO replies (reply_to, sender, via, body, message_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .during(ctx.path, "preparing a reply insert")?;
    stmt.execute(params![
        reply.reply_to.as_str(),
        reply.from,
        via_name(reply.via),
        reply.text,
        reply.message_id.as_ref().map(|m| m.as_str()),
        reply.created_at.as_millis(),
    ])
    .during(ctx.path, "recording a reply")?;
    let event = ctx.emit(EventKind::MessageReplied {
        message_id: reply.reply_to,
        from: reply.from,
        via: reply.via,
        reply_id: reply.message_id,
    })?;
    Ok(Some(event))
}
