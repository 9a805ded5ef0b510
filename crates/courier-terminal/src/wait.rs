//! Waiting on a terminal without polling: every check runs on a fresh
//! snapshot, and the waiter sleeps until the screen changes (output or exit)
//! or until a time the check names.

use std::time::Instant;

use crate::readiness::{self, NotReady, ReadinessConfig, ReadyBy};
use crate::screen::{SYNC_TIMEOUT, Snapshot};
use crate::terminal::Terminal;

/// What a check decided.
pub enum Step<R> {
    Done(R),
    /// Check again on the next change, or at this time at the latest.
    Wait(Option<Instant>),
}

/// Runs `check` on every change until it is done or `deadline` passes
/// (then `None`).
pub async fn wait_for<T, R>(
    term: &T,
    scrollback_rows: usize,
    deadline: Instant,
    mut check: impl FnMut(&Snapshot, Instant) -> Step<R>,
) -> Option<R>
where
    T: Terminal + ?Sized,
{
    let mut changes = term.subscribe();
    loop {
        changes.borrow_and_update();
        let now = Instant::now();
        let snap = term.snapshot(scrollback_rows);
        // A half-drawn frame proves nothing: wait for the frame to end (or
        // for the synchronized update to time out).
        let step = match snap.mid_frame_since {
            Some(since) if snap.mid_frame => Step::Wait(Some(since + SYNC_TIMEOUT)),
            _ => check(&snap, now),
        };
        let wake = match step {
            Step::Done(r) => return Some(r),
            Step::Wait(at) => at.map_or(deadline, |t| t.min(deadline)),
        };
        if now >= deadline {
            return None;
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    // The session is gone; one last look at the deadline.
                    tokio::time::sleep_until(deadline.into()).await;
                }
            }
            () = tokio::time::sleep_until(wake.into()) => {}
        }
    }
}

/// Waits until the agent is ready (or a dialog shows, or it exits, or
/// `deadline` passes: then the last reason it was not ready).
pub async fn wait_ready<T>(
    term: &T,
    cfg: &ReadinessConfig,
    deadline: Instant,
) -> Result<ReadyBy, NotReady>
where
    T: Terminal + ?Sized,
{
    let spawned = term.spawned_at();
    let mut last = NotReady::NoOutput;
    let done = wait_for(term, 0, deadline, |snap, now| {
        let exited = term.exit_status().is_some();
        let tty = readiness::probe_when_quiet(snap, term.pid(), now, cfg.quiet);
        match readiness::assess(snap, spawned, now, exited, tty.as_ref(), cfg) {
            Ok(by) => Step::Done(Ok(by)),
            Err(why @ (NotReady::Exited | NotReady::Dialog { .. })) => {
                // A dialog only counts once the screen settled on it.
                if matches!(why, NotReady::Dialog { .. })
                    && readiness::activity(snap, now, cfg.quiet) == readiness::Activity::Busy
                {
                    last = why;
                    return Step::Wait(Some(readiness::next_deadline(snap, spawned, now, cfg)));
                }
                Step::Done(Err(why))
            }
            Err(why) => {
                last = why;
                Step::Wait(Some(readiness::next_deadline(snap, spawned, now, cfg)))
            }
        }
    })
    .await;
    done.unwrap_or(Err(last))
}
