//! The submit step of a delivery: Enter (the submit keys) once the echo is
//! whole and the screen settled, then again, alone, while the text stays in
//! the input; never the text again. The verdict after each Enter is
//! [`crate::submission`]'s; what a composer taught about its paste-to-Enter
//! window is [`crate::enter_timing`]'s.

use std::time::{Duration, Instant};

use crate::deliver::{Delivery, DeliveryOutcome, DeliveryReport};
use crate::input_line::PromptLine;
use crate::screen::Snapshot;
use crate::submission::{self, AtEnter, Submission, SubmittedBy};
use crate::terminal::{ExitInfo, Terminal};
use crate::verify::Expectation;
use crate::wait::{Step, wait_for};
use crate::write_failure::Writing;

/// Bounds of the settle window before Enter (and before a verdict after
/// it): how long the screen must stay quiet after its last byte. Taken from
/// the program itself (as long as it took to echo the text), so a fast line
/// program gets Enter at once and a slow redraw is not interrupted. A floor
/// of 2 ms was tried: the proof bench stayed clean, but ptpython (a
/// prompt_toolkit REPL that echoes at once and keeps working) failed the
/// hostile corpus in two CI runs of three, so the floor stays at 5 ms.
pub const SETTLE_MIN: Duration = Duration::from_millis(5);
pub const SETTLE_MAX: Duration = Duration::from_millis(50);
/// How long a verdict is awaited after Enter when the screen does not
/// react at all (a dropped Enter).
pub const VERDICT_WAIT: Duration = Duration::from_millis(120);
/// Pauses before each retry Enter (on top of the settle window), within
/// `submit_window`: the first at once, as a multi-line editor that took an
/// Enter as a new line wants; then backing off, to get past a composer's
/// paste-to-Enter window.
const RETRY_DELAYS: &[Duration] = &[
    Duration::ZERO,
    Duration::from_millis(40),
    Duration::from_millis(80),
    Duration::from_millis(160),
    Duration::from_millis(320),
    Duration::from_millis(640),
];

/// After one Enter.
enum Verdict {
    Submitted(SubmittedBy),
    /// The screen reacted and settled, the text still in the input.
    Processed,
    Exited(ExitInfo),
}

fn lock_timing<T: Terminal + ?Sized>(
    term: &T,
) -> std::sync::MutexGuard<'_, crate::enter_timing::EnterTiming> {
    // The memory is a hint: a poisoned one is still usable.
    term.enter_timing()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The rows of a screen without the blank ones at its end, trimmed.
fn non_blank_rows(rows: &[String]) -> Vec<String> {
    let end = rows
        .iter()
        .rposition(|r| !r.trim().is_empty())
        .map_or(0, |i| i + 1);
    rows[..end]
        .iter()
        .map(|r| r.trim_end().to_string())
        .collect()
}
/// How long the screen may keep changing before a retry Enter: past it,
/// no more keys go in (a screen that never settles proves nothing).
const SETTLE_BOUND: Duration = Duration::from_secs(1);

/// What the submit step needs to know about the injection.
pub(crate) struct Submit {
    /// The empty prompt before the text was typed.
    pub(crate) prompt: Option<PromptLine>,
    /// The preset's prompt pattern.
    pub(crate) pattern: Option<regex::Regex>,
    /// The kernel edits lines (canonical mode).
    pub(crate) canonical: bool,
    pub(crate) settle: Duration,
    /// When the last byte of the text was written.
    pub(crate) pasted_at: Instant,
}

