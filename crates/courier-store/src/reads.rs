//! Queries that change nothing. They take any connection: the read connection
//! (file stores), or the write connection inside the writer thread.

use std::path::Path;

use courier_core::event::EventKind;
use courier_core::{Delivery, DeliveryId, DeliveryMode, Event, Message, MessageId, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{SqlContext, StoreError};
use crate::rows::{self, DELIVERY_COLUMNS, EVENT_COLUMNS, MESSAGE_COLUMNS};
use crate::types::AgentRecord;

type Result<T> = std::result::Result<T, StoreError>;

fn collect<T>(
    conn: &Connection,
    path: &Path,
    sql: &str,
    params: impl rusqlite::Params,
    map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    during: &'static str,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).during(path, during)?;
    let rows = stmt.query_map(params, map).during(path, during)?;
    rows.collect::<rusqlite::Result<Vec<T>>>()
        .during(path, during)
}

pub(crate) fn delivery(
    conn: &Connection,
    path: &Path,
    id: &DeliveryId,
) -> Result<Option<Delivery>> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?1");
    let mut stmt = conn
        .prepare_cached(&sql)
        .during(path, "reading a delivery")?;
    stmt.query_row([id.as_str()], rows::delivery)
        .optional()
        .during(path, "reading a delivery")
}

pub(crate) fn message(
    conn: &Connection,
    path: &Path,
    id: &MessageId,
) -> Result<Option<(Message, Vec<Delivery>)>> {
    let Some(message) = message_only(conn, path, id)? else {
        return Ok(None);
    };
    let sql =
        format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE message_id = ?1 ORDER BY agent");
    let deliveries = collect(
        conn,
        path,
        &sql,
        [id.as_str()],
        rows::delivery,
        "reading deliveries",
    )?;
    Ok(Some((message, deliveries)))
}

/// The replies to message `id`, oldest first.
pub(crate) fn replies(
    conn: &Connection,
    path: &Path,
    id: &MessageId,
) -> Result<Vec<courier_core::Reply>> {
    collect(
        conn,
        path,
        "SELECT reply_to, sender, via, body, message_id, created_at FROM replies \
         WHERE reply_to = ?1 ORDER BY id",
        [id.as_str()],
        rows::reply,
        "reading replies",
    )
}

pub(crate) fn message_only(
    conn: &Connection,
    path: &Path,
    id: &MessageId,
) -> Result<Option<Message>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1");
    let mut stmt = conn
        .prepare_cached(&sql)
        .during(path, "reading a message")?;
    stmt.query_row([id.as_str()], rows::message)
        .optional()
        .during(path, "reading a message")
}

pub(crate) fn events_after(
    conn: &Connection,
    path: &Path,
    seq: u64,
    limit: usize,
) -> Result<Vec<Event>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    collect(
        conn,
        path,
        &sql,
        params![seq, limit],
        rows::event,
        "reading events",
    )
}

/// Up to `limit` conversation events of agent `name` with `seq > after`,
/// in order (`EventKind::CONVERSATION`).
pub(crate) fn conversation_after(
    conn: &Connection,
    path: &Path,
    name: &str,
    seq: u64,
    limit: usize,
) -> Result<Vec<Event>> {
    let kinds = EventKind::CONVERSATION
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 AND kind IN ({kinds}) \
         AND json_extract(data, '$.name') = ?2 ORDER BY seq LIMIT ?3"
    );
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    collect(
        conn,
        path,
        &sql,
        params![seq, name, limit],
        rows::event,
        "reading a conversation",
    )
}

/// The last `seq` ever assigned (kept even when old events are pruned).
pub(crate) fn last_seq(conn: &Connection, path: &Path) -> Result<u64> {
    let mut stmt = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        .during(path, "reading the last seq")?;
    let seq: Option<i64> = stmt
        .query_row([], |r| r.get(0))
        .optional()
        .during(path, "reading the last seq")?;
    Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
}

/// Pending deliveries (queued or in flight): the condition of the
/// `deliveries_pending` index, word for word, so that a query stating it is
/// seen to be covered by the index. `OR`s, not `IN`: see schema version 6.
pub(crate) const PENDING: &str = "(state = 'queued' OR state = 'injecting' OR state = 'injected')";

