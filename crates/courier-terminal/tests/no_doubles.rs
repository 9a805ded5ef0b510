//! Nothing is doubled and dialogs get no keys, through real PTYs: a write
//! that may have reached the agent never ends `Failed` (the broker would
//! type the whole text again), and `immediate` mode (no readiness wait)
//! still refuses a known dialog.

mod common;

use std::time::{Duration, Instant};

use common::*;
use courier_terminal::*;

/// A program that shows a prompt and then never reads its input, with the
/// tty in raw mode so nothing is echoed or discarded: once the kernel's
/// buffers are full, every further write blocks.
fn never_reads() -> Agent {
    spawn_cmd(
        "stuck",
        "sh",
        &["-c", "stty raw -echo; printf '$ '; exec sleep 3600"],
        &[],
    )
}

/// A one-line text far larger than the PTY's buffers (tens of KiB).
fn huge_text() -> String {
    framed("01HUGE", &"all work and no play ".repeat(24 * 1024))
}

fn stuck_opts(chunk_size: usize) -> DeliverOptions {
    DeliverOptions {
        chunk_size,
        write_timeout: Duration::from_millis(300),
        echo_window: Duration::from_secs(2),
        ..DeliverOptions::default()
    }
}

#[tokio::test]
async fn a_write_blocked_after_the_first_chunks_is_unverified_not_failed() {
    let a = never_reads();
    ready(&a, &ReadinessConfig::default()).await;
    let r = deliver(&a.session, &stuck_opts(4096), &huge_text()).await;
    match &r.outcome {
        DeliveryOutcome::Unverified { reason } => {
            assert!(
                reason.starts_with("write_failed_after_partial_injection")
                    && reason.contains("timed out"),
                "{reason}"
            )
        }
        other => panic!("a partly typed text must not be retried: {other:?}"),
    }
    assert!(r.injected_at.is_some() && r.echo_at.is_none());
    assert_eq!(r.reinjections, 0, "never typed a second time");
    a.kill().await;
}

#[tokio::test]
async fn a_first_write_that_timed_out_counts_as_possibly_written() {
    let a = never_reads();
    ready(&a, &ReadinessConfig::default()).await;
    // One chunk: the wait for it ends, but the writer thread keeps writing.
    let r = deliver(&a.session, &stuck_opts(1 << 20), &huge_text()).await;
    match &r.outcome {
        DeliveryOutcome::Unverified { reason } => {
            assert!(reason.starts_with("write_timed_out"), "{reason}")
        }
        other => panic!("a write that may still land must not be retried: {other:?}"),
    }
    a.kill().await;
}

/// Waits until the trust dialog is drawn (not until it settles: immediate
/// mode must refuse it either way).
async fn dialog_on_screen(a: &Agent) {
    let deadline = Instant::now() + PATIENCE;
    let shown = wait::wait_for(&a.session, 0, deadline, |snap, _| {
        if snap.text().to_lowercase().contains("do you trust") {
            wait::Step::Done(())
        } else {
            wait::Step::Wait(None)
        }
    })
    .await;
    assert!(shown.is_some(), "no dialog:\n{}", a.screen());
}

#[tokio::test]
async fn immediate_mode_never_types_into_a_dialog_and_delivers_after_it() {
    let a = spawn_fake(&["--trust-dialog"]);
    let immediate = DeliverOptions {
        ready_timeout: None,
        echo_window: Duration::from_secs(10),
        submit_window: Duration::from_secs(2),
        ..DeliverOptions::default()
    };
    dialog_on_screen(&a).await;
    let r = deliver(&a.session, &immediate, &framed("01IMM", "never typed")).await;
    assert!(
        matches!(&r.outcome, DeliveryOutcome::Failed { reason }
            if reason.contains("dialog") && reason.contains("trust")),
        "{r:?}"
    );
    assert_eq!(r.injected_at, None, "no keystroke was sent");
    // Any key but `1`/Enter/`2`/Esc is ignored by the dialog, and Enter
    // would have accepted it: the dialog is still there, nothing submitted.
    assert!(a.screen().to_lowercase().contains("do you trust"));
    assert!(a.transcript().is_empty());

    // A person accepts the dialog; then immediate mode delivers at once.
    a.write(b"1").await.expect("answer the dialog");
    ready(&a, &ReadinessConfig::default()).await;
    let text = framed("01IMM2", "after the dialog");
    let r = deliver(&a.session, &immediate, &text).await;
    assert_eq!(
        r.outcome,
        DeliveryOutcome::Verified,
        "{r:?}\n{}",
        a.screen()
    );
    assert_eq!(
        r.ready_by, None,
        "immediate mode does not wait for readiness"
    );
    assert_eq!(transcript_until(&a, |t| !t.is_empty()).await, [text]);
    a.kill().await;
}

#[tokio::test]
async fn a_dialog_stays_not_ready_long_after_the_fallback() {
    let a = spawn_fake(&["--trust-dialog"]);
    // A fallback that has long passed by the time the dialog is judged.
    let cfg = ReadinessConfig {
        fallback: Duration::from_millis(1),
        ..ReadinessConfig::default()
    };
    dialog_on_screen(&a).await;
    let why = wait_ready(&a.session, &cfg, Instant::now() + PATIENCE)
        .await
        .expect_err("a dialog is never ready");
    assert!(matches!(&why, NotReady::Dialog { .. }), "{why:?}");
    let o = DeliverOptions {
        readiness: cfg,
        ..DeliverOptions::default()
    };
    let r = deliver(&a.session, &o, &framed("01LATE", "never typed")).await;
    assert!(
        matches!(&r.outcome, DeliveryOutcome::Failed { reason } if reason.contains("dialog")),
        "{r:?}"
    );
    assert_eq!(r.injected_at, None);
    assert!(a.transcript().is_empty());
    a.kill().await;
}
