//! Delivering one text into a terminal and proving it from the screen.
//!
//! 1. Wait until the agent is ready (screen quiet, prompt or input line, no
//!    busy pattern; a dialog or an exit ends the attempt: no keystrokes are
//!    sent), and look again at the very screen the keys go into: a busy
//!    pattern that showed since means waiting again. Without a ready
//!    timeout (`immediate` mode) there is no waiting (busy patterns too are
//!    ignored), but a known dialog or an exit still ends the attempt before
//!    any keystroke.
//! 2. Inject (one bracketed paste, or one line without newlines), in chunks.
//!    Never into an input that holds a draft: two messages in one input
//!    become one prompt.
//! 3. Wait for the whole echo on the rendered screen, then for the screen
//!    to settle (quiet for a window taken from how fast this program echoed,
//!    and at least the preset's paste-to-Enter gap), then send the submit
//!    keys on their own.
//! 4. Wait for the text to leave the input ([`crate::submission`]: the
//!    input gave it back, never mere cursor movement); while it stays, send
//!    the submit keys again with backoff within `submit_window`, never the
//!    text again. If it never leaves: unverified, `not_submitted`, with the
//!    screen rows. (Steps 3 and 4 are [`crate::submit`].)
//! 5. If the text never appeared and left no trace, re-inject (bounded);
//!    if some trace appeared, never inject again: the outcome is unverified.
//!
//! `Failed` (the broker retries, typing the text again into the same
//! session) is only returned while nothing of the text can have reached a
//! live agent; see [`crate::write_failure`].

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use courier_core::pacing;
use regex::Regex;
use serde::Serialize;
use tracing::Instrument;

use crate::error::{TerminalError, compile};
use crate::inject::{self, ENTER};
use crate::input_line::PromptLine;
use crate::readiness::{self, NotReady, ReadinessConfig, ReadyBy};
use crate::submission::SubmittedBy;
use crate::submit::{SETTLE_MAX, SETTLE_MIN, Submit};
use crate::terminal::{ExitInfo, Terminal};
use crate::tty_probe;
use crate::verify::{self, Expectation};
use crate::wait::{Step, wait_for, wait_ready};
use crate::write_failure::{self, WriteFailure, Writing};

#[derive(Debug, Clone)]
pub struct DeliverOptions {
    pub readiness: ReadinessConfig,
    /// Wait this long at most for readiness before each injection
    /// (`None`: inject at once, e.g. in `immediate` mode, unless a known
    /// dialog is on screen).
    pub ready_timeout: Option<Duration>,
    /// How long the echo may take to appear.
    pub echo_window: Duration,
    /// How long the text may take to leave the input after the first
    /// Enter; the submit keys are sent again with backoff within it.
    pub submit_window: Duration,
    /// Least time from the end of a paste to Enter (a preset's: some
    /// composers turn an Enter that follows a paste too closely into a
    /// newline, or drop it).
    pub enter_gap: Duration,
    /// What submits (`\r`; some multi-line editors submit on Esc+Enter).
    pub submit_keys: Vec<u8>,
    /// Injections repeated when the previous one left no trace.
    pub max_reinjections: u32,
    pub chunk_size: usize,
    /// Placeholders that count as an echo (e.g. `\[Pasted text #\d+ \+\d+ lines\]`).
    pub collapsed: Vec<Regex>,
    /// Scrollback rows read when looking for a long echo.
    pub scrollback_rows: usize,
    /// Bound on one write (a program that never reads blocks the pty).
    pub write_timeout: Duration,
}

impl Default for DeliverOptions {
    fn default() -> Self {
        DeliverOptions {
            readiness: ReadinessConfig::default(),
            ready_timeout: Some(Duration::from_secs(20)),
            echo_window: Duration::from_secs(3),
            submit_window: Duration::from_secs(2),
            enter_gap: Duration::ZERO,
            submit_keys: ENTER.to_vec(),
            max_reinjections: 2,
            chunk_size: inject::DEFAULT_CHUNK,
            collapsed: Vec::new(),
            scrollback_rows: 200,
            write_timeout: Duration::from_secs(5),
        }
    }
}

