//! Real line programs: bash, python3 and cat.

mod common;

use std::time::Duration;

use common::*;
use courier_terminal::*;

fn opts() -> DeliverOptions {
    DeliverOptions {
        echo_window: Duration::from_secs(10),
        submit_window: Duration::from_secs(2),
        ..DeliverOptions::default()
    }
}

async fn verified(a: &Agent, opts: &DeliverOptions, text: &str) -> DeliveryReport {
    let r = deliver(&a.session, opts, text).await;
    assert_eq!(
        r.outcome,
        DeliveryOutcome::Verified,
        "{r:?}\nscreen:\n{}",
        a.screen()
    );
    r
}

#[tokio::test]
async fn bash_is_ready_and_gets_messages() {
    let a = spawn_cmd("bash", "bash", &["--norc", "--noprofile"], &[("PS1", "$ ")]);
    assert_ne!(
        ready(&a, &ReadinessConfig::default()).await,
        ReadyBy::Fallback
    );
    for i in 0..3 {
        let text = framed(&format!("01BASH{i}"), "hello bash\nsecond line");
        let r = verified(&a, &opts(), &text).await;
        assert!(r.bracketed, "bash enables bracketed paste");
    }
    a.kill().await;
}

#[tokio::test]
async fn python_is_ready_and_gets_a_message() {
    let a = spawn_cmd("python", "python3", &["-i", "-q"], &[]);
    assert_ne!(
        ready(&a, &ReadinessConfig::default()).await,
        ReadyBy::Fallback
    );
    verified(&a, &opts(), &framed("01PY", "hello python\nsecond line")).await;
    a.kill().await;
}

#[tokio::test]
async fn cat_is_ready_by_fallback_and_gets_a_message() {
    // cat draws nothing: only the fallback can make it ready.
    let a = spawn_cmd("cat", "cat", &[], &[]);
    let o = DeliverOptions {
        readiness: ReadinessConfig {
            fallback: Duration::from_millis(300),
            ..ReadinessConfig::default()
        },
        ..opts()
    };
    assert_eq!(ready(&a, &o.readiness).await, ReadyBy::Fallback);
    let text = framed("01CAT", "hello cat\nsecond line");
    let r = verified(&a, &o, &text).await;
    assert!(!r.bracketed);
    assert_eq!(r.ready_by, Some(ReadyBy::Fallback));
    // The tty echoed one line and cat printed it back once.
    let line = inject::one_line(&text);
    let deadline = std::time::Instant::now() + PATIENCE;
    let twice = wait::wait_for(&a.session, 0, deadline, |snap, _| {
        if snap.text().matches(&line).count() >= 2 {
            wait::Step::Done(snap.text())
        } else {
            wait::Step::Wait(None)
        }
    })
    .await
    .unwrap_or_else(|| a.screen());
    assert_eq!(twice.matches(&line).count(), 2, "{twice}");
    a.kill().await;
}