impl<T: Terminal + ?Sized> Delivery<'_, T> {
    /// Sends the submit keys once the screen settled, and again with
    /// backoff while the text stays in the input; never the text again.
    ///
    /// After each Enter it waits for a verdict: submitted; or "processed"
    /// (the screen changed and settled with the text still in the input:
    /// the program took the Enter as a newline or a continuation row), then
    /// the next Enter goes soon; or nothing changed (a dropped Enter), then
    /// the wait runs out first. Retries back off; what the composer taught
    /// about its paste-to-Enter window ([`crate::enter_timing`]) sets when
    /// the first Enter goes and the earliest a retry may.
    pub(crate) async fn submit(&mut self, exp: &Expectation, how: &Submit) -> DeliveryReport {
        let hook = self.hook;
        let keys = self.opts.submit_keys.clone();
        let learned = lock_timing(self.term).clone();
        let started = Instant::now();
        let mut not_before = how.pasted_at + self.opts.enter_gap.max(learned.first_gap());
        let floor = how.pasted_at + learned.floor();
        let mut enters: Vec<Duration> = Vec::new();
        let mut delays = RETRY_DELAYS.iter();
        let mut last_seen: Snapshot;
        let mut previous: Option<AtEnter> = None;
        // The hook (the broker's durable `injected` mark) runs while the
        // screen settles before the first Enter, not after it: both must be
        // done before that Enter, and neither needs the other.
        let (marked, first_settle) =
            tokio::join!(hook.before_enter(), self.settled(how, not_before));
        // The agent exiting meanwhile says more than a failed mark.
        let mut first_settle = Some(match first_settle {
            Ok(settled) => settled,
            Err(report) => return *report,
        });
        if let Err(reason) = marked {
            return self.end(DeliveryOutcome::Unverified { reason });
        }
        loop {
            let settled = match first_settle.take() {
                Some(settled) => settled,
                None => match self.settled(how, not_before).await {
                    Ok(settled) => settled,
                    Err(report) => return *report,
                },
            };
            let snap = match (settled, &previous) {
                (Some(snap), _) => snap,
                // The first Enter goes in even on a screen that never
                // settles (an animation): the text must not stay behind.
                (None, None) => self.term.snapshot(0),
                (None, Some(_)) => {
                    // No more keys into a screen that keeps changing.
                    let reason = format!(
                        "submission_unproven: the screen kept changing after {} Enter(s); no proof the text left the input",
                        self.report.enters
                    );
                    return self.end(DeliveryOutcome::Unverified { reason });
                }
            };
            if let Some(before) = &previous
                && let Submission::Submitted(by) = submission::judge(&snap, exp, before)
            {
                // A late reaction to the previous Enter: judged before
                // another goes in.
                return self.verified(by, &enters);
            }
            let at_enter = AtEnter::new(&snap, exp, how.prompt.clone(), how.canonical)
                .with_pattern(how.pattern.clone());
            self.report.enters += 1;
            self.report.extra_enter = self.report.enters > 1;
            enters.push(Instant::now().saturating_duration_since(how.pasted_at));
            if let Err(report) = self.write(&keys, Writing::Enter).await {
                return report;
            }
            let sent_seq = snap.seq;
            let deadline = Instant::now() + VERDICT_WAIT;
            let settle = how.settle;
            let done = wait_for(self.term, 0, deadline, |snap, now| {
                if let Some(info) = self.term.exit_status() {
                    return Step::Done(Verdict::Exited(info));
                }
                if let Some(quiet_at) = snap.last_output_at.map(|t| t + settle)
                    && now < quiet_at
                {
                    return Step::Wait(Some(quiet_at));
                }
                match submission::judge(snap, exp, &at_enter) {
                    Submission::Submitted(by) => Step::Done(Verdict::Submitted(by)),
                    // The program reacted, and the text stayed.
                    Submission::InInput if snap.seq != sent_seq => Step::Done(Verdict::Processed),
                    Submission::InInput | Submission::MidFrame => Step::Wait(None),
                }
            })
            .await;
            match done {
                Some(Verdict::Submitted(by)) => return self.verified(by, &enters),
                Some(Verdict::Exited(info)) => {
                    let reason = format!("echo seen, then the agent process {info} after Enter");
                    return self.end(DeliveryOutcome::Unverified { reason });
                }
                Some(Verdict::Processed) | None => {
                    tracing::debug!(enters = self.report.enters, "text still in the input");
                    last_seen = self.term.snapshot(0);
                }
            }
            previous = Some(at_enter);
            let Some(delay) = delays.next() else { break };
            if started.elapsed() + *delay > self.opts.submit_window {
                break;
            }
            not_before = (Instant::now() + *delay).max(floor);
        }
        self.report.screen = non_blank_rows(&last_seen.rows);
        let reason = format!(
            "not_submitted: the text stayed in the input after {} Enter(s) over {} ms; nothing more is typed into this agent until its input is empty",
            self.report.enters,
            started.elapsed().as_millis()
        );
        self.end(DeliveryOutcome::Unverified { reason })
    }

    fn verified(&mut self, by: SubmittedBy, enters: &[Duration]) -> DeliveryReport {
        lock_timing(self.term).record(enters);
        tracing::debug!(?by, enters = self.report.enters, "submitted");
        self.report.submitted_by = Some(by);
        self.report.verified_at = Some(Instant::now());
        self.end(DeliveryOutcome::Verified)
    }

    /// Waits until the screen has been quiet for the settle window and
    /// `gap_end` passed; `None` if it kept changing for [`SETTLE_BOUND`].
    async fn settled(
        &mut self,
        how: &Submit,
        gap_end: Instant,
    ) -> Result<Option<Snapshot>, Box<DeliveryReport>> {
        let deadline = Instant::now().max(gap_end) + SETTLE_BOUND;
        let settle = how.settle;
        let seen = wait_for(self.term, 0, deadline, |snap, now| {
            if let Some(info) = self.term.exit_status() {
                return Step::Done(Err(info));
            }
            let quiet_at = snap.last_output_at.map_or(now, |t| t + settle);
            let at = quiet_at.max(gap_end);
            if now >= at {
                Step::Done(Ok(snap.clone()))
            } else {
                Step::Wait(Some(at))
            }
        })
        .await;
        match seen {
            Some(Ok(snap)) => Ok(Some(snap)),
            Some(Err(info)) => {
                let reason = format!("echo seen, then the agent process {info} before Enter");
                Err(Box::new(self.end(DeliveryOutcome::Unverified { reason })))
            }
            None => Ok(None),
        }
    }
}
