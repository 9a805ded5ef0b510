//! The composer quirks of real agent CLIs (shared/spec/terminals.md), each
//! reproduced by the fake agent in a real PTY: "verified" must mean the
//! message left the input as one submission of its own, and nothing else.

mod common;

use std::time::Duration;

use common::*;
use courier_terminal::submission::SubmittedBy;
use courier_terminal::*;

fn opts() -> DeliverOptions {
    DeliverOptions {
        echo_window: Duration::from_secs(10),
        ..DeliverOptions::default()
    }
}

/// Delivers three messages one after the other, as an agent task does, and
/// checks each is verified and the transcript holds each exactly once, as a
/// submission of its own.
async fn three_submissions(a: &Agent, opts: &DeliverOptions, tag: &str) -> Vec<DeliveryReport> {
    ready(a, &opts.readiness).await;
    let mut sent = Vec::new();
    let mut reports = Vec::new();
    for i in 0..3 {
        let text = framed(
            &format!("01{tag}{i}"),
            &format!("message {i}\nsecond line {i}"),
        );
        let r = deliver(&a.session, opts, &text).await;
        assert_eq!(
            r.outcome,
            DeliveryOutcome::Verified,
            "{r:?}\nscreen:\n{}",
            a.screen()
        );
        sent.push(text);
        reports.push(r);
    }
    assert_eq!(transcript_until(a, |t| t.len() >= 3).await, sent);
    reports
}

#[tokio::test]
async fn enter_that_becomes_a_newline_is_retried_until_the_text_leaves() {
    let a = spawn_fake(&["--enter-newline-ms", "150"]);
    let reports = three_submissions(&a, &opts(), "NL").await;
    // The first meets the window unknown; later ones go by what it taught.
    assert!(reports[0].enters >= 2, "{reports:?}");
    a.kill().await;
}

#[tokio::test]
async fn a_preset_gap_gets_enter_past_the_newline_window_at_once() {
    let a = spawn_fake(&["--enter-newline-ms", "150", "--border"]);
    let o = DeliverOptions {
        enter_gap: Duration::from_millis(200),
        ..opts()
    };
    let reports = three_submissions(&a, &o, "GAP").await;
    assert!(reports.iter().all(|r| r.enters == 1), "{reports:?}");
    a.kill().await;
}

#[tokio::test]
async fn a_dropped_enter_never_glues_two_messages_together() {
    let a = spawn_fake(&["--enter-drop-ms", "150"]);
    let reports = three_submissions(&a, &opts(), "DROP").await;
    assert!(reports[0].enters >= 2, "{reports:?}");
    a.kill().await;
}

#[tokio::test]
async fn a_multi_line_editor_gets_the_enter_that_completes_its_input() {
    let a = spawn_fake(&["--multiline", "blank-line", "--mode", "line"]);
    three_submissions(&a, &opts(), "ML").await;
    a.kill().await;
}

#[tokio::test]
async fn an_editor_that_submits_on_esc_enter_gets_its_keys() {
    let a = spawn_fake(&["--multiline", "esc-enter"]);
    let o = DeliverOptions {
        submit_keys: b"\x1b\r".to_vec(),
        ..opts()
    };
    let reports = three_submissions(&a, &o, "ESC").await;
    assert!(reports.iter().all(|r| r.enters == 1), "{reports:?}");
    a.kill().await;
}

#[tokio::test]
async fn text_that_never_leaves_the_input_is_not_submitted_and_nothing_follows_it() {
    // Enter only ever adds a line: the submit keys are wrong for it.
    let a = spawn_fake(&["--multiline", "esc-enter"]);
    let o = DeliverOptions {
        submit_window: Duration::from_millis(600),
        ..opts()
    };
    ready(&a, &o.readiness).await;
    let text = framed("01STAYS", "this stays in the editor");
    let r = deliver(&a.session, &o, &text).await;
    match &r.outcome {
        DeliveryOutcome::Unverified { reason } => {
            assert!(reason.starts_with("not_submitted"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        r.screen.iter().any(|row| row.contains("this stays")),
        "the event shows the input: {:?}",
        r.screen
    );
    // The input holds a message: nothing is typed into it.
    let next = deliver(&a.session, &o, &framed("01NEXT", "must wait")).await;
    assert!(
        matches!(&next.outcome, DeliveryOutcome::Failed { reason } if reason.contains("input_not_empty")),
        "{next:?}"
    );
    assert!(!a.screen().contains("must wait"), "{}", a.screen());
    assert!(a.transcript().is_empty());
    a.kill().await;
}

#[tokio::test]
async fn continuation_prompts_are_verified_by_echo_at_once() {
    for cont in ["... ", "   ...: "] {
        let a = spawn_fake(&["--mode", "line", "--continuation", cont]);
        let reports = three_submissions(&a, &opts(), "CONT").await;
        for r in &reports {
            assert_eq!(r.enters, 1, "{cont:?}: {r:?}");
            assert!(
                r.echo_latency().is_some_and(|l| l < Duration::from_secs(1)),
                "{r:?}"
            );
        }
        a.kill().await;
    }
}

#[tokio::test]
async fn a_program_that_draws_nothing_is_ready_from_the_kernel() {
    let a = spawn_fake(&["--draw-nothing"]);
    assert_eq!(ready(&a, &opts().readiness).await, ReadyBy::ReadingLine);
    let mut sent = Vec::new();
    for i in 0..3 {
        let text = framed(&format!("01CAT{i}"), "drawn by nobody\nbut the kernel");
        let r = deliver(&a.session, &opts(), &text).await;
        assert_eq!(r.outcome, DeliveryOutcome::Verified, "{r:?}");
        assert_eq!(r.submitted_by, Some(SubmittedBy::LineDiscipline));
        sent.push(inject::one_line(&text));
    }
    assert_eq!(transcript_until(&a, |t| t.len() >= 3).await, sent);
    a.kill().await;
}

#[tokio::test]
async fn typed_while_busy_into_a_queue_each_is_submitted_on_its_own() {
    let a = spawn_fake(&["--busy-ms", "400", "--busy-queue"]);
    ready(&a, &opts().readiness).await;
    // `immediate`: typed while the agent works.
    let o = DeliverOptions {
        ready_timeout: None,
        ..opts()
    };
    let mut sent = Vec::new();
    for i in 0..3 {
        let text = framed(&format!("01Q{i}"), &format!("queued {i}"));
        let r = deliver(&a.session, &o, &text).await;
        assert_eq!(
            r.outcome,
            DeliveryOutcome::Verified,
            "{r:?}\n{}",
            a.screen()
        );
        sent.push(text);
    }
    assert_eq!(transcript_until(&a, |t| t.len() >= 3).await, sent);
    a.kill().await;
}
