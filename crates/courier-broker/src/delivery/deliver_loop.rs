//! One task per agent generation: it takes deliveries out of the store
//! queue one at a time, paced.
//!
//! Each turn passes the gates in order — the agent ready (and, served, its
//! protocol joined or given up on), no person typing,
//! not busy (unless `immediate`), the input empty, the pacer's delay over,
//! the live screen not working, a delivery allowed by the mode — then
//! claims one (queued → injecting, committed) and makes one attempt
//! (`attempt.rs`: type, prove, commit what core's `settle_attempt` says).
//! A gate that does not pass waits for what could change its answer and
//! starts the turn again.

use std::sync::Arc;
use std::time::Duration;

use courier_core::pacing::Pacer;
use courier_core::time::{Clock, SystemClock};
use courier_core::{Delivery, DeliveryChannel, DeliveryMode, Message};
use courier_terminal::verify::Expectation;
use courier_terminal::{DeliverOptions, Terminal};
use tokio::sync::watch;
use tracing::Instrument;

use super::input_hold;
use crate::agents::context::AgentContext;
use crate::agents::status::AgentStatus;
use crate::agents::typing::is_typing_reason;

/// What a gate says.
enum Flow {
    /// Go on to the next gate.
    Pass,
    /// Start the turn again (something changed, or a wait ended).
    Again,
    /// The broker stops or the agent exited: the task ends.
    Stop,
}

/// What a wait ends on, besides shutdown.
#[derive(Default, Clone, Copy)]
struct On {
    status: bool,
    mode: bool,
    screen: bool,
    wake: bool,
    sleep: Option<Duration>,
}

/// The loop's state across turns.
struct DeliveryLoop {
    ctx: Arc<AgentContext>,
    pacer: Pacer,
    status: watch::Receiver<AgentStatus>,
    mode: watch::Receiver<DeliveryMode>,
    screen: watch::Receiver<u64>,
    /// `immediate`: inject without waiting for the agent to be idle.
    immediate: DeliverOptions,
    /// A message of ours was left in the input (not submitted): its text.
    left_over: Option<Expectation>,
}

/// Takes deliveries out of the queue, one at a time, paced.
pub async fn deliver_loop(ctx: Arc<AgentContext>) {
    let mut deliveries = DeliveryLoop::new(ctx.clone());
    if ctx.resumed {
        super::resume::settle_in_flight(&ctx).await;
    }
    loop {
        match deliveries.turn().await {
            Flow::Stop => return,
            Flow::Pass | Flow::Again => {}
        }
    }
}

impl DeliveryLoop {
    fn new(ctx: Arc<AgentContext>) -> DeliveryLoop {
        let pacer = Pacer::default();
        let mode = ctx.control.mode.subscribe();
        // Report the real delay from the start, not 0 until the first outcome.
        ctx.status.send_modify(|s| {
            s.delay_ms = pacer.delay_ms();
            s.mode = *mode.borrow();
            s.channels = ctx.control.channels;
        });
        let mut immediate = ctx.options.clone();
        immediate.ready_timeout = None;
        DeliveryLoop {
            status: ctx.status.subscribe(),
            screen: ctx.session.subscribe(),
            ctx,
            pacer,
            mode,
            immediate,
            left_over: None,
        }
    }

    /// One turn: the gates, then a claim and an attempt.
    async fn turn(&mut self) -> Flow {
        if self.ctx.shutdown.is_triggered() {
            return Flow::Stop;
        }
        let mode = *self.mode.borrow_and_update();
        self.ctx.status.send_modify(|s| s.mode = mode);
        let current = self.status.borrow_and_update().clone();
        if current.exited.is_some() {
            return Flow::Stop;
        }
        if !current.ready {
            return self
                .wait(On {
                    status: true,
                    ..On::default()
                })
                .await;
        }
        // A served agent's first deliveries wait for the broker to join the
        // protocol its TUI shares (or to give up and type them).
        if self.ctx.served.joining() {
            return self
                .wait(On {
                    status: true,
                    wake: true,
                    ..On::default()
                })
                .await;
        }
        // In order, and no further than the first gate that does not pass:
        // a gate after it must not wait, look at the screen or change the
        // status for a turn that starts again anyway.
        macro_rules! pass {
            ($gate:expr) => {
                match $gate {
                    Flow::Pass => {}
                    flow => return flow,
                }
            };
        }
        // The input and the working screen are a terminal's witnesses; a
        // native channel's protocol has neither (its turns make it busy).
        let screen = self.ctx.session.native().is_none();
        pass!(self.typing_gate(&current, mode).await);
        pass!(self.busy_gate(&current, mode).await);
        if screen {
            pass!(self.input_gate().await);
        }
        pass!(self.pacer_gate().await);
        if screen {
            pass!(self.working_gate(mode).await);
        }
        self.claim_and_attempt(mode).await
    }

    /// Waits for the first of `on` (or shutdown).
    async fn wait(&mut self, on: On) -> Flow {
        let ctx = self.ctx.clone();
        tokio::select! {
            _ = ctx.shutdown.wait() => Flow::Stop,
            _ = self.status.changed(), if on.status => Flow::Again,
            _ = self.mode.changed(), if on.mode => Flow::Again,
            _ = self.screen.changed(), if on.screen => Flow::Again,
            _ = ctx.wake.notified(), if on.wake => Flow::Again,
            _ = sleep_or_forever(on.sleep) => Flow::Again,
        }
    }

