//! One task per generation of an agent (one process): it watches the
//! screen for the context running low, and when the process ends it
//! records the exit (`agent_exited`, or `agent_crashed` with the last
//! screen rows), then applies the restart policy: stay exited, restart
//! after the backoff (`agent_restarted`, by the next generation), or give
//! up (`agent_dead`). It is one of the generation's tasks, so releasing
//! the agent or stopping the broker ends it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use courier_core::event::EventKind;
use courier_core::time::{Clock, SystemClock};
use courier_core::{RestartDecision, RestartPolicy};
use courier_terminal::{ExitInfo, Terminal};
use tokio::sync::watch;

use super::context_low::ContextLow;
use super::dead::declare_dead;
use super::state::Lifecycle;
use crate::agents::status::AgentStatus;
use crate::delivery::crash;
use crate::delivery::watchdog::{EXCERPT_ROWS, excerpt};
use crate::terminals::AgentTerminal;

/// How long the exited generation's delivery task may take to record what
/// it had in flight before the supervisor settles it itself.
const DRAIN_BOUND: Duration = Duration::from_secs(10);
/// How often at most the screen is read for context-low patterns.
const LOOK_EVERY: Duration = Duration::from_millis(250);

pub struct Supervisor {
    pub lifecycle: Lifecycle,
    pub name: String,
    pub session: Arc<AgentTerminal>,
    pub status: watch::Receiver<AgentStatus>,
    pub context_low: ContextLow,
}

impl Supervisor {
    pub async fn run(mut self) {
        let shutdown = self.lifecycle.services.shutdown.clone();
        let mut changes = self.session.subscribe();
        let mut screen_open = !self.context_low.is_empty();
        // A TUI redraws many times a second: the screen is read at most
        // every LOOK_EVERY, and once more after the last change.
        let mut last_look = Instant::now();
        let mut dirty = false;
        loop {
            let now = Instant::now();
            let look_at = dirty.then_some(last_look + LOOK_EVERY);
            let recheck = match (self.context_low.next_check(now), look_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                _ = shutdown.wait() => return,
                exit = self.session.wait_exit() => {
                    self.exited(exit).await;
                    return;
                }
                changed = changes.changed(), if screen_open => match changed {
                    Ok(()) => dirty = true,
                    Err(_) => screen_open = false,
                },
                _ = sleep_until(recheck), if recheck.is_some() => {}
            }
            let now = Instant::now();
            let due = self.context_low.next_check(now).is_some_and(|at| now >= at);
            if (dirty && now >= last_look + LOOK_EVERY) || due {
                dirty = false;
                last_look = now;
                self.look().await;
            }
        }
    }

    /// Raises `agent_context_low` when a new episode starts on this screen.
    async fn look(&mut self) {
        let snap = self.session.snapshot(0);
        if snap.mid_frame {
            return;
        }
        let started = self.context_low.observe(&snap.text(), Instant::now());
        let ops = &self.lifecycle.ops;
        let Some(line) = started else {
            if !self.context_low.in_episode() {
                ops.update(&self.name, |o| o.context_low = None);
            }
            return;
        };
        tracing::warn!(line = %line, "context running low");
        ops.update(&self.name, |o| o.context_low = Some(line.clone()));
        let kind = EventKind::AgentContextLow {
            name: self.name.clone(),
            line,
        };
        if let Err(e) = self.lifecycle.services.store.append_event_async(kind).await {
            tracing::warn!(error = %e, "cannot record agent_context_low");
        }
    }

    async fn exited(&mut self, exit: ExitInfo) {
        let shutdown = self.lifecycle.services.shutdown.clone();
        // The generation's watcher and delivery task end at the exit, the
        // delivery task after recording what it had in flight; then the
        // status channel closes.
        let drained = async { while self.status.changed().await.is_ok() {} };
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::timeout(DRAIN_BOUND, drained) => {}
        }
        crash::settle_left_in_flight(
            &self.lifecycle.services.store,
            &self.name,
            self.session.id(),
            exit,
        )
        .await;
        let crashed = crash::exit_of(exit).is_crash();
        let Some(ops) = self.lifecycle.ops.get(&self.name) else {
            return; // released meanwhile
        };
        let policy = ops.policy;
        let mut decision = policy.decide(crashed, &ops.history, SystemClock.now());
        self.record_exit(exit, crashed, decision).await;
        let mut last_error = None;
        loop {
            match decision {
                RestartDecision::Stay => return,
                RestartDecision::Dead { restarts } => {
                    let reason = dead_reason(&policy, restarts, last_error.as_deref());
                    declare_dead(
                        &self.lifecycle,
                        &self.name,
                        restarts,
                        policy.window_s,
                        reason,
                    )
                    .await;
                    return;
                }
                RestartDecision::Restart { attempt, delay_ms } => {
                    let Some(e) = self.restart(attempt, delay_ms).await else {
                        return;
                    };
                    last_error = Some(e);
                    let ops = &self.lifecycle.ops;
                    let history = ops.get(&self.name).map(|o| o.history).unwrap_or_default();
                    decision = policy.decide(true, &history, SystemClock.now());
                }
            }
        }
    }

    /// One restart after its delay: `None` once it started (or the broker
    /// stops), else why it could not start.
    async fn restart(&self, attempt: u32, delay_ms: u64) -> Option<String> {
        let ops = &self.lifecycle.ops;
        ops.update(&self.name, |o| {
            o.restarting = Some((attempt, SystemClock.now()))
        });
        tokio::select! {
            _ = self.lifecycle.services.shutdown.wait() => return None,
            _ = tokio::time::sleep(Duration::from_millis(delay_ms)) => {}
        }
        ops.update(&self.name, |o| o.history.push(SystemClock.now()));
        // The restarter runs it apart from this task: a release that aborts
        // this task meanwhile must not leave a half-started generation
        // behind (the restart finds the agent gone and ends what it started).
        let restart = self
            .lifecycle
            .request_restart(&self.name, self.session.id(), attempt);
        match restart.await {
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(attempt, error = %e, "cannot start the agent again");
                Some(e.to_string())
            }
        }
    }

    /// One event for the exit: `agent_crashed` (with the screen and the
    /// wait before a restart) or `agent_exited`.
    async fn record_exit(&self, exit: ExitInfo, crashed: bool, decision: RestartDecision) {
        let signal = exit.signal.map(|s| s.to_string());
        let kind = if crashed {
            let screen = excerpt(&self.session.snapshot(0).rows, EXCERPT_ROWS);
            let restart_in_ms = match decision {
                RestartDecision::Restart { delay_ms, .. } => Some(delay_ms),
                _ => None,
            };
            tracing::warn!(%exit, ?restart_in_ms, "agent crashed");
            EventKind::AgentCrashed {
                name: self.name.clone(),
                code: exit.code,
                signal,
                screen,
                restart_in_ms,
            }
        } else {
            tracing::info!(%exit, "agent exited");
            EventKind::AgentExited {
                name: self.name.clone(),
                code: exit.code,
                signal,
            }
        };
        if let Err(e) = self.lifecycle.services.store.append_event_async(kind).await {
            tracing::warn!(error = %e, "cannot record the agent's exit");
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Why an agent is declared dead, for a person.
fn dead_reason(policy: &RestartPolicy, restarts: u32, last_error: Option<&str>) -> String {
    match last_error {
        Some(e) => format!(
            "{restarts} restart(s) within {} s; the last start failed: {e}",
            policy.window_s
        ),
        None => format!(
            "crashed again after {restarts} restart(s) within {} s (limit {})",
            policy.window_s, policy.max_restarts
        ),
    }
}
