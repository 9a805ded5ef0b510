//! One task per agent: it owns the agent's terminal session, its pacing, and
//! takes deliveries out of the store queue one at a time.
//!
//! Loop: wait until the agent is ready, the pacer allows, and a delivery is
//! queued → claim it (queued → injecting, committed) → type the framed text
//! and prove it on the screen → commit `injected` and the outcome → tell the
//! pacer. A companion watcher reports readiness, busy/idle and exit events.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use courier_core::delivery::Transition;
use courier_core::event::EventKind;
use courier_core::framing::Framing;
use courier_core::mode::AgentView;
use courier_core::pacing::Pacer;
use courier_core::time::{Clock, SystemClock};
use courier_core::{ChannelPolicy, DeliveryId, DeliveryMode, framing};
use courier_store::Store;
use courier_terminal::readiness::{self, Activity};
use courier_terminal::verify::Expectation;
use courier_terminal::{
    BeforeEnter, DeliverOptions, DeliveryOutcome, ExitInfo, NotReady, ReadyBy, Terminal,
    deliver_with,
};
use serde::Serialize;
use tokio::sync::{Notify, watch};
use tracing::Instrument;

pub use crate::agent_control::AgentControl;
use crate::spec::AgentSpec;
use crate::agent_terminal::AgentTerminal;
use crate::launch::framing_policy::{FramingDecision, FramingPolicy};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::typing::is_typing_reason;

/// What a person or a client sees of an agent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentStatus {
    pub ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_by: Option<ReadyBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<String>,
    pub busy: bool,
    /// The working status line on screen (a busy pattern matched): busy
    /// however quiet the screen, and `idle` mode types nothing meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exited: Option<ExitInfo>,
    pub delay_ms: u64,
    /// The delivery being typed right now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivering: Option<DeliveryId>,
    /// Why deliveries wait although the agent is ready: its input holds
    /// text (see [`crate::input_hold`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// When queued deliveries are typed in (`idle`, `immediate`, `manual`).
    pub mode: DeliveryMode,
    /// Which channels deliver to it (`keystrokes`, `hooks`, `both`).
    pub channels: ChannelPolicy,
    /// How a message typed into it now is framed, and why (from the
    /// process reading its terminal; refreshed by every listing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framing: Option<FramingDecision>,
}

/// Everything an agent task needs.
pub struct AgentContext {
    pub spec: AgentSpec,
    pub session: Arc<AgentTerminal>,
    pub store: Arc<Store>,
    pub options: DeliverOptions,
    pub metrics: Arc<Metrics>,
    pub shutdown: Shutdown,
    pub wake: Arc<Notify>,
    pub status: watch::Sender<AgentStatus>,
    pub control: Arc<AgentControl>,
    /// (dialog pattern, keys) the preset allows the broker to answer.
    pub dialog_answers: Vec<(regex::Regex, String)>,
    /// How each message is framed (per delivery, from what reads the
    /// terminal, unless fixed at spawn).
    pub framing: Arc<FramingPolicy>,
    /// The session survived the previous broker: settle what that broker
    /// left in flight on it before typing anything else.
    pub resumed: bool,
}

/// At most this many automatic dialog answers per agent session.
const MAX_DIALOG_ANSWERS: u32 = 3;

/// A run of not-ready screens: answers a preset-approved dialog once it
/// settled, a bounded number of times.
async fn maybe_answer_dialog(
    ctx: &AgentContext,
    why: &NotReady,
    screen: &str,
    idle: bool,
    answered: &mut (u32, Option<Instant>),
) {
    let NotReady::Dialog { line, .. } = why else {
        return;
    };
    // Give the program time to react before answering again.
    let recently = answered
        .1
        .is_some_and(|t| t.elapsed() < Duration::from_secs(2));
    if !idle || recently || answered.0 >= MAX_DIALOG_ANSWERS {
        return;
    }
    let Some((_, keys)) = ctx.dialog_answers.iter().find(|(p, _)| p.is_match(screen)) else {
        return;
    };
    *answered = (answered.0 + 1, Some(Instant::now()));
    tracing::info!(dialog = %line, "answering the dialog with the preset's safe default");
    if let Err(e) = ctx.session.write(keys.as_bytes()).await {
        tracing::warn!(error = %e, "cannot answer the dialog");
    }
}

