//! A delivery that waits for readiness never types while a busy pattern is
//! on the screen, through a real PTY: the fake agent's working status line
//! is redrawn once a second (the screen looks quiet in between) and its
//! turn takes in whatever is typed meanwhile (issue 19, case 4). Without a
//! readiness wait (`immediate`) the keys still go in: that is its meaning.

mod common;

use std::time::Duration;

use common::*;
use courier_terminal::*;

/// One turn of the fake agent: long enough that a second delivery
/// starts while the first message's turn still runs.
const TURN_MS: &str = "2500";

fn working_agent() -> Agent {
    spawn_fake(&["--merge-while-busy", "--busy-ms", TURN_MS])
}

fn with_busy_pattern(opts: DeliverOptions) -> DeliverOptions {
    DeliverOptions {
        readiness: opts
            .readiness
            .clone()
            .with_busy(&["esc to interrupt".to_string()], &[])
            .unwrap(),
        ..opts
    }
}

/// Each transcript line's (`turn`, `merged`).
fn turns(agent: &Agent) -> Vec<(u64, bool)> {
    std::fs::read_to_string(agent.transcript_path())
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["turn"].as_u64().unwrap(), v["merged"].as_bool().unwrap())
        })
        .collect()
}

/// Delivers a first message and returns once its turn shows working.
async fn first_turn(agent: &Agent, opts: &DeliverOptions) {
    ready(agent, &opts.readiness).await;
    let report = deliver(&agent.session, opts, &framed("01FIRST", "start working")).await;
    assert_eq!(report.outcome, DeliveryOutcome::Verified, "{report:?}");
    assert!(
        opts.readiness.busy.working_on(&agent.snapshot(0)).is_some(),
        "the turn shows its status line:\n{}",
        agent.screen()
    );
}

#[tokio::test]
async fn waiting_for_readiness_types_nothing_into_a_running_turn() {
    let agent = working_agent();
    let opts = with_busy_pattern(DeliverOptions::default());
    first_turn(&agent, &opts).await;
    let report = deliver(&agent.session, &opts, &framed("01SECOND", "then this")).await;
    assert_eq!(report.outcome, DeliveryOutcome::Verified, "{report:?}");
    assert_eq!(turns(&agent), [(1, false), (2, false)], "its own turn");
}

#[tokio::test]
async fn a_still_status_line_outlasting_the_ready_timeout_fails_untouched() {
    let agent = spawn_fake(&["--merge-while-busy", "--busy-forever"]);
    let opts = with_busy_pattern(DeliverOptions {
        ready_timeout: Some(Duration::from_millis(2_500)),
        ..DeliverOptions::default()
    });
    first_turn(&agent, &opts).await;
    let report = deliver(&agent.session, &opts, &framed("01SECOND", "later")).await;
    match &report.outcome {
        DeliveryOutcome::Failed { reason } => {
            assert!(reason.contains(readiness::WORKING), "{reason}")
        }
        other => panic!("expected a failure that typed nothing: {other:?}"),
    }
    assert!(report.injected_at.is_none(), "nothing was typed");
    assert_eq!(turns(&agent), [(1, false)]);
}

#[tokio::test]
async fn immediate_mode_still_types_while_it_works() {
    let agent = working_agent();
    let opts = with_busy_pattern(DeliverOptions::default());
    first_turn(&agent, &opts).await;
    let immediate = DeliverOptions {
        ready_timeout: None,
        ..opts.clone()
    };
    let report = deliver(&agent.session, &immediate, &framed("01SECOND", "now")).await;
    assert_eq!(report.outcome, DeliveryOutcome::Verified, "{report:?}");
    assert_eq!(turns(&agent), [(1, false), (1, true)], "steered the turn");
}
