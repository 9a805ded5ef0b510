//! Every quirk of the fake agent (docs/fake-agent.md) through the real PTY,
//! injection and verification path.

mod common;

use std::time::{Duration, Instant};

use common::*;
use courier_terminal::*;

/// Generous windows: fast when things work, patient when the machine is slow.
fn opts() -> DeliverOptions {
    DeliverOptions {
        echo_window: Duration::from_secs(10),
        submit_window: Duration::from_secs(2),
        ..DeliverOptions::default()
    }
}

async fn deliver_ok(agent: &Agent, opts: &DeliverOptions, text: &str) -> DeliveryReport {
    let report = deliver(&agent.session, opts, text).await;
    assert_eq!(
        report.outcome,
        DeliveryOutcome::Verified,
        "{report:?}\nscreen:\n{}",
        agent.screen()
    );
    report
}

#[tokio::test]
async fn slow_first_render_waits_and_arrives_once() {
    let a = spawn_fake(&["--first-render-delay-ms", "800"]);
    let by = ready(&a, &ReadinessConfig::default()).await;
    assert_eq!(by, ReadyBy::Cursor);
    assert!(a.spawned_at().elapsed() >= Duration::from_millis(800));
    let text = framed("01SLOW", "first message\nafter a slow render");
    let r = deliver_ok(&a, &opts(), &text).await;
    assert_eq!(r.reinjections, 0);
    assert_eq!(transcript_until(&a, |t| !t.is_empty()).await, [text]);
    a.kill().await;
}

#[tokio::test]
async fn deliver_waits_for_readiness_itself() {
    let a = spawn_fake(&["--first-render-delay-ms", "500"]);
    let text = framed("01EARLY", "sent before the first frame");
    deliver_ok(&a, &opts(), &text).await;
    assert_eq!(transcript_until(&a, |t| !t.is_empty()).await, [text]);
    a.kill().await;
}

#[tokio::test]
async fn bordered_wrapping_box_with_long_messages() {
    let a = spawn_fake(&["--border", "--width", "40"]);
    ready(&a, &ReadinessConfig::default()).await;
    let mut sent = Vec::new();
    for i in 0..3 {
        let body = format!(
            "message {i}: {} and a final word",
            "the quick brown fox jumps over the lazy dog ".repeat(3)
        );
        let text = framed(&format!("01BOX{i}"), &body);
        deliver_ok(&a, &opts(), &text).await;
        sent.push(text);
    }
    assert_eq!(transcript_until(&a, |t| t.len() >= 3).await, sent);
    a.kill().await;
}

#[tokio::test]
async fn prompt_glyph_with_nbsp() {
    let a = spawn_fake(&["--prompt", "❯", "--nbsp"]);
    ready(&a, &ReadinessConfig::default()).await;
    let text = framed("01GLYPH", "glyph and no-break space");
    deliver_ok(&a, &opts(), &text).await;
    assert_eq!(transcript_until(&a, |t| !t.is_empty()).await, [text]);
    a.kill().await;
}

#[tokio::test]
async fn multi_line_body_is_one_submission_with_bracketed_paste() {
    let a = spawn_fake(&["--bracketed-paste", "on"]);
    ready(&a, &ReadinessConfig::default()).await;
    let text = framed("01BPON", "line one\nline two\n\tindented three");
    let r = deliver_ok(&a, &opts(), &text).await;
    assert!(r.bracketed);
    assert_eq!(transcript_until(&a, |t| !t.is_empty()).await, [text]);
    a.kill().await;
}

