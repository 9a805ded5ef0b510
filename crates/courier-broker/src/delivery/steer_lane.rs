//! `immediate` mode for a protocol that steers (Codex's `turn/steer`):
//! the delivery loop carries one attempt at a time and follows the turn
//! its delivery started to its end, so a message that arrives meanwhile
//! would wait for that turn. This lane takes such messages (oldest first,
//! by the same one-transaction claim) and steers each into the running
//! turn; each is proven and settled like any native delivery (this text
//! as a `userMessage` of that turn, then its end), without a reply of its
//! own: the turn's answer is the reply to the message that started it.

use std::sync::Arc;
use std::time::Duration;

use courier_core::pacing::Pacer;
use courier_core::{DeliveryChannel, DeliveryMode};
use courier_terminal::Terminal;
use tracing::Instrument;

use crate::agents::context::AgentContext;

/// How often the lane looks whether it has something to steer, while the
/// agent is in `immediate` mode and a turn of the loop's runs.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// Steers deliveries into the loop's running turn while the agent lives.
pub async fn steer_lane(ctx: Arc<AgentContext>) {
    let mut pacer = Pacer::default();
    let mut mode = ctx.control.mode.subscribe();
    loop {
        if ctx.shutdown.is_triggered() || ctx.status.borrow().exited.is_some() {
            return;
        }
        if *mode.borrow_and_update() != DeliveryMode::Immediate {
            tokio::select! {
                _ = mode.changed() => continue,
                _ = ctx.shutdown.wait() => return,
                _ = ctx.session.wait_exit() => return,
            }
        }
        if !steer_one(&ctx, &mut pacer).await {
            tokio::select! {
                () = tokio::time::sleep(LOOK_EVERY) => {}
                _ = ctx.shutdown.wait() => return,
                _ = ctx.session.wait_exit() => return,
            }
        }
    }
}

/// Steers the next queued delivery into the loop's running turn, if there
/// is such a turn and such a delivery; whether it did.
async fn steer_one(ctx: &AgentContext, pacer: &mut Pacer) -> bool {
    let loop_carries = ctx.status.borrow().delivering.is_some();
    let Some(native) = ctx.native().filter(|n| loop_carries && n.can_steer()) else {
        return false;
    };
    let Some(unit) = ctx.control.take_one() else {
        return false;
    };
    let claimed = ctx
        .store
        .claim_next_async(&ctx.spec.name, ctx.session.id(), DeliveryChannel::Native)
        .await;
    let (delivery, message) = match claimed {
        Ok(Some(claimed)) => claimed,
        Ok(None) => {
            ctx.control.give_back(unit);
            return false;
        }
        Err(e) => {
            ctx.control.give_back(unit);
            tracing::warn!(error = %e, "cannot take a delivery to steer");
            return false;
        }
    };
    let span = tracing::debug_span!("steered", delivery = %delivery.id);
    super::attempt::steered(ctx, &delivery, &message, &native, pacer)
        .instrument(span)
        .await;
    true
}
