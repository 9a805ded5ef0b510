//! One task per agent generation: it takes deliveries out of the store
//! queue one at a time, paced.
//!
//! Loop: wait until the agent is ready, not held, the pacer allows, and a
//! delivery is queued → claim it (queued → injecting, committed) → one
//! attempt (`attempt.rs`: type, prove, commit the outcome).

use std::sync::Arc;
use std::time::Duration;

use courier_core::DeliveryMode;
use courier_core::pacing::Pacer;
use courier_core::time::{Clock, SystemClock};
use courier_terminal::Terminal;
use courier_terminal::verify::Expectation;
use tracing::Instrument;

use super::input_hold;
use crate::agents::context::AgentContext;
use crate::agents::typing::is_typing_reason;

/// Takes deliveries out of the queue, one at a time, paced.
pub async fn deliver_loop(ctx: Arc<AgentContext>) {
    let name = ctx.spec.name.clone();
    let clock = SystemClock;
    let mut pacer = Pacer::default();
    // Report the real delay from the start, not 0 until the first outcome.
    ctx.status.send_modify(|s| s.delay_ms = pacer.delay_ms());
    let mut status = ctx.status.subscribe();
    let mut mode = ctx.control.mode.subscribe();
    ctx.status.send_modify(|s| {
        s.mode = *mode.borrow();
        s.channels = ctx.control.channels;
    });
    if ctx.resumed {
        super::resume::settle_in_flight(&ctx).await;
    }
    // `immediate`: inject without waiting for the agent to be idle.
    let mut immediate = ctx.options.clone();
    immediate.ready_timeout = None;
    let mut screen = ctx.session.subscribe();
    // A message of ours was left in the input (not submitted): its text.
    let mut left_over: Option<Expectation> = None;
    loop {
        if ctx.shutdown.is_triggered() {
            return;
        }
        let current_mode = *mode.borrow_and_update();
        ctx.status.send_modify(|s| s.mode = current_mode);
        let current = status.borrow_and_update().clone();
        if current.exited.is_some() {
            return;
        }
        if !current.ready {
            tokio::select! {
                _ = ctx.shutdown.wait() => return,
                _ = status.changed() => continue,
            }
        }
        // A person at the keys holds deliveries in every mode, busy or not:
        // nothing is pasted into what they are writing.
        match ctx.control.typing.hold_left(clock.now()) {
            Some(left) => {
                input_hold::set_held(&ctx, Some(ctx.control.typing.reason())).await;
                tokio::select! {
                    _ = ctx.shutdown.wait() => return,
                    _ = tokio::time::sleep(left) => continue,
                }
            }
            // Typing is over. An agent that is not busy has its input looked
            // at below (which replaces the reason at once, no flicker); a
            // busy one is not held any more meanwhile.
            None if current.held.as_deref().is_some_and(is_typing_reason)
                && current.busy
                && current_mode != DeliveryMode::Immediate =>
            {
                input_hold::set_held(&ctx, None).await;
            }
            None => {}
        }
        // `idle` (and a flush in `manual`) delivers at the next idle
        // boundary: while the agent works, leave the delivery queued and
        // wait for the watcher to see it idle. Claiming now would only make
        // the delivery wait `ready_timeout` in flight and fail (an attempt
        // lost, dead after a few) whenever the agent works longer than that.
        // `immediate` types even while the agent works.
        if current.busy && current_mode != DeliveryMode::Immediate {
            tokio::select! {
                _ = ctx.shutdown.wait() => return,
                _ = status.changed() => continue,
                _ = mode.changed() => continue,
                // A person's keystroke: show the typing hold at once, even
                // while their typing keeps the agent busy.
                _ = ctx.wake.notified() => continue,
            }
        }
        // In every mode: nothing is typed into an input that holds text.
        screen.borrow_and_update();
        let prompt = ctx.options.readiness.prompt.as_ref();
        let hold = input_hold::holds(&ctx.session.snapshot(0), prompt, left_over.as_ref());
        if hold.is_none() {
            left_over = None;
        }
        input_hold::set_held(&ctx, hold.clone()).await;
        if hold.is_some() {
            tokio::select! {
                _ = ctx.shutdown.wait() => return,
                _ = screen.changed() => continue,
                _ = status.changed() => continue,
            }
        }
        if let Some(at) = pacer.next_allowed() {
            let wait = at.millis_since(clock.now());
            if wait > 0 {
                tokio::select! {
                    _ = ctx.shutdown.wait() => return,
                    _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                }
                // The agent may have started working meanwhile: look again.
                continue;
            }
        }
        // The watcher's view may be a moment old: right before claiming,
        // the live screen must not show the agent working (idle mode).
        if current_mode != DeliveryMode::Immediate
            && let Some(working) = ctx
                .options
                .readiness
                .busy
                .working_on(&ctx.session.snapshot(0))
        {
            tracing::debug!(%working, "the screen shows the agent working; not claiming");
            tokio::select! {
                _ = ctx.shutdown.wait() => return,
                _ = screen.changed() => continue,
                _ = status.changed() => continue,
                _ = mode.changed() => continue,
            }
        }
        let Some(took_unit) = ctx.control.take_one() else {
            // Held (manual mode, or hooks only): wait for a flush or a mode change.
            tokio::select! {
                _ = ctx.shutdown.wait() => return,
                _ = ctx.wake.notified() => continue,
                _ = mode.changed() => continue,
            }
        };
        let claimed = match ctx.store.claim_next_async(&name, ctx.session.id()).await {
            Ok(claimed) => claimed,
            Err(e) => {
                ctx.control.give_back(took_unit);
                tracing::warn!(error = %e, "cannot take the next delivery; retrying in 1 s");
                tokio::select! {
                    _ = ctx.shutdown.wait() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        let Some((delivery, message)) = claimed else {
            ctx.control.give_back(took_unit);
            tokio::select! {
                _ = ctx.shutdown.wait() => return,
                _ = ctx.wake.notified() => continue,
                _ = status.changed() => continue,
                _ = mode.changed() => continue,
            }
        };
        let options = if current_mode == DeliveryMode::Immediate {
            &immediate
        } else {
            &ctx.options
        };
        let span = tracing::debug_span!("delivery", delivery = %delivery.id);
        super::attempt::run(
            &ctx,
            &delivery,
            &message,
            options,
            &mut pacer,
            &mut left_over,
        )
        .instrument(span)
        .await;
    }
}