/// A running agent, held by the broker.
pub struct AgentHandle {
    pub spec: AgentSpec,
    pub session: Arc<AgentTerminal>,
    pub wake: Arc<Notify>,
    pub status: watch::Receiver<AgentStatus>,
    pub control: Arc<AgentControl>,
    /// How messages to it are framed (see [`crate::framing_policy`]).
    pub framing: Arc<FramingPolicy>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl AgentHandle {
    pub fn start(ctx: AgentContext) -> AgentHandle {
        let ctx = Arc::new(ctx);
        let span = tracing::info_span!("agent", agent = %ctx.spec.name);
        let watcher = tokio::spawn(watch_screen(ctx.clone()).instrument(span.clone()));
        let deliverer = tokio::spawn(deliver_loop(ctx.clone()).instrument(span));
        AgentHandle {
            spec: ctx.spec.clone(),
            session: ctx.session.clone(),
            wake: ctx.wake.clone(),
            status: ctx.status.subscribe(),
            control: ctx.control.clone(),
            framing: ctx.framing.clone(),
            tasks: vec![watcher, deliverer],
        }
    }

    /// What the watchdog needs to judge a queued delivery.
    pub fn view(&self) -> AgentView {
        let s = self.status.borrow();
        // An agent whose screen says it works is busy, not "not ready",
        // even before it was first seen ready (a task it started on).
        let ready = (s.ready || s.working.is_some()) && s.exited.is_none() && s.held.is_none();
        let busy = s.busy || s.working.is_some();
        AgentView {
            ready,
            busy: ready && busy,
            idle: ready && !busy,
            accepting: self.control.accepting(),
            last_progress: Some(self.control.last_progress()),
        }
    }

    /// Adds a task that lives and ends with this generation of the agent
    /// (its supervisor): aborted by [`AgentHandle::kill`].
    pub fn attach_task(&mut self, task: tokio::task::JoinHandle<()>) {
        self.tasks.push(task);
    }

    /// Stops the tasks after the delivery in hand (bounded by `grace`).
    pub async fn stop(&mut self, grace: Duration) {
        self.wake.notify_one();
        for task in &mut self.tasks {
            if tokio::time::timeout(grace, &mut *task).await.is_err() {
                task.abort();
            }
        }
    }

    /// Ends the program and every process it started.
    pub async fn kill(&mut self) -> Option<ExitInfo> {
        for task in &self.tasks {
            task.abort();
        }
        self.session.kill().await
    }
}

async fn record(ctx: &AgentContext, kind: EventKind) {
    if let Err(e) = ctx.store.append_event_async(kind).await {
        tracing::warn!(error = %e, "cannot record agent event");
    }
}

/// Reports readiness once and busy/idle transitions after that; marks the
/// exit in the status (its event, `agent_exited` or `agent_crashed`, is the
/// supervisor's: `crate::supervisor`).
async fn watch_screen(ctx: Arc<AgentContext>) {
    let name = ctx.spec.name.clone();
    let mut changes = ctx.session.subscribe();
    let cfg = &ctx.options.readiness;
    let spawned = ctx.session.spawned_at();
    let mut ready = false;
    let mut busy = false;
    let mut dialog_answers = (0u32, None);
    loop {
        let snap = ctx.session.snapshot(0);
        let now = Instant::now();
        let exited = ctx.session.exit_status();
        if let Some(exit) = exited {
            ctx.status.send_modify(|s| {
                s.ready = false;
                s.exited = Some(exit);
                s.not_ready = Some(NotReady::Exited.to_string());
            });
            ctx.wake.notify_one();
            return;
        }
        if !ready {
            let tty = readiness::probe_when_quiet(&snap, ctx.session.pid(), now, cfg.quiet);
            match readiness::assess(&snap, spawned, now, false, tty.as_ref(), cfg) {
                Ok(by) => {
                    ready = true;
                    ctx.status.send_modify(|s| {
                        s.ready = true;
                        s.ready_by = Some(by);
                        s.not_ready = None;
                        s.working = None;
                    });
                    let ready_by = serde_json::to_value(by)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    record(
                        &ctx,
                        EventKind::AgentReady {
                            name: name.clone(),
                            ready_by,
                        },
                    )
                    .await;
                    ctx.wake.notify_one();
                }
                Err(why) => {
                    let idle = readiness::activity(&snap, now, cfg.quiet) == Activity::Idle;
                    maybe_answer_dialog(&ctx, &why, &snap.text(), idle, &mut dialog_answers).await;
                    let working = why.working_line().map(str::to_string);
                    ctx.status.send_modify(|s| {
                        s.not_ready = Some(why.to_string());
                        s.working = working;
                    });
                }
            }
        } else {
            // A busy pattern on screen is busy however quiet the screen (a
            // status line redrawn less often than the quiet window).
            let working = cfg
                .busy
                .working_on(&snap)
                .and_then(|w| w.working_line().map(str::to_string));
            if working != ctx.status.borrow().working {
                ctx.status.send_modify(|s| s.working = working.clone());
            }
            let now_busy =
                working.is_some() || readiness::activity(&snap, now, cfg.quiet) == Activity::Busy;
            if now_busy != busy {
                busy = now_busy;
                ctx.status.send_modify(|s| s.busy = busy);
                let kind = if busy {
                    EventKind::AgentBusy { name: name.clone() }
                } else {
                    EventKind::AgentIdle { name: name.clone() }
                };
                record(&ctx, kind).await;
                if !busy {
                    ctx.wake.notify_one();
                }
            }
        }
        let wait = if ready && !busy {
            None
        } else if ready {
            Some(cfg.quiet)
        } else {
            Some(
                readiness::next_deadline(&snap, spawned, now, cfg)
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(5)),
            )
        };
        tokio::select! {
            _ = ctx.shutdown.wait() => return,
            changed = changes.changed() => if changed.is_err() { return },
            _ = sleep_or_forever(wait) => {}
        }
    }
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Commits `injected` right before the first Enter: after a crash, a
/// delivery still `injecting` provably was never submitted (safe to
/// re-inject), while an `injected` one may have been (never re-injected).
pub(crate) struct MarkInjected<'a> {
    store: &'a Store,
    id: &'a DeliveryId,
    pub(crate) done: AtomicBool,
}

