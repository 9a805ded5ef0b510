//! Writes. Each function runs inside one request's savepoint in the writer
//! thread, asks core for every decision, and writes the state change and its
//! events together.

pub(crate) mod agents;
pub(crate) mod federation;
pub(crate) mod read;
pub(crate) mod reply;
pub(crate) mod send;
pub(crate) mod spawn;
pub(crate) mod tokens;
pub(crate) mod transition;

use courier_core::queue;
use courier_core::{Delivery, DeliveryId};
use rusqlite::params;

use crate::error::{SqlContext, StoreError};
use crate::reads;
use crate::writer::Ctx;

type Result<T> = std::result::Result<T, StoreError>;

fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Reads a delivery or fails with [`StoreError::UnknownDelivery`].
pub(crate) fn load(ctx: &Ctx<'_>, id: &DeliveryId) -> Result<Delivery> {
    reads::delivery(ctx.conn, ctx.path, id)?
        .ok_or_else(|| StoreError::UnknownDelivery { id: id.clone() })
}

const INSERT_DELIVERY: &str = "INSERT INTO deliveries (id, message_id, agent, sender, state, \
     attempt, verification, reason, session, created_at, updated_at, queue_pos, channel, read_at, \
     forwarded_to, origin_host) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
     ?14, ?15, ?16)";

const UPDATE_DELIVERY: &str = "UPDATE deliveries SET state = ?2, attempt = ?3, verification = ?4, \
     reason = ?5, session = ?6, updated_at = ?7, queue_pos = coalesce(?8, queue_pos), channel = ?9, \
     read_at = ?10, forwarded_to = ?11 WHERE id = ?1";

/// Inserts a new delivery at queue position `queue_pos`.
pub(crate) fn insert_delivery(ctx: &Ctx<'_>, d: &Delivery, queue_pos: u64) -> Result<()> {
    let mut stmt = ctx
        .conn
        .prepare_cached(INSERT_DELIVERY)
        .during(ctx.path, "preparing a delivery insert")?;
    stmt.execute(params![
        d.id.as_str(),
        d.message_id.as_str(),
        d.agent,
        d.from,
        d.state.as_str(),
        d.attempt,
        d.verification.map(|v| v.as_str()),
        d.reason,
        d.session,
        d.created_at.as_millis(),
        d.updated_at.as_millis(),
        seq_param(queue_pos),
        d.channel.map(|c| c.as_str()),
        d.read_at.map(|t| t.as_millis()),
        d.forwarded_to,
        d.origin_host,
    ])
    .during(ctx.path, "inserting a delivery")?;
    Ok(())
}

/// Writes a changed delivery; `queue_pos` moves it in its queue when given.
pub(crate) fn update_delivery(ctx: &Ctx<'_>, d: &Delivery, queue_pos: Option<u64>) -> Result<()> {
    let mut stmt = ctx
        .conn
        .prepare_cached(UPDATE_DELIVERY)
        .during(ctx.path, "preparing a delivery update")?;
    let changed = stmt
        .execute(params![
            d.id.as_str(),
            d.state.as_str(),
            d.attempt,
            d.verification.map(|v| v.as_str()),
            d.reason,
            d.session,
            d.updated_at.as_millis(),
            queue_pos.map(seq_param),
            d.channel.map(|c| c.as_str()),
            d.read_at.map(|t| t.as_millis()),
            d.forwarded_to,
        ])
        .during(ctx.path, "updating a delivery")?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::UnknownDelivery { id: d.id.clone() })
    }
}

/// Makes room for `incoming` new pending deliveries of `agent` (a send or a
/// replay): evicts the oldest queued ones (core decides how many and how)
/// with one `delivery_dropped` event. Returns the dropped deliveries.
pub(crate) fn make_room(ctx: &mut Ctx<'_>, agent: &str, incoming: usize) -> Result<Vec<Delivery>> {
    let counts = reads::queue_counts(ctx.conn, ctx.path, agent)?;
    let needed =
        queue::evictions_needed(counts.pending, counts.queued, incoming, ctx.opts.queue_cap);
    if needed == 0 {
        return Ok(Vec::new());
    }
    evict_oldest(ctx, agent, needed)
}

/// Makes room for one delivery of `agent` coming back from flight to its
/// queue (a retry or a requeue), so the queue never holds more than the cap.
pub(crate) fn make_room_for_return(ctx: &mut Ctx<'_>, agent: &str) -> Result<Vec<Delivery>> {
    let counts = reads::queue_counts(ctx.conn, ctx.path, agent)?;
    let needed = queue::evictions_on_return(counts.queued, 1, ctx.opts.queue_cap);
    if needed == 0 {
        return Ok(Vec::new());
    }
    evict_oldest(ctx, agent, needed)
}

/// Drops the `count` oldest queued deliveries of `agent` with one
/// `delivery_dropped` event naming them.
fn evict_oldest(ctx: &mut Ctx<'_>, agent: &str, count: usize) -> Result<Vec<Delivery>> {
    let victims = reads::oldest_queued(ctx.conn, ctx.path, agent, count)?;
    let (dropped, event) = queue::evict(agent, &victims, ctx.now)?;
    for d in &dropped {
        update_delivery(ctx, d, None)?;
    }
    if let Some(event) = event {
        ctx.emit(event)?;
    }
    tracing::debug!(agent, count = dropped.len(), "queue cap evicted deliveries");
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::options::Synchronous;
    use crate::schema::{Target, open_writer};

    /// Writing a delivery builds no temporary table (an `IN` list of more
    /// than two constants in an index condition or a trigger would build one
    /// at every row: schema version 6). `EXPLAIN` lists the triggers'
    /// programs too.
    #[test]
    fn delivery_writes_build_no_temporary_table() {
        let conn = open_writer(Target::Memory, Path::new(":memory:"), Synchronous::Full)
            .unwrap()
            .conn;
        for sql in [super::INSERT_DELIVERY, super::UPDATE_DELIVERY] {
            let mut stmt = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
            let params = vec![rusqlite::types::Null; stmt.parameter_count()];
            let ops = stmt
                .query_map(rusqlite::params_from_iter(params), |r| {
                    r.get::<_, String>(1)
                })
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>();
            assert!(
                ops.iter().any(|op| op == "Program"),
                "{sql}: no trigger ran"
            );
            assert!(
                !ops.iter().any(|op| op == "OpenEphemeral"),
                "{sql}: {ops:?}"
            );
        }
    }
}