/// Finished deliveries: the condition of the `deliveries_finished` index.
/// Only tests name it: prune's step (a constant) writes it out, and a test
/// checks the two agree.
#[cfg(test)]
pub(crate) const FINISHED: &str = "(state = 'verified' OR state = 'unverified' \
     OR state = 'dropped' OR state = 'dead' OR state = 'read')";

pub(crate) fn pending(conn: &Connection, path: &Path) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {PENDING} ORDER BY agent, queue_pos"
    );
    collect(
        conn,
        path,
        &sql,
        [],
        rows::delivery,
        "reading pending deliveries",
    )
}

/// Per agent: how many deliveries are queued and how many are pending
/// (queued or in flight). One indexed lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct QueueCounts {
    pub queued: usize,
    pub pending: usize,
}

pub(crate) fn queue_counts(conn: &Connection, path: &Path, agent: &str) -> Result<QueueCounts> {
    let mut stmt = conn
        .prepare_cached("SELECT queued, pending FROM queue_counts WHERE agent = ?1")
        .during(path, "reading a queue depth")?;
    let n: Option<(i64, i64)> = stmt
        .query_row([agent], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .during(path, "reading a queue depth")?;
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    Ok(n.map(|(q, p)| QueueCounts {
        queued: count(q),
        pending: count(p),
    })
    .unwrap_or_default())
}

/// Deliveries queued or in flight, over every agent: one row per agent is
/// summed, never the deliveries themselves.
pub(crate) fn pending_count(conn: &Connection, path: &Path) -> Result<usize> {
    let mut stmt = conn
        .prepare_cached("SELECT COALESCE(SUM(pending), 0) FROM queue_counts")
        .during(path, "counting pending deliveries")?;
    let n: i64 = stmt
        .query_row([], |r| r.get(0))
        .during(path, "counting pending deliveries")?;
    Ok(usize::try_from(n).unwrap_or(0))
}

pub(crate) fn queue_depth(conn: &Connection, path: &Path, agent: &str) -> Result<usize> {
    Ok(queue_counts(conn, path, agent)?.queued)
}

/// Queued deliveries of every agent that has a counter row, by name (an
/// agent without one has none queued). One scan of the per-agent counters.
pub(crate) fn queue_depths(
    conn: &Connection,
    path: &Path,
) -> Result<std::collections::BTreeMap<String, usize>> {
    let rows: Vec<(String, i64)> = collect(
        conn,
        path,
        "SELECT agent, queued FROM queue_counts",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
        "reading queue depths",
    )?;
    Ok(rows
        .into_iter()
        .map(|(agent, queued)| (agent, usize::try_from(queued).unwrap_or(0)))
        .collect())
}

/// `+?1`, not `?1`: with a bare parameter beside `ORDER BY`, SQLite's
/// planner looks at the bound value and re-prepares the statement at every
/// use; the unary `+` keeps the same plan (checked by a test) without that.
/// The limit is part of the text for the same reason. `INDEXED BY`:
/// `state = 'queued'` also implies the condition of `deliveries_pending`
/// (same columns, and it holds the in-flight ones too), which the planner
/// may otherwise pick.
pub(crate) fn oldest_queued_sql(limit: usize) -> String {
    format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries INDEXED BY deliveries_queued \
         WHERE agent = +?1 AND state = 'queued' ORDER BY queue_pos LIMIT {limit}"
    )
}

/// The oldest `limit` queued deliveries of `agent`, oldest first.
pub(crate) fn oldest_queued(
    conn: &Connection,
    path: &Path,
    agent: &str,
    limit: usize,
) -> Result<Vec<Delivery>> {
    collect(
        conn,
        path,
        &oldest_queued_sql(limit),
        [agent],
        rows::delivery,
        "reading the queue",
    )
}

pub(crate) fn dead_letters(conn: &Connection, path: &Path, limit: usize) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state IN ('dropped', 'dead') \
         ORDER BY updated_at, id LIMIT ?1"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    collect(
        conn,
        path,
        &sql,
        [limit],
        rows::delivery,
        "reading dead letters",
    )
}

