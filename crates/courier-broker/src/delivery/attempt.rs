//! One attempt at one delivery: frame the text for whoever reads the
//! terminal now, type it and prove it on the screen, then commit the
//! outcome (`injected` first when the screen took it in) and tell the pacer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

use courier_core::delivery::Transition;
use courier_core::framing::{self, Framing};
use courier_core::pacing::Pacer;
use courier_core::time::{Clock, SystemClock};
use courier_core::{Delivery, DeliveryId, Message};
use courier_store::Store;
use courier_terminal::readiness;
use courier_terminal::verify::Expectation;
use courier_terminal::{BeforeEnter, DeliverOptions, DeliveryOutcome, Terminal, deliver_with};

use super::crash;
use crate::agents::context::AgentContext;
use crate::metrics::Metrics;

/// Commits `injected` right before the first Enter: after a crash, a
/// delivery still `injecting` provably was never submitted (safe to
/// re-inject), while an `injected` one may have been (never re-injected).
pub struct MarkInjected<'a> {
    store: &'a Store,
    id: &'a DeliveryId,
    pub done: AtomicBool,
}

impl<'a> MarkInjected<'a> {
    pub fn new(store: &'a Store, id: &'a DeliveryId) -> Self {
        MarkInjected {
            store,
            id,
            done: AtomicBool::new(false),
        }
    }
}

impl BeforeEnter for MarkInjected<'_> {
    fn before_enter(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            match self
                .store
                .transition_async(self.id, Transition::Written)
                .await
            {
                Ok(_) => {
                    self.done.store(true, Ordering::SeqCst);
                    Ok(())
                }
                Err(e) => Err(format!("cannot record the injection, Enter not sent: {e}")),
            }
        })
    }
}

/// What is typed into the terminal for `message` (header line, then body),
/// each line made inert for a program that would run it.
pub fn typed_text(message: &Message, inert: &Framing) -> String {
    let text = framing::frame(
        &message.from,
        &message.to,
        &message.id,
        message.thread.as_ref(),
        &message.body,
    );
    inert.apply(&text)
}

/// The screen refused the keys because the input held text (a draft
/// typed meanwhile): nothing was written, the delivery waits for the hold.
fn refused_for_input(outcome: &DeliveryOutcome) -> bool {
    matches!(outcome, DeliveryOutcome::Failed { reason } if reason.contains("input_not_empty"))
}

/// Nothing was typed because the screen showed the agent working until
/// `ready_timeout` passed: like a busy agent, it never saw the text.
fn refused_while_working(outcome: &DeliveryOutcome) -> bool {
    matches!(outcome, DeliveryOutcome::Failed { reason } if reason.contains(readiness::WORKING))
}

/// Types `message` (delivery `delivery`, claimed) into the agent and
/// records the outcome. `left_over` is set when the text was left in the
/// input (not submitted): deliveries then wait until the input is empty.
pub async fn run(
    ctx: &AgentContext,
    delivery: &Delivery,
    message: &Message,
    options: &DeliverOptions,
    pacer: &mut Pacer,
    left_over: &mut Option<Expectation>,
) {
    let clock = SystemClock;
    pacer.injected_at(clock.now());
    ctx.status
        .send_modify(|s| s.delivering = Some(delivery.id.clone()));
    // Decided now: whoever reads the terminal at this moment (a
    // node started in a bash agent) is who must not run the text.
    let framing = ctx.framing.decide_async(ctx.session.pid()).await;
    tracing::debug!(framing = framing.framing, why = %framing.why, "framing");
    ctx.status
        .send_modify(|s| s.framing = Some(framing.clone()));
    let text = typed_text(message, &framing.value);
    let hook = MarkInjected::new(&ctx.store, &delivery.id);
    let report = deliver_with(&*ctx.session, options, &text, &hook).await;
    let outcome = crash::outcome_at_exit(&report);
    pacer.record(outcome.pacing());
    let mut steps = Vec::new();
    let injected = hook.done.load(Ordering::SeqCst);
    // Nothing was written because the agent kept working past
    // `ready_timeout` (it went busy after the claim): it never saw
    // the text and will be idle again, so the delivery goes back to
    // the queue without counting an attempt, and the loop waits for
    // the idle boundary. A screen that cannot take input although
    // quiet (a dialog, a blank screen) still fails and counts, so a
    // wedged agent ends in a dead letter instead of requeueing
    // forever out of the watchdog's sight.
    let untouched = (report.injected_at.is_none()
        && report.exit.is_none()
        && !injected
        && (ctx.status.borrow().busy
            || refused_for_input(&outcome)
            || refused_while_working(&outcome)))
        || crash::nothing_reached_it(&report, injected);
    if matches!(&outcome, DeliveryOutcome::Unverified { reason } if reason.starts_with("not_submitted"))
    {
        *left_over = Some(Expectation::new(&text, options.collapsed.clone()));
    }
    steps.push(match outcome {
        DeliveryOutcome::Verified => {
            Metrics::inc(&ctx.metrics.deliveries_verified);
            Transition::Verified
        }
        DeliveryOutcome::Unverified { reason } => {
            Metrics::inc(&ctx.metrics.deliveries_unverified);
            Transition::Unverified {
                reason,
                screen: report.screen.clone(),
            }
        }
        DeliveryOutcome::Failed { reason } if untouched => {
            tracing::debug!(%reason, "nothing typed; back to the queue");
            Transition::Requeue { reason }
        }
        DeliveryOutcome::Failed { reason } => {
            Metrics::inc(&ctx.metrics.deliveries_failed);
            Transition::Failed { reason }
        }
    });
    let taken_in = matches!(
        steps.last(),
        Some(Transition::Verified | Transition::Unverified { .. })
    );
    if !injected && taken_in {
        // The outcome came without reaching Enter (e.g. no echo):
        // the state machine goes through injected first.
        steps.insert(0, Transition::Written);
    }
    let mut recorded = true;
    for step in steps {
        if let Err(e) = ctx.store.transition_async(&delivery.id, step).await {
            tracing::warn!(error = %e, "cannot record the delivery's outcome");
            recorded = false;
            break;
        }
    }
    if taken_in && recorded {
        // The queue moved: the watchdog measures from here.
        ctx.control.progressed(clock.now());
    }
    ctx.status.send_modify(|s| {
        s.delivering = None;
        s.delay_ms = pacer.delay_ms();
    });
    tracing::debug!(outcome = ?report.outcome, latency = ?report.verify_latency(), "delivered");
}