impl DeliverOptions {
    pub fn with_collapsed(mut self, pattern: &str) -> Result<Self, TerminalError> {
        self.collapsed.push(compile("collapsed paste", pattern)?);
        Ok(self)
    }
}

/// How a delivery ended (maps onto the core's delivery transitions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum DeliveryOutcome {
    /// The echo was seen and the text was submitted.
    Verified,
    /// No proof either way; re-injecting would risk a double.
    Unverified { reason: String },
    /// Nothing (provably) reached a live agent: not ready, a dialog, the
    /// first write refused, or the process gone before anything was shown.
    Failed { reason: String },
}

impl DeliveryOutcome {
    pub fn pacing(&self) -> pacing::Outcome {
        match self {
            DeliveryOutcome::Verified => pacing::Outcome::Verified,
            DeliveryOutcome::Unverified { .. } => pacing::Outcome::Unverified,
            DeliveryOutcome::Failed { .. } => pacing::Outcome::Failed,
        }
    }
}

/// What happened during one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub outcome: DeliveryOutcome,
    pub ready_by: Option<ReadyBy>,
    /// Whether the last injection was a bracketed paste.
    pub bracketed: bool,
    /// When the last injection started.
    pub injected_at: Option<Instant>,
    pub echo_at: Option<Instant>,
    pub verified_at: Option<Instant>,
    pub reinjections: u32,
    /// More than one Enter was sent.
    pub extra_enter: bool,
    /// How many times the submit keys were sent.
    pub enters: u32,
    /// How the screen proved the submission.
    pub submitted_by: Option<SubmittedBy>,
    /// The screen rows when the text was seen to stay in the input (for
    /// the event a person reads).
    pub screen: Vec<String>,
    pub exit: Option<ExitInfo>,
}

impl DeliveryReport {
    /// Injection → echo on screen.
    pub fn echo_latency(&self) -> Option<Duration> {
        Some(self.echo_at?.saturating_duration_since(self.injected_at?))
    }

    /// Injection → verified.
    pub fn verify_latency(&self) -> Option<Duration> {
        Some(
            self.verified_at?
                .saturating_duration_since(self.injected_at?),
        )
    }
}

/// Called once before the first Enter of a delivery, as soon as the echo is
/// whole (it runs while the screen settles; the first Enter waits for it):
/// a moment at which the text provably has not been submitted. The broker
/// makes that moment durable, so that after a crash it re-injects only
/// deliveries that never reached this point. An error stops the delivery
/// before Enter (outcome unverified, with the reason).
pub trait BeforeEnter: Send + Sync {
    fn before_enter(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// A [`BeforeEnter`] that does nothing.
pub struct NoHook;

impl BeforeEnter for NoHook {
    fn before_enter(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async { Ok(()) })
    }
}

/// Delivers `text` (already framed, see `courier_core::framing::frame`).
pub async fn deliver<T>(term: &T, opts: &DeliverOptions, text: &str) -> DeliveryReport
where
    T: Terminal + ?Sized,
{
    deliver_with(term, opts, text, &NoHook).await
}

/// [`deliver`], with `hook` done before the first Enter.
pub async fn deliver_with<T>(
    term: &T,
    opts: &DeliverOptions,
    text: &str,
    hook: &dyn BeforeEnter,
) -> DeliveryReport
where
    T: Terminal + ?Sized,
{
    let span = tracing::debug_span!("deliver", agent = %term.agent(), session = %term.id());
    Delivery {
        term,
        opts,
        hook,
        report: empty_report(),
        written: 0,
    }
    .run(text)
    .instrument(span)
    .await
}

pub(crate) struct Delivery<'a, T: ?Sized> {
    pub(crate) term: &'a T,
    pub(crate) opts: &'a DeliverOptions,
    pub(crate) hook: &'a dyn BeforeEnter,
    pub(crate) report: DeliveryReport,
    /// Bytes of text written so far, over every attempt: once non-zero the
    /// delivery can no longer end `Failed` while the agent lives.
    pub(crate) written: usize,
}

