//! One attempt at one delivery, whatever its channel: the channel carries
//! it and reports what its witness saw — keystrokes framed for whoever
//! reads the terminal now, typed and proven on the screen (`injected`
//! committed right before Enter); or the agent CLI's own protocol
//! (`native.rs`) — core settles the report, and the effects are the same
//! for every channel: the commits in order, counters, pacing, progress.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

use courier_core::delivery::Transition;
use courier_core::framing::{self, Framing};
use courier_core::pacing::Pacer;
use courier_core::settle::{Attempt, Counted, ScreenRefusal, Settlement, settle_attempt};
use courier_core::time::{Clock, SystemClock};
use courier_core::{Delivery, DeliveryId, Message};
use courier_store::Store;
use courier_terminal::verify::Expectation;
use courier_terminal::{BeforeEnter, DeliverOptions, Terminal, deliver_with};

use super::crash;
use super::native::Joins;
use crate::agents::context::AgentContext;
use crate::metrics::Metrics;
use crate::native::NativeSession;

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

/// Carries `message` (delivery `delivery`, claimed) through the agent's
/// channel — keystrokes proven on its screen, or its own protocol
/// (`native.rs`) — and records the outcome core settles. `left_over` is set
/// when typed text was left in the input (not submitted): deliveries then
/// wait until the input is empty.
pub async fn run(
    ctx: &AgentContext,
    delivery: &Delivery,
    message: &Message,
    options: &DeliverOptions,
    pacer: &mut Pacer,
    left_over: &mut Option<Expectation>,
) {
    pacer.injected_at(SystemClock.now());
    ctx.status
        .send_modify(|s| s.delivering = Some(delivery.id.clone()));
    // The channel carries it and says what its witness saw; core decides
    // what that means (`settle_attempt`, `settle_protocol`).
    let settled = match ctx.native() {
        Some(native) => super::native::carry(ctx, delivery, message, &native, Joins::OwnTurn).await,
        None => keystrokes(ctx, delivery, message, options, left_over).await,
    };
    apply(ctx, delivery, settled, pacer).await;
    ctx.status.send_modify(|s| {
        s.delivering = None;
        s.delay_ms = pacer.delay_ms();
    });
}

/// One delivery steered into the turn the loop's own attempt follows
/// (`steer_lane.rs`): carried through `native`, settled and recorded as
/// any attempt, but the agent's status stays the loop's.
pub async fn steered(
    ctx: &AgentContext,
    delivery: &Delivery,
    message: &Message,
    native: &NativeSession,
    pacer: &mut Pacer,
) {
    pacer.injected_at(SystemClock.now());
    let settled = super::native::carry(ctx, delivery, message, native, Joins::ThatTurn).await;
    apply(ctx, delivery, settled, pacer).await;
}

/// The keystroke channel: frame for whoever reads the terminal now, type,
/// prove on the screen (`injected` committed right before Enter).
async fn keystrokes(
    ctx: &AgentContext,
    delivery: &Delivery,
    message: &Message,
    options: &DeliverOptions,
    left_over: &mut Option<Expectation>,
) -> Settlement {
    // Decided now: whoever reads the terminal at this moment (a
    // node started in a bash agent) is who must not run the text.
    let framing = ctx
        .framing
        .decide_async(ctx.session.pid(), ctx.session.adopter())
        .await;
    tracing::debug!(framing = framing.framing, why = %framing.why, "framing");
    ctx.status
        .send_modify(|s| s.framing = Some(framing.clone()));
    let text = typed_text(message, &framing.value);
    let hook = MarkInjected::new(&ctx.store, &delivery.id);
    let report = deliver_with(&*ctx.session, options, &text, &hook).await;
    let outcome = crash::injection_outcome(report.outcome.clone());
    let settled = settle_attempt(Attempt {
        refused: ScreenRefusal::of(&outcome),
        outcome,
        typing_started: report.injected_at.is_some(),
        marked_injected: hook.done.load(Ordering::SeqCst),
        exit: report.exit.map(crash::exit_of),
        busy_at_end: ctx.status.borrow().busy,
        screen: report.screen.clone(),
    });
    if settled.left_in_input {
        *left_over = Some(Expectation::new(&text, options.collapsed.clone()));
    }
    tracing::debug!(outcome = ?report.outcome, latency = ?report.verify_latency(), "delivered");
    settled
}

/// The effects of a settled attempt, the same for every channel: pacing,
/// counters, the commits in order, the queue's progress (the agent's
/// status is the caller's).
async fn apply(ctx: &AgentContext, delivery: &Delivery, settled: Settlement, pacer: &mut Pacer) {
    pacer.record(settled.pacing);
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
        ctx.control.progressed(SystemClock.now());
    }
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
