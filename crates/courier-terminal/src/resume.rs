//! Finishing a delivery that a previous broker left in flight, on a session
//! that survived it (a session host, see [`crate::host`]): the screen says
//! what happened, so nothing is typed twice and nothing is lost.
//!
//! The decision is pure ([`judge`]) and made on the screen as the restarted
//! broker first sees it:
//!
//! | left in flight as | text on screen, in the input line | elsewhere (submitted) | no trace |
//! |---|---|---|---|
//! | `injecting` (Enter never sent) | send Enter, verify | unverified | type it again |
//! | `injected` (Enter maybe sent) | send Enter once more, verify | verified | unverified |
//!
//! "No trace" means the message's header line, which holds its unique id,
//! is nowhere on the screen.

use std::time::Instant;

use regex::Regex;

use crate::deliver::{
    BeforeEnter, DeliverOptions, Delivery, DeliveryOutcome, DeliveryReport, empty_report,
};
use crate::inject;
use crate::input_line;
use crate::normalize::NormalizedRows;
use crate::screen::Snapshot;
use crate::submit::{SETTLE_MAX, Submit};
use crate::terminal::Terminal;
use crate::verify::{self, Counts, Echo, Expectation};

/// What to do with a delivery found in flight on a surviving session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// The text is in the input line: send Enter and verify.
    Submit(Echo),
    /// The text was submitted before the restart.
    Submitted,
    /// Nothing of it reached the screen: type it again.
    NotTyped,
    /// Something of it is there, but no proof either way.
    Unproven(String),
}

/// How a resumed delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// Never typed: deliver it as usual (no attempt was spent).
    NotTyped,
    /// Settled from the screen.
    Done(DeliveryReport),
}

/// The pure decision, on the screen as it is (`entered`: Enter may have
/// been sent before the restart; `canonical`: the kernel edits lines). Text
/// the input still holds ([`input_line::holds_text`], the check the
/// submission verdict and the hold use) is in the input line, wherever else
/// the screen shows it.
pub fn judge(
    snap: &Snapshot,
    exp: &Expectation,
    prompt: Option<&Regex>,
    entered: bool,
    canonical: bool,
) -> Judgement {
    if let Some(echo) = verify::find_echo(snap, exp, &Counts::default()) {
        let in_input = input_line::holds_text(snap, exp, prompt, canonical);
        return match (in_input, entered) {
            (true, _) => Judgement::Submit(echo),
            (false, true) => Judgement::Submitted,
            (false, false) => Judgement::Unproven(
                "restart_unproven: the text is on screen outside the input line, Enter never sent"
                    .into(),
            ),
        };
    }
    let header_seen =
        NormalizedRows::new(snap.rows.iter().map(String::as_str)).count(&exp.head) > 0;
    match (header_seen, entered) {
        (true, _) => Judgement::Unproven(
            "restart_partial: part of the text is on the surviving screen; not typed again".into(),
        ),
        (false, false) => Judgement::NotTyped,
        (false, true) => Judgement::Unproven(
            "restart_no_trace: Enter may have been sent before the restart and the screen shows no trace; not typed again"
                .into(),
        ),
    }
}

/// Which of `candidates` (the same message framed in different ways, most
/// likely first) left a trace on the surviving screen: its first characters
/// are on it. A broker decides a delivery's framing from the program reading
/// the terminal when it types; after a crash that program may have changed
/// (a REPL exited), so the text to settle is the one the screen shows, not
/// the one a new decision would type. None: no candidate left a trace.
pub fn framed_as<T>(term: &T, opts: &DeliverOptions, candidates: &[String]) -> Option<usize>
where
    T: Terminal + ?Sized,
{
    let snap = term.snapshot(0);
    candidates.iter().position(|text| {
        let inj = inject::build(text, snap.bracketed_paste, opts.chunk_size);
        let exp = Expectation::new(&inj.echo, opts.collapsed.clone());
        verify::count(&snap, &exp).head > 0
    })
}

/// Settles a delivery of `text` (framed, as first delivered) that was in
/// flight on `term` when the previous broker stopped. `hook` runs before an
/// Enter that moves the delivery from `injecting` to `injected`.
pub async fn resume<T>(
    term: &T,
    opts: &DeliverOptions,
    text: &str,
    entered: bool,
    hook: &dyn BeforeEnter,
) -> Resumed
where
    T: Terminal + ?Sized,
{
    let snap = term.snapshot(0);
    let inj = inject::build(text, snap.bracketed_paste, opts.chunk_size);
    let exp = Expectation::new(&inj.echo, opts.collapsed.clone());
    let canonical = crate::tty_probe::probe(term.pid()).is_some_and(|t| t.canonical);
    let prompt = opts.readiness.prompt.as_ref();
    let judgement = judge(&snap, &exp, prompt, entered, canonical);
    tracing::info!(agent = %term.agent(), entered, ?judgement, "resuming a delivery on a surviving session");
    let mut delivery = Delivery {
        term,
        opts,
        hook,
        report: empty_report(),
        written: inj.echo.len().max(1),
    };
    match judgement {
        Judgement::NotTyped => Resumed::NotTyped,
        Judgement::Submit(_) => {
            let now = Instant::now();
            delivery.report.injected_at = Some(now);
            delivery.report.echo_at = Some(now);
            // The prompt from before the text was typed is not known here:
            // only a cleared input, new output or the line discipline prove
            // the submission. How fast this program echoes is not known
            // either: the widest settle window (a rare path, after a crash).
            let submit = Submit {
                prompt: None,
                pattern: opts.readiness.prompt.clone(),
                canonical,
                settle: SETTLE_MAX,
                pasted_at: now,
            };
            Resumed::Done(delivery.submit(&exp, &submit).await)
        }
        Judgement::Submitted => {
            delivery.report.verified_at = Some(Instant::now());
            Resumed::Done(delivery.end(DeliveryOutcome::Verified))
        }
        Judgement::Unproven(reason) => {
            Resumed::Done(delivery.end(DeliveryOutcome::Unverified { reason }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[courier] from a to you (direct) | msg 01RES\nhello";

    #[test]
    fn text_an_editor_still_holds_is_sent_enter_not_called_submitted() {
        let exp = Expectation::new(TEXT, vec![]);
        let rows = [
            ">>> [courier] from a to you (direct) | msg 01RES",
            "... hello",
            "... ",
            "SyntaxError: invalid syntax",
        ];
        // The cursor on the continuation row under the text, or back in it.
        for cursor in [(2, 4), (0, 4)] {
            let snap = Snapshot::of_rows(&rows, cursor);
            assert!(
                matches!(judge(&snap, &exp, None, true, false), Judgement::Submit(_)),
                "{cursor:?}"
            );
        }
        // Taken: a fresh prompt under it.
        let taken = Snapshot::of_rows(&[rows[0], rows[1], ">>> "], (2, 4));
        assert_eq!(judge(&taken, &exp, None, true, false), Judgement::Submitted);
        // The kernel took the line (`cat`): a bare line under it is empty.
        let cat = Snapshot::of_rows(
            &["[courier] from a to you (direct) | msg 01RES ⏎ hello", ""],
            (1, 0),
        );
        assert_eq!(judge(&cat, &exp, None, true, true), Judgement::Submitted);
    }
}