enum Seen {
    Echo,
    Exited(ExitInfo),
    Nothing,
}

impl<T: Terminal + ?Sized> Delivery<'_, T> {
    pub(crate) fn end(&mut self, outcome: DeliveryOutcome) -> DeliveryReport {
        self.report.exit = self.term.exit_status();
        tracing::debug!(
            ?outcome,
            reinjections = self.report.reinjections,
            written = self.written,
            "delivery ended"
        );
        self.report.outcome = outcome;
        std::mem::replace(&mut self.report, empty_report())
    }

    /// The process is gone: whatever it received died with it, and a retry
    /// can only reach a new session, so nothing can be doubled.
    fn exited(&mut self, info: ExitInfo, when: &str) -> DeliveryReport {
        let reason = format!("agent process {info} {when}");
        self.end(DeliveryOutcome::Failed { reason })
    }

    /// The agent cannot take keys now (not ready, or a dialog).
    fn not_ready(&mut self, why: &NotReady) -> DeliveryReport {
        if self.written == 0 {
            let reason = format!("agent not ready: {why}");
            return self.end(DeliveryOutcome::Failed { reason });
        }
        let reason = format!("no echo, and not ready again to re-inject: {why}");
        self.end(DeliveryOutcome::Unverified { reason })
    }

    async fn run(mut self, text: &str) -> DeliveryReport {
        let opts = self.opts;
        let sb = opts.scrollback_rows;
        for attempt in 0..=opts.max_reinjections {
            self.report.reinjections = attempt;
            let ready_deadline = opts.ready_timeout.map(|bound| Instant::now() + bound);
            let snap = loop {
                if let Some(deadline) = ready_deadline {
                    match wait_ready(self.term, &opts.readiness, deadline).await {
                        Ok(by) => self.report.ready_by = Some(by),
                        Err(NotReady::Exited) => {
                            let info = self.term.wait_exit().await;
                            return self.exited(info, "before injection");
                        }
                        Err(why) => return self.not_ready(&why),
                    }
                }
                let snap = self.term.snapshot(sb);
                // Waiting for readiness (idle mode): the agent may have
                // started working since it was judged ready, so the very
                // screen the keys go into must not show a busy pattern;
                // wait again (`immediate` types while it works: that is
                // its meaning).
                match ready_deadline.and(opts.readiness.busy.working_on(&snap)) {
                    Some(_) if ready_deadline.is_some_and(|d| Instant::now() < d) => continue,
                    Some(working) => return self.not_ready(&working),
                    None => break snap,
                }
            };
            // Judged on the very screen the keys go into, in every mode: a
            // dialog takes keystrokes as menu choices, so one that showed
            // since readiness (or in `immediate` mode, where nothing waits
            // for readiness) must get none.
            if let Some(info) = self.term.exit_status() {
                return self.exited(info, "before injection");
            }
            let tty = tty_probe::probe(self.term.pid());
            if let Err(why) =
                readiness::accepts_keys_now(&snap, false, tty.as_ref(), &opts.readiness)
            {
                return self.not_ready(&why);
            }
            let canonical = tty.is_some_and(|t| t.canonical);
            let prompt = PromptLine::of(&snap, opts.readiness.prompt.as_ref(), canonical);
            let inj = inject::build(text, snap.bracketed_paste, opts.chunk_size);
            let exp = Expectation::new(&inj.echo, opts.collapsed.clone());
            let baseline = verify::count(&snap, &exp);
            self.report.bracketed = inj.bracketed;
            self.report.injected_at = Some(Instant::now());
            tracing::debug!(
                attempt,
                bracketed = inj.bracketed,
                bytes = inj.echo.len(),
                "injecting"
            );
            for chunk in &inj.chunks {
                if let Err(report) = self.write(chunk, Writing::Text).await {
                    return report;
                }
                tokio::task::yield_now().await;
            }
            let pasted_at = Instant::now();
            let deadline = Instant::now() + opts.echo_window;
            let seen = wait_for(self.term, sb, deadline, |snap, _| {
                if let Some(info) = self.term.exit_status() {
                    return Step::Done(Seen::Exited(info));
                }
                match verify::find_echo(snap, &exp, &baseline) {
                    Some(_) => Step::Done(Seen::Echo),
                    None => Step::Wait(None),
                }
            })
            .await
            .unwrap_or(Seen::Nothing);
            match seen {
                Seen::Echo => {
                    let now = Instant::now();
                    self.report.echo_at = Some(now);
                    let settle = now
                        .saturating_duration_since(pasted_at)
                        .clamp(SETTLE_MIN, SETTLE_MAX);
                    let submit = Submit {
                        prompt,
                        pattern: opts.readiness.prompt.clone(),
                        canonical,
                        settle,
                        pasted_at,
                    };
                    return self.submit(&exp, &submit).await;
                }
                Seen::Exited(info) => return self.exited(info, "during injection"),
                Seen::Nothing => {}
            }
            let snap = self.term.snapshot(sb);
            if let Some(info) = self.term.exit_status() {
                return self.exited(info, "during injection");
            }
            if verify::has_trace(&snap, &exp, &baseline) {
                // Part of it is in the input: submit it, but prove nothing.
                if let Err(reason) = self.hook.before_enter().await {
                    return self.end(DeliveryOutcome::Unverified { reason });
                }
                if let Err(report) = self.write(ENTER, Writing::Enter).await {
                    return report;
                }
                let reason = format!(
                    "partial_echo: part of the text showed within {:?} but never all of it; Enter sent",
                    opts.echo_window
                );
                return self.end(DeliveryOutcome::Unverified { reason });
            }
            tracing::debug!(attempt, "no trace of the text on screen");
        }
        let reason = format!(
            "no_echo: the text never appeared on screen after {} injections",
            opts.max_reinjections + 1
        );
        self.end(DeliveryOutcome::Unverified { reason })
    }

    /// Writes one chunk; on failure, the finished report.
    pub(crate) async fn write(
        &mut self,
        bytes: &[u8],
        writing: Writing,
    ) -> Result<(), DeliveryReport> {
        let result = tokio::time::timeout(self.opts.write_timeout, self.term.write(bytes)).await;
        let failure = match result {
            Ok(Ok(())) => {
                if writing == Writing::Text {
                    self.written += bytes.len();
                }
                return Ok(());
            }
            Ok(Err(e)) => WriteFailure::Error(e.to_string()),
            // Only the wait ended: the writer thread may still write them.
            Err(_) => WriteFailure::TimedOut(self.opts.write_timeout),
        };
        // A write error is usually the program going away: say how.
        let exit = tokio::time::timeout(Duration::from_millis(500), self.term.wait_exit())
            .await
            .ok();
        let outcome = write_failure::outcome(&failure, writing, self.written, exit);
        Err(self.end(outcome))
    }
}

pub(crate) fn empty_report() -> DeliveryReport {
    DeliveryReport::ended(DeliveryOutcome::Verified)
}

impl DeliveryReport {
    /// A report of `outcome` with nothing else known (no injection, no
    /// echo, no Enter): the start of one, or one settled without typing.
    pub fn ended(outcome: DeliveryOutcome) -> DeliveryReport {
        DeliveryReport {
            outcome,
            ready_by: None,
            bracketed: false,
            injected_at: None,
            echo_at: None,
            verified_at: None,
            reinjections: 0,
            extra_enter: false,
            enters: 0,
            submitted_by: None,
            screen: Vec::new(),
            exit: None,
        }
    }
}
