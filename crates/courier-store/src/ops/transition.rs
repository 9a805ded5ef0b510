//! Changes of one delivery, decided by core's `Delivery::apply`.
//!
//! Queue order: a delivery's place is the `seq` of the event that queued it.
//! A retry (`Failed` back to queued) or a `Requeue` **keeps its place**, so an
//! agent still receives its messages in the order they were sent; a `Replay`
//! (a person's later decision) goes to the **back** of the queue. The cap
//! counts pending deliveries (queued or in flight, see `courier_core::queue`),
//! so a replay makes room by dropping the oldest queued ones; a retry or a
//! requeue makes room too in the rare case that the queue filled while it was
//! in flight.

use courier_core::{
    Delivery, DeliveryChannel, DeliveryId, DeliveryState, Event, EventKind, Message, Transition,
};

use super::{Result, load, make_room, make_room_for_return, update_delivery};
use crate::error::StoreError;
use crate::reads;
use crate::writer::Ctx;

pub(crate) fn transition(
    ctx: &mut Ctx<'_>,
    id: &DeliveryId,
    transition: Transition,
) -> Result<(Delivery, Vec<Event>)> {
    let current = load(ctx, id)?;
    let next = apply(ctx, &current, transition)?;
    Ok((next, ctx.events.clone()))
}

/// The oldest queued delivery of `agent` becomes `injecting` into `session`
/// through `channel`.
pub(crate) fn claim_next(
    ctx: &mut Ctx<'_>,
    agent: &str,
    session: String,
    channel: DeliveryChannel,
) -> Result<Option<(Delivery, Message)>> {
    let Some(oldest) = reads::oldest_queued(ctx.conn, ctx.path, agent, 1)?.pop() else {
        return Ok(None);
    };
    let message =
        reads::message_only(ctx.conn, ctx.path, &oldest.message_id)?.ok_or_else(|| {
            StoreError::BadRow {
                path: ctx.path.to_path_buf(),
                what: format!("delivery {}", oldest.id),
                detail: format!("its message {} is missing", oldest.message_id),
            }
        })?;
    let next = apply(
        ctx,
        &oldest,
        Transition::BeginInjection { session, channel },
    )?;
    Ok(Some((next, message)))
}

pub(crate) fn apply(
    ctx: &mut Ctx<'_>,
    current: &Delivery,
    transition: Transition,
) -> Result<Delivery> {
    let (next, kinds) = current.apply(transition, &ctx.opts.retry, ctx.now)?;
    if next.state == DeliveryState::Queued && current.state.is_terminal() {
        // A replay adds a pending delivery.
        make_room(ctx, &current.agent, 1)?;
    } else if next.state == DeliveryState::Queued && current.state != DeliveryState::Queued {
        // A retry or requeue moves one from flight back to the queue.
        make_room_for_return(ctx, &current.agent)?;
    }
    let mut queue_pos = None;
    for kind in kinds {
        let queued = matches!(kind, EventKind::DeliveryQueued { .. });
        let event = ctx.emit(kind)?;
        if queued {
            queue_pos = Some(event.seq);
        }
    }
    update_delivery(ctx, &next, queue_pos)?;
    tracing::debug!(delivery = %next.id, agent = %next.agent, state = %next.state, "delivery changed");
    Ok(next)
}