#[tokio::test]
async fn multi_line_body_is_one_submission_without_bracketed_paste() {
    let a = spawn_fake(&["--bracketed-paste", "off"]);
    ready(&a, &ReadinessConfig::default()).await;
    let text = framed("01BPOFF", "line one\nline two\n\tindented three");
    let r = deliver_ok(&a, &opts(), &text).await;
    assert!(!r.bracketed);
    let t = transcript_until(&a, |t| !t.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(a.transcript(), t, "nothing more was submitted");
    assert_eq!(t, [inject::one_line(&text)]);
    a.kill().await;
}

#[tokio::test]
async fn line_mode_prompt() {
    let a = spawn_fake(&["--mode", "line"]);
    ready(&a, &ReadinessConfig::default()).await;
    let text = framed("01LINE", "a line-mode REPL\nwith two lines");
    deliver_ok(&a, &opts(), &text).await;
    assert_eq!(transcript_until(&a, |t| !t.is_empty()).await, [text]);
    a.kill().await;
}

#[tokio::test]
async fn collapsed_paste_placeholder_counts_as_echo() {
    let a = spawn_fake(&["--collapse-over", "3"]);
    ready(&a, &ReadinessConfig::default()).await;
    let body: Vec<String> = (1..=10).map(|i| format!("line {i}")).collect();
    let text = framed("01COLLAPSE", &body.join("\n"));
    let o = opts()
        .with_collapsed(r"\[Pasted text #\d+ \+\d+ lines\]")
        .expect("valid pattern");
    deliver_ok(&a, &o, &text).await;
    assert_eq!(transcript_until(&a, |t| !t.is_empty()).await, [text]);
    a.kill().await;
}

#[tokio::test]
async fn second_enter_is_sent_once_and_never_the_text() {
    let a = spawn_fake(&["--needs-second-enter"]);
    ready(&a, &ReadinessConfig::default()).await;
    let text = framed("01ENTER2", "needs another Enter");
    let r = deliver_ok(&a, &opts(), &text).await;
    assert!(r.extra_enter);
    assert_eq!(r.reinjections, 0);
    let t = transcript_until(&a, |t| !t.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(a.transcript(), t);
    assert_eq!(t, [text]);
    a.kill().await;
}

#[tokio::test]
async fn trust_dialog_keeps_the_agent_not_ready_and_gets_no_keys() {
    let a = spawn_fake(&["--trust-dialog"]);
    let deadline = Instant::now() + PATIENCE;
    let why = wait_ready(&a.session, &ReadinessConfig::default(), deadline)
        .await
        .expect_err("a dialog is not ready");
    assert!(
        matches!(&why, NotReady::Dialog { line, .. } if line.contains("trust")),
        "{why:?}"
    );
    let r = deliver(&a.session, &opts(), &framed("01TRUST", "never typed")).await;
    assert!(
        matches!(&r.outcome, DeliveryOutcome::Failed { reason } if reason.contains("dialog")),
        "{r:?}"
    );
    assert_eq!(r.injected_at, None, "no keystroke was sent");
    // Enter would have accepted the dialog: it is still there.
    assert!(
        a.screen().to_lowercase().contains("do you trust"),
        "{}",
        a.screen()
    );
    assert!(a.transcript().is_empty());
    a.kill().await;
}

#[tokio::test]
async fn black_hole_is_never_verified_and_reinjections_are_bounded() {
    let a = spawn_fake(&["--black-hole"]);
    ready(&a, &ReadinessConfig::default()).await;
    let o = DeliverOptions {
        echo_window: Duration::from_millis(700),
        ..opts()
    };
    let r = deliver(&a.session, &o, &framed("01HOLE", "into the void")).await;
    match &r.outcome {
        DeliveryOutcome::Unverified { reason } | DeliveryOutcome::Failed { reason } => {
            assert!(reason.contains("no_echo"), "{reason}")
        }
        DeliveryOutcome::Verified => panic!("a black hole was verified: {r:?}"),
    }
    assert_eq!(r.reinjections, o.max_reinjections);
    assert!(!r.extra_enter && r.echo_at.is_none());
    a.kill().await;
}

#[tokio::test]
async fn crash_mid_delivery_fails_with_exit_info() {
    let a = spawn_fake(&["--crash-after", "1"]);
    ready(&a, &ReadinessConfig::default()).await;
    let r = deliver(&a.session, &opts(), &framed("01CRASH", "this kills it")).await;
    match &r.outcome {
        DeliveryOutcome::Failed { reason } => assert!(reason.contains("code 101"), "{reason}"),
        other => panic!("expected failure, got {other:?}"),
    }
    assert_eq!(r.exit.and_then(|e| e.code), Some(101));
    assert_eq!(a.wait_exit().await.code, Some(101));
    assert!(a.transcript().is_empty());
}

#[tokio::test]
async fn busy_output_is_busy_then_idle() {
    let a = spawn_fake(&["--busy-ms", "600", "--reply", "done"]);
    let cfg = ReadinessConfig::default();
    ready(&a, &cfg).await;
    let text = framed("01BUSY", "think about it");
    deliver_ok(&a, &opts(), &text).await;
    let snap = a.snapshot(0);
    assert_eq!(
        readiness::activity(&snap, Instant::now(), Duration::from_secs(5)),
        Activity::Busy
    );
    // The reply comes after the thinking; then the agent is idle and ready.
    let deadline = Instant::now() + PATIENCE;
    let replied = wait::wait_for(&a.session, 0, deadline, |snap, _| {
        if snap.text().contains("assistant: done") {
            wait::Step::Done(())
        } else {
            wait::Step::Wait(None)
        }
    })
    .await;
    assert!(replied.is_some(), "{}", a.screen());
    ready(&a, &cfg).await;
    let now = Instant::now();
    assert_eq!(
        readiness::activity(&a.snapshot(0), now, cfg.quiet),
        Activity::Idle
    );
    a.kill().await;
}
