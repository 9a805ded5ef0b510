//! Federation: what a broker joined to a workspace keeps in its own store.
//!
//! - The directory's agents of other hosts ([`RemoteAgent`], table
//!   `remote_agents`), so a send resolves a remote name, a channel member or
//!   a broadcast recipient in its own transaction, even while NATS is down.
//! - Deliveries forwarded here ([`InboundDelivery`]), committed under the
//!   sender's delivery id before the transport is acknowledged; a copy that
//!   comes again is recognised by that id.
//! - Outcomes of deliveries forwarded from here ([`RemoteOutcome`]), applied
//!   once and in the remote log's order (`remote_seq`).
//! - Cursors in this host's event log (how far outcomes were published).
//!
//! The rules (what an outcome does to the local copy) are core's
//! (`courier_core::remote`).

use std::path::Path;

use courier_core::{
    Delivery, DeliveryId, EventKind, Message, MessageId, Reply, ReplyVia, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::SqlContext;
use crate::ops;
use crate::rows::{DELIVERY_COLUMN_COUNT, DELIVERY_COLUMNS};
use crate::store::{Result, Store};

/// One page of the queued deliveries to agents of other hosts, oldest
/// first, from a position in their queues on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardPage {
    pub deliveries: Vec<Delivery>,
    /// Where the next page starts: set when this one was full (more may
    /// follow), `None` when the backlog ended here.
    pub next: Option<u64>,
}

/// An agent of another host, as the workspace directory lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteAgent {
    pub name: String,
    pub host: String,
    /// `active`, or `away` (its host left or stopped answering).
    pub presence: String,
    /// Channels it belongs to, without `#`.
    pub channels: Vec<String>,
    pub updated_at: Timestamp,
}

/// A delivery another host forwarded to one of this host's agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundDelivery {
    /// The sender's delivery id, kept here: the key that makes a redelivered
    /// copy a duplicate.
    pub delivery_id: DeliveryId,
    pub agent: String,
    pub message: Message,
    pub origin_host: String,
}

/// One event of another host's log about a delivery forwarded from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteOutcome {
    /// Its `seq` in that host's log (`0` for a snapshot).
    pub seq: u64,
    pub event: EventKind,
    /// Not an event of the log but the delivery's present state there
    /// (`courier_core::remote::snapshot_event`), sent when a forward came
    /// again: it only moves a copy forward and takes no place in the order.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snapshot: bool,
    /// With a `message_replied`: the reply itself, read from the store of
    /// the host that recorded it, so the sender's host can record it too
    /// (the event names the reply; its text and time are in `replies`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
}

impl RemoteOutcome {
    /// The event at `seq` of the remote log.
    pub fn logged(seq: u64, event: EventKind) -> Self {
        RemoteOutcome {
            seq,
            event,
            snapshot: false,
            reply: None,
        }
    }

    /// The `message_replied` at `seq` of the remote log, with its reply.
    pub fn replied(seq: u64, reply: Reply) -> Self {
        RemoteOutcome {
            seq,
            event: EventKind::MessageReplied {
                message_id: reply.reply_to.clone(),
                from: reply.from.clone(),
                via: reply.via,
                reply_id: reply.message_id.clone(),
            },
            snapshot: false,
            reply: Some(reply),
        }
    }

    /// The remote delivery's present state (see [`RemoteOutcome::snapshot`]).
    pub fn snapshot(event: EventKind) -> Self {
        RemoteOutcome {
            seq: 0,
            event,
            snapshot: true,
            reply: None,
        }
    }

    pub(crate) fn origin(&self) -> courier_core::remote::OutcomeOrigin {
        if self.snapshot {
            courier_core::remote::OutcomeOrigin::Snapshot
        } else {
            courier_core::remote::OutcomeOrigin::Logged(self.seq)
        }
    }
}

/// What names a reply in this host's log: the fields of its
/// `message_replied` and the time of that event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyKey {
    pub reply_to: MessageId,
    pub from: String,
    pub via: ReplyVia,
    pub reply_id: Option<MessageId>,
    pub at: Timestamp,
}

/// What became of one inbound delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound {
    /// Committed now (queued for its agent, or dropped at once because no
    /// such agent lives here: its `delivery_dropped` goes back).
    Committed,
    /// Already here: a redelivered copy.
    Duplicate,
}

impl Store {
    /// Commits deliveries forwarded by other hosts, in one transaction;
    /// returns once durable, one answer per delivery in order.
    pub async fn accept_inbound_async(&self, batch: Vec<InboundDelivery>) -> Result<Vec<Inbound>> {
        self.call(move |ctx| ops::federation::accept_inbound(ctx, batch))
            .wait_async()
            .await
    }