    /// A person at the keys holds deliveries in every mode, busy or not:
    /// nothing is pasted into what they are writing.
    async fn typing_gate(&mut self, current: &AgentStatus, mode: DeliveryMode) -> Flow {
        let typing = &self.ctx.control.typing;
        match typing.hold_left(SystemClock.now()) {
            Some(left) => {
                input_hold::set_held(&self.ctx, Some(typing.reason())).await;
                self.wait(On {
                    sleep: Some(left),
                    ..On::default()
                })
                .await
            }
            // Typing is over. An agent that is not busy has its input looked
            // at by the input gate (which replaces the reason at once, no
            // flicker); a busy one is not held any more meanwhile.
            None if current.held.as_deref().is_some_and(is_typing_reason)
                && current.busy
                && mode != DeliveryMode::Immediate =>
            {
                input_hold::set_held(&self.ctx, None).await;
                Flow::Pass
            }
            None => Flow::Pass,
        }
    }

    /// `idle` (and a flush in `manual`) delivers at the next idle boundary:
    /// while the agent works, the delivery stays queued until the watcher
    /// sees it idle. Claiming now would only make it wait `ready_timeout` in
    /// flight and fail (an attempt lost, dead after a few) whenever the
    /// agent works longer than that. `immediate` types even while it works.
    async fn busy_gate(&mut self, current: &AgentStatus, mode: DeliveryMode) -> Flow {
        if !current.busy || mode == DeliveryMode::Immediate {
            return Flow::Pass;
        }
        // A person's keystroke (`wake`) shows the typing hold at once, even
        // while their typing keeps the agent busy.
        self.wait(On {
            status: true,
            mode: true,
            wake: true,
            ..On::default()
        })
        .await
    }

    /// In every mode: nothing is typed into an input that holds text.
    async fn input_gate(&mut self) -> Flow {
        self.screen.borrow_and_update();
        let prompt = self.ctx.options.readiness.prompt.as_ref();
        let snapshot = self.ctx.session.snapshot(0);
        let hold = input_hold::holds(&snapshot, prompt, self.left_over.as_ref());
        if hold.is_none() {
            self.left_over = None;
        }
        let held = hold.is_some();
        input_hold::set_held(&self.ctx, hold).await;
        if !held {
            return Flow::Pass;
        }
        self.wait(On {
            screen: true,
            status: true,
            ..On::default()
        })
        .await
    }

    /// The pacer's delay between two injections into this agent.
    async fn pacer_gate(&mut self) -> Flow {
        let Some(at) = self.pacer.next_allowed() else {
            return Flow::Pass;
        };
        let wait = at.millis_since(SystemClock.now());
        if wait == 0 {
            return Flow::Pass;
        }
        // After the wait, the agent may have started working: look again.
        match self
            .wait(On {
                sleep: Some(Duration::from_millis(wait)),
                ..On::default()
            })
            .await
        {
            Flow::Stop => Flow::Stop,
            _ => Flow::Again,
        }
    }

    /// The watcher's view may be a moment old: right before claiming, the
    /// live screen must not show the agent working (unless `immediate`).
    async fn working_gate(&mut self, mode: DeliveryMode) -> Flow {
        if mode == DeliveryMode::Immediate {
            return Flow::Pass;
        }
        let busy = &self.ctx.options.readiness.busy;
        let Some(working) = busy.working_on(&self.ctx.session.snapshot(0)) else {
            return Flow::Pass;
        };
        tracing::debug!(%working, "the screen shows the agent working; not claiming");
        self.wait(On {
            screen: true,
            status: true,
            mode: true,
            ..On::default()
        })
        .await
    }

    /// Claims the next delivery the mode lets through, and makes one
    /// attempt at it.
    async fn claim_and_attempt(&mut self, mode: DeliveryMode) -> Flow {
        let (delivery, message) = match self.claim().await {
            Ok(claimed) => claimed,
            Err(flow) => return flow,
        };
        let options = if mode == DeliveryMode::Immediate {
            &self.immediate
        } else {
            &self.ctx.options
        };
        let span = tracing::debug_span!("delivery", delivery = %delivery.id);
        super::attempt::run(
            &self.ctx,
            &delivery,
            &message,
            options,
            &mut self.pacer,
            &mut self.left_over,
        )
        .instrument(span)
        .await;
        Flow::Pass
    }

    /// The next queued delivery, claimed; or what to do without one.
    async fn claim(&mut self) -> Result<(Delivery, Message), Flow> {
        let Some(took_unit) = self.ctx.control.take_one() else {
            // Held (manual mode, or hooks only): wait for a flush or a mode change.
            return Err(self
                .wait(On {
                    wake: true,
                    mode: true,
                    ..On::default()
                })
                .await);
        };
        let ctx = self.ctx.clone();
        let channel = match ctx.native() {
            Some(_) => DeliveryChannel::Native,
            None => DeliveryChannel::Pty,
        };
        let claimed = ctx
            .store
            .claim_next_async(&ctx.spec.name, ctx.session.id(), channel)
            .await;
        let nothing = On {
            wake: true,
            status: true,
            mode: true,
            ..On::default()
        };
        match claimed {
            Ok(Some(claimed)) => Ok(claimed),
            Ok(None) => {
                ctx.control.give_back(took_unit);
                Err(self.wait(nothing).await)
            }
            Err(e) => {
                ctx.control.give_back(took_unit);
                tracing::warn!(error = %e, "cannot take the next delivery; retrying in 1 s");
                Err(self
                    .wait(On {
                        sleep: Some(Duration::from_secs(1)),
                        ..On::default()
                    })
                    .await)
            }
        }
    }
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