impl<'a> MarkInjected<'a> {
    pub(crate) fn new(store: &'a Store, id: &'a DeliveryId) -> Self {
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
pub(crate) fn typed_text(message: &courier_core::Message, inert: &Framing) -> String {
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

/// Takes deliveries out of the queue, one at a time, paced.
async fn deliver_loop(ctx: Arc<AgentContext>) {
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
        crate::agent_resume::settle_in_flight(&ctx).await;
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
                crate::input_hold::set_held(&ctx, Some(ctx.control.typing.reason())).await;
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
                crate::input_hold::set_held(&ctx, None).await;
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
        let hold = crate::input_hold::holds(&ctx.session.snapshot(0), prompt, left_over.as_ref());
        if hold.is_none() {
            left_over = None;
        }
        crate::input_hold::set_held(&ctx, hold.clone()).await;
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
        async {
            pacer.injected_at(clock.now());
            ctx.status.send_modify(|s| s.delivering = Some(delivery.id.clone()));
            // Decided now: whoever reads the terminal at this moment (a
            // node started in a bash agent) is who must not run the text.
            let framing = ctx.framing.decide_async(ctx.session.pid()).await;
            tracing::debug!(framing = framing.framing, why = %framing.why, "framing");
            ctx.status.send_modify(|s| s.framing = Some(framing.clone()));
            let text = typed_text(&message, &framing.value);
            let hook = MarkInjected::new(&ctx.store, &delivery.id);
            let report = deliver_with(&*ctx.session, options, &text, &hook).await;
            let outcome = crate::crash::outcome_at_exit(&report);
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
                || crate::crash::nothing_reached_it(&report, injected);
            if matches!(&outcome, DeliveryOutcome::Unverified { reason } if reason.starts_with("not_submitted")) {
                left_over = Some(Expectation::new(&text, options.collapsed.clone()));
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
        .instrument(span)
        .await;
    }
}