fn agent_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AgentRecord> {
    let spec: String = row.get(1)?;
    Ok(AgentRecord {
        name: row.get(0)?,
        spec: serde_json::from_str(&spec).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e.into())
        })?,
        created_at: Timestamp(row.get(2)?),
        mode: {
            let mode: String = row.get(3)?;
            DeliveryMode::parse(&mode).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    3,
                    rusqlite::types::Type::Text,
                    format!("unknown delivery mode {mode:?}").into(),
                )
            })?
        },
    })
}

/// An agent's newest deliveries (any state) with their messages, newest first.
pub(crate) fn inbox(
    conn: &Connection,
    path: &Path,
    agent: &str,
    limit: usize,
) -> Result<Vec<(Delivery, Message)>> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE agent = ?1 \
         ORDER BY created_at DESC, id DESC LIMIT ?2"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let deliveries = collect(
        conn,
        path,
        &sql,
        rusqlite::params![agent, limit],
        rows::delivery,
        "reading an inbox",
    )?;
    let mut out = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        if let Some(message) = message_only(conn, path, &delivery.message_id)? {
            out.push((delivery, message));
        }
    }
    Ok(out)
}

/// Deliveries of `agent` that reached it (verified or unverified) and are
/// not read yet, in queue order.
pub(crate) fn unread(conn: &Connection, path: &Path, agent: &str) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE agent = ?1 \
         AND state IN ('verified', 'unverified') ORDER BY queue_pos"
    );
    collect(
        conn,
        path,
        &sql,
        [agent],
        rows::delivery,
        "reading unread deliveries",
    )
}

pub(crate) fn agents(conn: &Connection, path: &Path) -> Result<Vec<AgentRecord>> {
    let sql = "SELECT name, spec, created_at, mode FROM agents ORDER BY name";
    collect(conn, path, sql, [], agent_row, "reading agents")
}

pub(crate) fn agent(conn: &Connection, path: &Path, name: &str) -> Result<Option<AgentRecord>> {
    let mut stmt = conn
        .prepare_cached("SELECT name, spec, created_at, mode FROM agents WHERE name = ?1")
        .during(path, "reading an agent")?;
    stmt.query_row([name], agent_row)
        .optional()
        .during(path, "reading an agent")
}

pub(crate) fn agent_names(conn: &Connection, path: &Path) -> Result<Vec<String>> {
    collect(
        conn,
        path,
        "SELECT name FROM agents ORDER BY name",
        [],
        |r| r.get(0),
        "reading agents",
    )
}

pub(crate) fn channel_members(
    conn: &Connection,
    path: &Path,
    channel: &str,
) -> Result<Vec<String>> {
    let sql = "SELECT agent FROM channel_members WHERE channel = ?1 ORDER BY agent";
    collect(
        conn,
        path,
        sql,
        [channel],
        |r| r.get(0),
        "reading channel members",
    )
}

/// Every channel with its members, both sorted.
pub(crate) fn channels(conn: &Connection, path: &Path) -> Result<Vec<(String, Vec<String>)>> {
    let sql = "SELECT channel, agent FROM channel_members ORDER BY channel, agent";
    let pairs: Vec<(String, String)> = collect(
        conn,
        path,
        sql,
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
        "reading channels",
    )?;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (channel, agent) in pairs {
        match out.last_mut() {
            Some((last, members)) if *last == channel => members.push(agent),
            _ => out.push((channel, vec![agent])),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Synchronous;
    use crate::schema::{Target, open_writer};
    use rusqlite::StatementStatus;

    /// The hot queue lookup is prepared once and walks the partial index.
    #[test]
    fn queue_lookup_is_prepared_once_and_indexed() {
        let path = Path::new(":memory:");
        let conn = open_writer(Target::Memory, path, Synchronous::Full)
            .unwrap()
            .conn;
        for agent in ["a", "b", "a", "c"] {
            oldest_queued(&conn, path, agent, 1).unwrap();
        }
        let stmt = conn.prepare_cached(&oldest_queued_sql(1)).unwrap();
        assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
        drop(stmt);
        let plan: String = conn
            .query_row(
                &format!("EXPLAIN QUERY PLAN {}", oldest_queued_sql(1)),
                ["a"],
                |r| r.get(3),
            )
            .unwrap();
        assert!(
            plan.contains("deliveries_queued") && !plan.contains("TEMP B-TREE"),
            "{plan}"
        );
    }
}
