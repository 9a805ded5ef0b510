//! An agent's screen watcher: it reports readiness once and busy/idle
//! transitions after that, answers a dialog its preset approved, and marks
//! the exit in the status (the exit's event, `agent_exited` or
//! `agent_crashed`, is the supervisor's, in `lifecycle/`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use courier_core::event::EventKind;
use courier_terminal::readiness::{self, Activity};
use courier_terminal::{NotReady, Snapshot, Terminal};

use super::context::AgentContext;

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

/// What the watcher has seen so far.
struct Seen {
    ready: bool,
    busy: bool,
    /// Dialog answers given, and when the last one was.
    dialog_answers: (u32, Option<Instant>),
}

/// Reports readiness once and busy/idle transitions after that; marks the
/// exit in the status (its event, `agent_exited` or `agent_crashed`, is the
/// supervisor's, in `lifecycle/`).
pub async fn watch_screen(ctx: Arc<AgentContext>) {
    let mut changes = ctx.session.subscribe();
    let cfg = &ctx.options.readiness;
    let spawned = ctx.session.spawned_at();
    let mut seen = Seen {
        ready: false,
        busy: false,
        dialog_answers: (0, None),
    };
    loop {
        let snap = ctx.session.snapshot(0);
        let now = Instant::now();
        if let Some(exit) = ctx.session.exit_status() {
            ctx.status.send_modify(|s| {
                s.ready = false;
                s.exited = Some(exit);
                s.not_ready = Some(NotReady::Exited.to_string());
            });
            ctx.wake.notify_one();
            return;
        }
        if seen.ready {
            look_busy(&ctx, &snap, now, &mut seen).await;
        } else {
            look_ready(&ctx, &snap, spawned, now, &mut seen).await;
        }
        let wait = match (seen.ready, seen.busy) {
            (true, false) => None,
            (true, true) => Some(cfg.quiet),
            (false, _) => Some(
                readiness::next_deadline(&snap, spawned, now, cfg)
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(5)),
            ),
        };
        tokio::select! {
            _ = ctx.shutdown.wait() => return,
            changed = changes.changed() => if changed.is_err() { return },
            _ = sleep_or_forever(wait) => {}
        }
    }
}

/// Not ready yet: ready now (once: `agent_ready`), or why not (a dialog
/// the preset approved is answered).
async fn look_ready(
    ctx: &AgentContext,
    snap: &Snapshot,
    spawned: Instant,
    now: Instant,
    seen: &mut Seen,
) {
    let cfg = &ctx.options.readiness;
    let tty = readiness::probe_when_quiet(snap, ctx.session.pid(), now, cfg.quiet);
    match readiness::assess(snap, spawned, now, false, tty.as_ref(), cfg) {
        Ok(by) => {
            seen.ready = true;
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
            let name = ctx.spec.name.clone();
            ctx.record(EventKind::AgentReady { name, ready_by }).await;
            ctx.wake.notify_one();
        }
        Err(why) => {
            let idle = readiness::activity(snap, now, cfg.quiet) == Activity::Idle;
            let answered = &mut seen.dialog_answers;
            maybe_answer_dialog(ctx, &why, &snap.text(), idle, answered).await;
            let working = why.working_line().map(str::to_string);
            ctx.status.send_modify(|s| {
                s.not_ready = Some(why.to_string());
                s.working = working;
            });
        }
    }
}

/// Ready: busy or idle now (`agent_busy` / `agent_idle` on a change). A
/// busy pattern on screen is busy however quiet the screen (a status line
/// redrawn less often than the quiet window).
async fn look_busy(ctx: &AgentContext, snap: &Snapshot, now: Instant, seen: &mut Seen) {
    let cfg = &ctx.options.readiness;
    let working = cfg
        .busy
        .working_on(snap)
        .and_then(|w| w.working_line().map(str::to_string));
    if working != ctx.status.borrow().working {
        ctx.status.send_modify(|s| s.working = working.clone());
    }
    let busy = working.is_some() || readiness::activity(snap, now, cfg.quiet) == Activity::Busy;
    if busy == seen.busy {
        return;
    }
    seen.busy = busy;
    ctx.status.send_modify(|s| s.busy = busy);
    let name = ctx.spec.name.clone();
    let kind = if busy {
        EventKind::AgentBusy { name }
    } else {
        EventKind::AgentIdle { name }
    };
    ctx.record(kind).await;
    if !busy {
        ctx.wake.notify_one();
    }
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