    /// Applies outcomes of deliveries forwarded to `host`; returns how many
    /// changed a delivery or added an event.
    pub async fn apply_outcomes_async(
        &self,
        host: String,
        outcomes: Vec<RemoteOutcome>,
    ) -> Result<usize> {
        self.call(move |ctx| ops::federation::apply_outcomes(ctx, &host, outcomes))
            .wait_async()
            .await
    }

    /// Replaces what is known of these agents of other hosts. A name that
    /// is an agent of this host is skipped (and returned): this host's own
    /// agent wins.
    pub async fn upsert_remote_agents_async(
        &self,
        agents: Vec<RemoteAgent>,
    ) -> Result<Vec<String>> {
        self.call(move |ctx| ops::federation::upsert_remote(ctx, agents))
            .wait_async()
            .await
    }

    /// Forgets an agent of another host (released there); its deliveries
    /// still queued here are dropped (`agent_released`), never left waiting.
    pub async fn remove_remote_agent_async(&self, name: &str) -> Result<bool> {
        let name = name.to_string();
        self.call(move |ctx| ops::federation::remove_remote(ctx, &name))
            .wait_async()
            .await
    }

    /// Records how far `name` got in this host's event log.
    pub async fn set_cursor_async(&self, name: &str, seq: u64) -> Result<()> {
        let name = name.to_string();
        self.call(move |ctx| ops::federation::set_cursor(ctx, &name, seq))
            .wait_async()
            .await
    }

    /// Every known agent of other hosts, by name.
    pub async fn remote_agents_async(&self) -> Result<Vec<RemoteAgent>> {
        self.read_async("reading remote agents", remote_agents)
            .await
    }

    /// Blocking form of [`Store::remote_agents_async`].
    pub fn remote_agents(&self) -> Result<Vec<RemoteAgent>> {
        self.read("reading remote agents", remote_agents)
    }

    /// How far `name` got in this host's event log, if recorded.
    pub async fn cursor_async(&self, name: &str) -> Result<Option<u64>> {
        let name = name.to_string();
        self.read_async("reading a cursor", move |c, p| cursor(c, p, &name))
            .await
    }

    /// Blocking form of [`Store::cursor_async`].
    pub fn cursor(&self, name: &str) -> Result<Option<u64>> {
        let name = name.to_string();
        self.read("reading a cursor", move |c, p| cursor(c, p, &name))
    }

    /// Queued deliveries to agents of other hosts (not yet committed there),
    /// oldest first, at most `limit` of those past queue position `after`
    /// (0: from the oldest): a sweep pages through a backlog instead of
    /// reading its oldest rows again.
    pub async fn pending_forwards_async(&self, after: u64, limit: usize) -> Result<ForwardPage> {
        self.read_async("reading pending forwards", move |c, p| {
            pending_forwards(c, p, after, limit)
        })
        .await
    }

    /// Blocking form of [`Store::pending_forwards_async`].
    pub fn pending_forwards(&self, after: u64, limit: usize) -> Result<ForwardPage> {
        self.read("reading pending forwards", move |c, p| {
            pending_forwards(c, p, after, limit)
        })
    }

    /// A reply this host recorded to a message another host sent: that
    /// host (the `origin_host` of the message's deliveries here) and the
    /// reply as stored, found by what its `message_replied` names and when
    /// it was logged (`at`, the reply's `created_at`: both are the time of
    /// the one commit that wrote them). `None` for a message sent on this
    /// host, or a reply no more stored (pruned with its message).
    pub async fn reply_to_send_back_async(&self, key: ReplyKey) -> Result<Option<(String, Reply)>> {
        self.read_async("reading a reply to send back", move |c, p| {
            reply_to_send_back(c, p, &key)
        })
        .await
    }

    /// How many deliveries wait to be committed by another host.
    pub async fn pending_forward_count_async(&self) -> Result<usize> {
        self.read_async("counting pending forwards", pending_forward_count)
            .await
    }

    /// Blocking form of [`Store::pending_forward_count_async`].
    pub fn pending_forward_count(&self) -> Result<usize> {
        self.read("counting pending forwards", pending_forward_count)
    }
}

pub(crate) fn remote_agent_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RemoteAgent> {
    let channels: String = r.get(3)?;
    Ok(RemoteAgent {
        name: r.get(0)?,
        host: r.get(1)?,
        presence: r.get(2)?,
        channels: serde_json::from_str(&channels).unwrap_or_default(),
        updated_at: Timestamp(r.get(4)?),
    })
}

