//! After a restart, before anything else is typed into an agent whose
//! session survived the previous broker (a session host), the deliveries
//! that broker left in flight on that very session are settled from the
//! screen: Enter sent if the text waits in the input line, verified if it
//! was submitted, typed again only if it left no trace. See
//! `courier_terminal::resume` for the rule.

use std::sync::atomic::Ordering;

use courier_core::framing::Framing;
use courier_core::settle;
use courier_core::{Delivery, DeliveryState};
use courier_terminal::resume::{Resumed, framed_as, resume};
use courier_terminal::{BeforeEnter, NoHook, Terminal};

use super::attempt::{MarkInjected, typed_text};
use super::crash::injection_outcome;
use crate::agents::context::AgentContext;

/// Settles every delivery left in flight on this agent's (surviving) session.
pub(crate) async fn settle_in_flight(ctx: &AgentContext) {
    let pending = match ctx.store.pending_async().await {
        Ok(pending) => pending,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the deliveries left in flight");
            return;
        }
    };
    let session = ctx.session.id().to_string();
    for delivery in pending.into_iter().filter(|d| {
        d.agent == ctx.spec.name
            && d.session.as_deref() == Some(session.as_str())
            && matches!(d.state, DeliveryState::Injecting | DeliveryState::Injected)
    }) {
        settle(ctx, &delivery).await;
    }
}

async fn settle(ctx: &AgentContext, delivery: &Delivery) {
    let message = match ctx.store.message_async(&delivery.message_id).await {
        Ok(Some((message, _))) => message,
        other => {
            tracing::warn!(delivery = %delivery.id, result = ?other.map(|m| m.is_some()), "message of an in-flight delivery not found");
            return;
        }
    };
    let text = text_to_settle(ctx, &message).await;
    let entered = delivery.state == DeliveryState::Injected;
    let mark = MarkInjected::new(&ctx.store, &delivery.id);
    // Enter may already have been sent: the state is `injected` already.
    let hook: &dyn BeforeEnter = if entered { &NoHook } else { &mark };
    let resumed = resume(&*ctx.session, &ctx.options, &text, entered, hook).await;
    let marked = entered || mark.done.load(Ordering::SeqCst);
    let resumed = match resumed {
        Resumed::NotTyped => settle::Resumed::NotTyped,
        Resumed::Done(report) => settle::Resumed::Done {
            outcome: injection_outcome(report.outcome),
            screen: report.screen,
        },
    };
    let steps = settle::settle_resumed(resumed, marked);
    tracing::info!(delivery = %delivery.id, ?steps, "settled a delivery left in flight");
    for step in steps {
        if let Err(e) = ctx.store.transition_async(&delivery.id, step).await {
            tracing::warn!(delivery = %delivery.id, error = %e, "cannot record a settled delivery");
            return;
        }
    }
    ctx.control.progressed(courier_core::time::Clock::now(
        &courier_core::time::SystemClock,
    ));
}

/// The text as it was typed before the restart. The framing decision made
/// now comes first; the program reading the terminal may have changed since
/// (node exited back to bash), so the text is the framing whose trace the
/// surviving screen shows. Without a trace, the decision made now: the
/// delivery is then typed as any other would be.
async fn text_to_settle(ctx: &AgentContext, message: &courier_core::Message) -> String {
    let decided = ctx
        .framing
        .decide_async(ctx.session.pid(), ctx.session.adopter())
        .await
        .value;
    let mut candidates = vec![decided];
    for other in [
        Framing::HashComment,
        Framing::SlashComment,
        Framing::ZshQuoted,
        // Last: its header is part of every framed one.
        Framing::None,
    ] {
        if !candidates.contains(&other) {
            candidates.push(other);
        }
    }
    let texts: Vec<String> = candidates
        .iter()
        .map(|framing| typed_text(message, framing))
        .collect();
    let chosen = framed_as(&*ctx.session, &ctx.options, &texts).unwrap_or(0);
    texts.into_iter().nth(chosen).unwrap_or_default()
}
