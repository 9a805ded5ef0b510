//! One attempt at one delivery: frame the text for whoever reads the
//! terminal now, type it and prove it on the screen, then commit the
//! outcome (`injected` first when the screen took it in) and tell the pacer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

use courier_core::delivery::Transition;
use courier_core::framing::{self, Framing};
use courier_core::pacing::Pacer;
use courier_core::settle::{Attempt, Counted, ScreenRefusal, settle_attempt};
use courier_core::time::{Clock, SystemClock};
use courier_core::{Delivery, DeliveryId, Message};
use courier_store::Store;
use courier_terminal::verify::Expectation;
use courier_terminal::{BeforeEnter, DeliverOptions, Terminal, deliver_with};

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
    let outcome = crash::injection_outcome(report.outcome.clone());
    // What the attempt means is core's decision (`settle_attempt`): here
    // only the effects — pacing, counters, the commits, the queue's progress.
    let settled = settle_attempt(Attempt {
        refused: ScreenRefusal::of(&outcome),
        outcome,
        typing_started: report.injected_at.is_some(),
        marked_injected: hook.done.load(Ordering::SeqCst),
        exit: report.exit.map(crash::exit_of),
        busy_at_end: ctx.status.borrow().busy,
        screen: report.screen.clone(),
    });
    pacer.record(settled.pacing);
    if settled.left_in_input {
        *left_over = Some(Expectation::new(&text, options.collapsed.clone()));
    }
    count(&ctx.metrics, settled.counted);
    let mut recorded = true;
    for step in settled.transitions {
        if let Err(e) = ctx.store.transition_async(&delivery.id, step).await {
            tracing::warn!(error = %e, "cannot record the delivery's outcome");
            recorded = false;
            break;
        }
    }
    if settled.progressed && recorded {
        // The queue moved: the watchdog measures from here.
        ctx.control.progressed(clock.now());
    }
    ctx.status.send_modify(|s| {
        s.delivering = None;
        s.delay_ms = pacer.delay_ms();
    });
    tracing::debug!(outcome = ?report.outcome, latency = ?report.verify_latency(), "delivered");
}

/// Counts a settled attempt in the metrics.
fn count(metrics: &Metrics, counted: Counted) {
    match counted {
        Counted::Verified => Metrics::inc(&metrics.deliveries_verified),
        Counted::Unverified => Metrics::inc(&metrics.deliveries_unverified),
        Counted::Failed => Metrics::inc(&metrics.deliveries_failed),
        Counted::Requeued => tracing::debug!("nothing typed; back to the queue"),
    }
}
