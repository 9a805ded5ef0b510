//! What was seen (issue 19, case 3): an editor that keeps input it cannot
//! parse, draws a syntax error under it and leaves the cursor in it. The
//! error line is not "output after Enter": the delivery is not verified, and
//! the input-hold check finds the same text in the input, so the two never
//! say opposite things about one screen. Through a real PTY and the fake
//! agent's `--reject-unparsable`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use courier_terminal::input_line::{self, Hold};
use courier_terminal::verify::Expectation;
use courier_terminal::wait::{Step, wait_for};
use courier_terminal::*;

fn opts() -> DeliverOptions {
    DeliverOptions {
        echo_window: Duration::from_secs(10),
        submit_window: Duration::from_secs(2),
        ..DeliverOptions::default()
    }
}

#[tokio::test]
async fn text_the_editor_rejects_is_unverified_and_held_then_valid_text_is_verified() {
    let a = spawn_fake(&["--reject-unparsable"]);
    ready(&a, &ReadinessConfig::default()).await;
    let text = framed("01REJECT", "does not parse\nkept with an error under it");
    let r = deliver(&a.session, &opts(), &text).await;
    match &r.outcome {
        DeliveryOutcome::Unverified { reason } => {
            assert!(reason.starts_with("not_submitted"), "{r:?}")
        }
        other => panic!("{other:?}\n{r:?}\nscreen:\n{}", a.screen()),
    }
    assert!(r.enters >= 2, "Enter is retried alone: {r:?}");
    assert!(
        r.screen.iter().any(|row| row.contains("SyntaxError")),
        "{r:?}"
    );
    // The screen the verdict was made on, as the hold check reads it.
    let snap = a.snapshot(0);
    let exp = Expectation::new(&text, vec![]);
    assert!(
        input_line::holds_text(&snap, &exp, None, false),
        "{}",
        a.screen()
    );
    assert_eq!(
        input_line::hold(&snap, None, false, Some(&exp)),
        Some(Hold::LeftOver)
    );
    assert!(a.transcript().is_empty(), "{:?}", a.transcript());

    // A person clears the input; text that parses then goes through.
    let erase = vec![0x7f; text.chars().count()];
    a.session.write(&erase).await.expect("backspaces");
    let cleared = wait_for(&a.session, 0, Instant::now() + PATIENCE, |snap, _| {
        if snap.text().contains("01REJECT") {
            Step::Wait(None)
        } else {
            Step::Done(())
        }
    })
    .await;
    assert!(cleared.is_some(), "{}", a.screen());
    let valid = "# [courier] from alice to you (direct) | msg 01VALID\n# a comment parses";
    let r = deliver(&a.session, &opts(), valid).await;
    assert_eq!(
        r.outcome,
        DeliveryOutcome::Verified,
        "{r:?}\n{}",
        a.screen()
    );
    assert_eq!(transcript_until(&a, |t| !t.is_empty()).await, [valid]);
    a.kill().await;
}
