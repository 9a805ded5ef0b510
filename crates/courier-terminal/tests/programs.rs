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
async fn cat_is_ready_from_the_kernel_and_gets_messages() {
    // cat draws nothing: the kernel says it waits for a line (canonical
    // mode, blocked reading the terminal), long before the fallback.
    let a = spawn_cmd("cat", "cat", &[], &[]);
    let o = opts();
    assert_eq!(ready(&a, &o.readiness).await, ReadyBy::ReadingLine);
    assert!(a.spawned_at().elapsed() < o.readiness.fallback);
    let mut lines = Vec::new();
    for i in 0..3 {
        let text = framed(&format!("01CAT{i}"), "hello cat\nsecond line");
        let r = verified(&a, &o, &text).await;
        assert!(!r.bracketed);
        assert_eq!(r.ready_by, Some(ReadyBy::ReadingLine));
        assert_eq!(r.enters, 1, "one Enter, one line: {r:?}");
        lines.push(inject::one_line(&text));
    }
    // The tty echoed each line and cat printed it back once.
    let deadline = std::time::Instant::now() + PATIENCE;
    let shown = wait::wait_for(&a.session, 0, deadline, |snap, _| {
        if lines
            .iter()
            .all(|l| snap.text().matches(l.as_str()).count() >= 2)
        {
            wait::Step::Done(snap.text())
        } else {
            wait::Step::Wait(None)
        }
    })
    .await
    .unwrap_or_else(|| a.screen());
    for line in &lines {
        assert_eq!(shown.matches(line.as_str()).count(), 2, "{shown}");
    }
    a.kill().await;
}