pub(crate) const REMOTE_AGENT_COLUMNS: &str = "name, host, presence, channels, updated_at";

pub(crate) fn remote_agents(conn: &Connection, path: &Path) -> Result<Vec<RemoteAgent>> {
    let sql = format!("SELECT {REMOTE_AGENT_COLUMNS} FROM remote_agents ORDER BY name");
    let mut stmt = conn
        .prepare_cached(&sql)
        .during(path, "reading remote agents")?;
    let rows = stmt
        .query_map([], remote_agent_row)
        .during(path, "reading remote agents")?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .during(path, "reading remote agents")
}

pub(crate) fn remote_agent(
    conn: &Connection,
    path: &Path,
    name: &str,
) -> Result<Option<RemoteAgent>> {
    let sql = format!("SELECT {REMOTE_AGENT_COLUMNS} FROM remote_agents WHERE name = ?1");
    let mut stmt = conn
        .prepare_cached(&sql)
        .during(path, "reading a remote agent")?;
    stmt.query_row([name], remote_agent_row)
        .optional()
        .during(path, "reading a remote agent")
}

fn cursor(conn: &Connection, path: &Path, name: &str) -> Result<Option<u64>> {
    let mut stmt = conn
        .prepare_cached("SELECT seq FROM federation_cursors WHERE name = ?1")
        .during(path, "reading a cursor")?;
    stmt.query_row([name], |r| r.get::<_, i64>(0))
        .optional()
        .during(path, "reading a cursor")
        .map(|seq| seq.map(|s| u64::try_from(s).unwrap_or(0)))
}

fn reply_to_send_back(
    conn: &Connection,
    path: &Path,
    key: &ReplyKey,
) -> Result<Option<(String, Reply)>> {
    let origin: Option<String> = conn
        .prepare_cached(
            "SELECT origin_host FROM deliveries WHERE message_id = ?1 \
             AND origin_host IS NOT NULL LIMIT 1",
        )
        .during(path, "reading a message's origin")?
        .query_row([key.reply_to.as_str()], |r| r.get(0))
        .optional()
        .during(path, "reading a message's origin")?;
    let Some(origin) = origin else {
        return Ok(None);
    };
    let reply = conn
        .prepare_cached(
            "SELECT reply_to, sender, via, body, message_id, created_at FROM replies \
             WHERE reply_to = ?1 AND sender = ?2 AND via = ?3 AND message_id IS ?4 \
             AND created_at = ?5 AND origin_host IS NULL ORDER BY id LIMIT 1",
        )
        .during(path, "reading a reply")?
        .query_row(
            params![
                key.reply_to.as_str(),
                key.from,
                ops::reply::via_name(key.via),
                key.reply_id.as_ref().map(|m| m.as_str()),
                key.at.as_millis(),
            ],
            crate::rows::reply,
        )
        .optional()
        .during(path, "reading a reply")?;
    Ok(reply.map(|reply| (origin, reply)))
}

fn pending_forward_count(conn: &Connection, path: &Path) -> Result<usize> {
    conn.query_row(
        "SELECT count(*) FROM deliveries WHERE state = 'queued' \
         AND agent IN (SELECT name FROM remote_agents)",
        [],
        |r| r.get::<_, i64>(0),
    )
    .during(path, "counting pending forwards")
    .map(|n| usize::try_from(n).unwrap_or(0))
}

fn pending_forwards(
    conn: &Connection,
    path: &Path,
    after: u64,
    limit: usize,
) -> Result<ForwardPage> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS}, queue_pos FROM deliveries WHERE state = 'queued' \
         AND agent IN (SELECT name FROM remote_agents) AND queue_pos > ?1 \
         ORDER BY queue_pos LIMIT ?2"
    );
    let mut stmt = conn
        .prepare_cached(&sql)
        .during(path, "reading pending forwards")?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(params![after, limit], |r| {
            Ok((
                crate::rows::delivery(r)?,
                r.get::<_, i64>(DELIVERY_COLUMN_COUNT)?,
            ))
        })
        .during(path, "reading pending forwards")?;
    let page = rows
        .collect::<rusqlite::Result<Vec<_>>>()
        .during(path, "reading pending forwards")?;
    let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= limit && limit > 0;
    let next = page
        .last()
        .filter(|_| full)
        .map(|(_, pos)| u64::try_from(*pos).unwrap_or(0));
    Ok(ForwardPage {
        deliveries: page.into_iter().map(|(d, _)| d).collect(),
        next,
    })
}
