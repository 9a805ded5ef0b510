//! Mapping between SQLite rows and core values. Text columns hold the wire
//! names of states (`"queued"`), recipients (`"#ops"`) and events (JSON).

use courier_core::{
    Delivery, DeliveryChannel, DeliveryState, Event, EventKind, Message, Recipient, Timestamp,
    Verification,
};
use rusqlite::Row;
use rusqlite::types::Type;

/// Columns read by [`delivery`], in order.
/// How many columns [`DELIVERY_COLUMNS`] names: a query may read more after them.
pub(crate) const DELIVERY_COLUMN_COUNT: usize = 15;

pub(crate) const DELIVERY_COLUMNS: &str = "id, message_id, agent, sender, state, attempt, \
     verification, reason, session, created_at, updated_at, channel, read_at, forwarded_to, origin_host";

/// Columns read by [`message`], in order.
pub(crate) const MESSAGE_COLUMNS: &str =
    "id, sender, recipient, body, thread, idempotency_key, created_at";

/// Columns read by [`event`], in order.
pub(crate) const EVENT_COLUMNS: &str = "seq, time, data";

fn bad(index: usize, detail: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, detail.into())
}

pub(crate) fn delivery(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let state: String = row.get(4)?;
    let verification: Option<String> = row.get(6)?;
    Ok(Delivery {
        id: courier_core::DeliveryId(row.get(0)?),
        message_id: courier_core::MessageId(row.get(1)?),
        agent: row.get(2)?,
        from: row.get(3)?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| bad(4, format!("unknown delivery state {state:?}")))?,
        attempt: row.get(5)?,
        verification: match verification {
            None => None,
            Some(text) => Some(
                Verification::parse(&text)
                    .ok_or_else(|| bad(6, format!("unknown verification {text:?}")))?,
            ),
        },
        reason: row.get(7)?,
        session: row.get(8)?,
        created_at: Timestamp(row.get(9)?),
        updated_at: Timestamp(row.get(10)?),
        channel: match row.get::<_, Option<String>>(11)? {
            None => None,
            Some(text) => Some(
                DeliveryChannel::parse(&text)
                    .ok_or_else(|| bad(11, format!("unknown channel {text:?}")))?,
            ),
        },
        read_at: row.get::<_, Option<i64>>(12)?.map(Timestamp),
        forwarded_to: row.get(13)?,
        origin_host: row.get(14)?,
    })
}

pub(crate) fn message(row: &Row<'_>) -> rusqlite::Result<Message> {
    let to: String = row.get(2)?;
    Ok(Message {
        id: courier_core::MessageId(row.get(0)?),
        from: row.get(1)?,
        to: to
            .parse::<Recipient>()
            .map_err(|e| bad(2, format!("recipient {to:?}: {e}")))?,
        body: row.get(3)?,
        thread: row
            .get::<_, Option<String>>(4)?
            .map(courier_core::MessageId),
        idempotency_key: row.get(5)?,
        created_at: Timestamp(row.get(6)?),
    })
}

pub(crate) fn event(row: &Row<'_>) -> rusqlite::Result<Event> {
    let seq: i64 = row.get(0)?;
    let data: String = row.get(2)?;
    let kind: EventKind =
        EventKind::from_stored_json(&data).map_err(|e| bad(2, format!("event {seq}: {e}")))?;
    Ok(Event {
        seq: u64::try_from(seq).map_err(|e| bad(0, e.to_string()))?,
        time: Timestamp(row.get(1)?),
        kind,
    })
}

/// The JSON stored for an event kind.
pub(crate) fn event_data(kind: &EventKind) -> String {
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_string(kind).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "event could not be serialized");
        format!("{{\"type\":\"{}\"}}", kind.name())
    })
}

/// A row of `replies` (reply_to, sender, via, body, message_id, created_at).
pub(crate) fn reply(row: &Row<'_>) -> rusqlite::Result<courier_core::Reply> {
    let via: String = row.get(2)?;
    let via = match via.as_str() {
        "protocol" => courier_core::ReplyVia::Protocol,
        "message" => courier_core::ReplyVia::Message,
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                2,
                Type::Text,
                format!("unknown reply via {other:?}").into(),
            ));
        }
    };
    Ok(courier_core::Reply {
        reply_to: courier_core::MessageId(row.get(0)?),
        from: row.get(1)?,
        via,
        text: row.get(3)?,
        message_id: row
            .get::<_, Option<String>>(4)?
            .map(courier_core::MessageId),
        created_at: courier_core::Timestamp(row.get(5)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delivery_column_count_is_the_columns_named() {
        assert_eq!(DELIVERY_COLUMNS.split(',').count(), DELIVERY_COLUMN_COUNT);
    }

    #[test]
    fn event_json_round_trips_through_a_row() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let kind = EventKind::AgentIdle { name: "bob".into() };
        let sql = format!("SELECT {EVENT_COLUMNS} FROM (SELECT 3 AS seq, 7 AS time, ?1 AS data)");
        let back = conn.query_row(&sql, [event_data(&kind)], event).unwrap();
        assert_eq!(
            back,
            Event {
                seq: 3,
                time: Timestamp(7),
                kind
            }
        );
    }
}
