//! A send: validate, deduplicate, fan out, ask the ACL, enforce the queue
//! cap, write. A send the ACL refuses as a whole writes only its
//! `message_refused` event: no message, no delivery, no idempotency key.

use courier_core::fanout;
use courier_core::{
    Acl, Delivery, DeliveryId, EventKind, MessageId, NewMessage, Recipient, Reply, ReplyVia,
};
use rusqlite::{OptionalExtension, params};

use super::{Result, insert_delivery, make_room};
use crate::error::SqlContext;
use crate::federation;
use crate::options::millis;
use crate::reads;
use crate::types::{SendOutcome, SendReceipt};
use crate::writer::Ctx;

pub(crate) fn send(ctx: &mut Ctx<'_>, new: NewMessage, acl: &Acl) -> Result<SendOutcome> {
    new.validate(ctx.opts.max_body_bytes)?;
    if let Some(key) = &new.idempotency_key
        && let Some(receipt) = duplicate(ctx, &new.from, key)?
    {
        tracing::debug!(from = %new.from, key, message = %receipt.message.id, "duplicate send");
        return Ok(SendOutcome::Sent(receipt));
    }
    let check = acl.check(&new.from, &new.to, recipients(ctx, &new)?);
    if let Some(rule) = check.denied {
        tracing::debug!(from = %new.from, to = %new.to, rule, "ACL refused a send");
        let event = ctx.emit(EventKind::MessageRefused {
            message_id: None,
            from: new.from.clone(),
            to: new.to.clone(),
            rule: rule.clone(),
            refused: check.refused.clone(),
        })?;
        return Ok(SendOutcome::Refused {
            from: new.from,
            to: new.to,
            rule,
            refused: check.refused,
            event,
        });
    }
    let recipients = check.allowed;
    let message = new.into_message(MessageId(ctx.mint()), ctx.now);
    insert_message(ctx, &message)?;
    ctx.emit(EventKind::MessageAccepted {
        message_id: message.id.clone(),
        from: message.from.clone(),
        to: message.to.clone(),
        thread: message.thread.clone(),
        deliveries: u32::try_from(recipients.len()).unwrap_or(u32::MAX),
    })?;
    if let Some(thread) = &message.thread {
        // A message sent in reply to another is that message's reply.
        super::reply::record_reply(
            ctx,
            Reply {
                reply_to: thread.clone(),
                from: message.from.clone(),
                via: ReplyVia::Message,
                text: message.body.clone(),
                message_id: Some(message.id.clone()),
                created_at: message.created_at,
            },
        )?;
    }
    let mut deliveries = Vec::with_capacity(recipients.len());
    let mut dropped = Vec::new();
    for agent in recipients {
        dropped.extend(make_room(ctx, &agent, 1)?);
        let id = DeliveryId(ctx.mint());
        let delivery = Delivery::queued(id, message.id.clone(), agent, &message.from, ctx.now);
        let queued = ctx.emit(delivery.queued_event())?;
        insert_delivery(ctx, &delivery, queued.seq)?;
        deliveries.push(delivery);
    }
    if let Some(first) = check.refused.first() {
        ctx.emit(EventKind::MessageRefused {
            message_id: Some(message.id.clone()),
            from: message.from.clone(),
            to: message.to.clone(),
            rule: first.rule.clone(),
            refused: check.refused.clone(),
        })?;
    }
    Ok(SendOutcome::Sent(SendReceipt {
        message,
        duplicate: false,
        deliveries,
        dropped,
        refused: check.refused,
        events: ctx.events.clone(),
    }))
}

/// The original send of `(from, key)` if it is within the retention window
/// and its message is still stored. An expired key is treated as new (and
/// overwritten by the new send).
fn duplicate(ctx: &Ctx<'_>, from: &str, key: &str) -> Result<Option<SendReceipt>> {
    let mut stmt = ctx
        .conn
        .prepare_cached(
            "SELECT message_id, created_at FROM idempotency_keys WHERE sender = ?1 AND key = ?2",
        )
        .during(ctx.path, "preparing an idempotency lookup")?;
    let found: Option<(String, i64)> = stmt
        .query_row([from, key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .during(ctx.path, "looking up an idempotency key")?;
    let Some((id, created_at)) = found else {
        return Ok(None);
    };
    let retention = millis(ctx.opts.idempotency_retention);
    let expires = courier_core::Timestamp(created_at).plus_millis(retention);
    if ctx.now >= expires {
        return Ok(None);
    }
    let original = reads::message(ctx.conn, ctx.path, &MessageId(id))?;
    Ok(original.map(|(message, deliveries)| SendReceipt {
        message,
        duplicate: true,
        deliveries,
        dropped: Vec::new(),
        refused: Vec::new(),
        events: Vec::new(),
    }))
}

/// Who receives the message, decided by core from what the store knows.
fn recipients(ctx: &Ctx<'_>, new: &NewMessage) -> Result<Vec<String>> {
    // Agents of other hosts (federation) are recipients like local ones;
    // their deliveries are forwarded once committed here.
    let (agents, members) = match &new.to {
        Recipient::Agent(name) => {
            let known = reads::agent(ctx.conn, ctx.path, name)?.is_some()
                || federation::remote_agent(ctx.conn, ctx.path, name)?.is_some();
            (if known { vec![name.clone()] } else { vec![] }, vec![])
        }
        Recipient::Channel(channel) => {
            let mut members = reads::channel_members(ctx.conn, ctx.path, channel)?;
            members.extend(
                federation::remote_agents(ctx.conn, ctx.path)?
                    .into_iter()
                    .filter(|a| a.channels.iter().any(|c| c == channel))
                    .map(|a| a.name),
            );
            (vec![], members)
        }
        Recipient::Broadcast => {
            let mut agents = reads::agent_names(ctx.conn, ctx.path)?;
            agents.extend(
                federation::remote_agents(ctx.conn, ctx.path)?
                    .into_iter()
                    .map(|a| a.name),
            );
            (agents, vec![])
        }
    };
    Ok(fanout::recipients(
        &new.from,
        &new.to,
        agents.iter().map(String::as_str),
        members.iter().map(String::as_str),
    )?)
}

fn insert_message(ctx: &Ctx<'_>, m: &courier_core::Message) -> Result<()> {
    let mut stmt = ctx
        .conn
        .prepare_cached(
            "INSERT INTO messages (id, sender, recipient, body, thread, idempotency_key, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .during(ctx.path, "preparing a message insert")?;
    stmt.execute(params![
        m.id.as_str(),
        m.from,
        m.to.to_string(),
        m.body,
        m.thread.as_ref().map(MessageId::as_str),
        m.idempotency_key,
        m.created_at.as_millis(),
    ])
    .during(ctx.path, "inserting a message")?;
    if let Some(key) = &m.idempotency_key {
        let mut stmt = ctx
            .conn
            .prepare_cached(
                "INSERT OR REPLACE INTO idempotency_keys (sender, key, message_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .during(ctx.path, "preparing an idempotency insert")?;
        stmt.execute(params![
            m.from,
            key,
            m.id.as_str(),
            m.created_at.as_millis()
        ])
        .during(ctx.path, "recording an idempotency key")?;
    }
    Ok(())
}
