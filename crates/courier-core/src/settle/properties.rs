//! Property tests of settling: whatever the report, the transitions are
//! legal from the state the delivery is in, nothing untyped counts as
//! delivered, pacing is honest, and nothing the agent never saw is failed.

use proptest::prelude::*;

use super::*;
use crate::delivery::{Delivery, DeliveryState, Transition};
use crate::pacing::{self, Pacer};
use crate::retry::RetryPolicy;
use crate::time::Timestamp;

fn arb_exit() -> impl Strategy<Value = Option<Exit>> {
    proptest::option::of(
        (
            proptest::option::of(-2..256i32),
            proptest::option::of(1..32i32),
        )
            .prop_map(|(code, signal)| Exit { code, signal }),
    )
}

/// Reasons as the terminal writes them, plus any text.
fn arb_reason() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("not_submitted: the text stayed in the input".to_string()),
        Just("no_echo: the text never appeared".to_string()),
        Just("agent not ready: input_not_empty: text is typed after the prompt".to_string()),
        Just("agent not ready: agent_working: the screen shows the agent working".to_string()),
        Just("agent not ready: dialog on screen: Trust?".to_string()),
        Just("agent process exited with code 1 before injection".to_string()),
        ".{0,40}",
    ]
}

fn arb_outcome() -> impl Strategy<Value = InjectionOutcome> {
    prop_oneof![
        Just(InjectionOutcome::Verified),
        arb_reason().prop_map(|reason| InjectionOutcome::Unverified { reason }),
        arb_reason().prop_map(|reason| InjectionOutcome::Failed { reason }),
    ]
}

/// An attempt as the delivery loop builds it, under the terminal's
/// contract: only a failure comes before typing started, and `injected`
/// is committed only after it started.
fn arb_attempt() -> impl Strategy<Value = Attempt> {
    (
        arb_outcome(),
        any::<bool>(),
        any::<bool>(),
        arb_exit(),
        any::<bool>(),
        proptest::collection::vec(".{0,10}", 0..3),
    )
        .prop_map(|(outcome, typed, marked, exit, busy_at_end, screen)| {
            let typing_started = typed || !matches!(outcome, InjectionOutcome::Failed { .. });
            Attempt {
                refused: ScreenRefusal::of(&outcome),
                outcome,
                typing_started,
                marked_injected: marked && typing_started,
                exit,
                busy_at_end,
                screen,
            }
        })
}

fn queued() -> Delivery {
    Delivery::queued("d1".into(), "m1".into(), "bob", "alice", Timestamp(0))
}

/// A delivery brought to `state` through the state machine itself.
fn in_state(state: DeliveryState) -> Delivery {
    let policy = RetryPolicy::default();
    let begin = Transition::BeginInjection {
        session: "s1".into(),
        channel: crate::DeliveryChannel::Pty,
    };
    let steps = match state {
        DeliveryState::Injecting => vec![begin],
        DeliveryState::Injected => vec![begin, Transition::Written],
        _ => vec![],
    };
    steps.into_iter().fold(queued(), |d, step| {
        d.apply(step, &policy, Timestamp(1))
            .map(|(d, _)| d)
            .unwrap_or_else(|e| panic!("reaching {state}: {e}"))
    })
}

/// Applies every transition in order; the first refusal fails the case.
fn apply_all(
    mut delivery: Delivery,
    transitions: &[Transition],
    policy: &RetryPolicy,
) -> Result<Delivery, TestCaseError> {
    for t in transitions {
        delivery = delivery
            .apply(t.clone(), policy, Timestamp(2))
            .map_err(|e| TestCaseError::fail(format!("{t:?} refused: {e}")))?
            .0;
    }
    Ok(delivery)
}

fn arb_gone() -> impl Strategy<Value = Gone> {
    prop_oneof![
        arb_exit().prop_map(|exit| Gone::AgentExited(exit.unwrap_or(Exit {
            code: None,
            signal: None
        }))),
        Just(Gone::AgentReleased),
        Just(Gone::AgentDead),
        Just(Gone::BrokerRestarted),
    ]
}

fn pending_state() -> impl Strategy<Value = DeliveryState> {
    prop_oneof![
        Just(DeliveryState::Queued),
        Just(DeliveryState::Injecting),
        Just(DeliveryState::Injected),
    ]
}

fn arb_pacer() -> impl Strategy<Value = Pacer> {
    let outcome = prop_oneof![
        Just(pacing::Outcome::Verified),
        Just(pacing::Outcome::Unverified),
        Just(pacing::Outcome::Failed),
    ];
    (1..=100u64, proptest::collection::vec(outcome, 0..12)).prop_map(|(floor, history)| {
        let mut pacer = Pacer::new(floor);
        for outcome in history {
            pacer.record(outcome);
        }
        pacer
    })
}

proptest! {
    #[test]
    fn an_attempts_transitions_apply_cleanly_from_where_the_loop_is(
        attempt in arb_attempt(),
        max_attempts in 1..5u32,
    ) {
        let from = if attempt.marked_injected {
            DeliveryState::Injected
        } else {
            DeliveryState::Injecting
        };
        let settled = settle_attempt(attempt);
        let policy = RetryPolicy { max_attempts };
        let end = apply_all(in_state(from), &settled.transitions, &policy)?;
        prop_assert!(!end.state.is_in_flight(), "left in flight: {}", end.state);
        prop_assert_eq!(settled.progressed, end.state.is_delivered());
    }

    #[test]
    fn an_attempt_of_which_nothing_was_typed_is_never_delivered(attempt in arb_attempt()) {
        let nothing_typed = !attempt.typing_started && !attempt.marked_injected;
        let settled = settle_attempt(attempt);
        if nothing_typed {
            prop_assert!(!settled.progressed);
            prop_assert!(matches!(settled.counted, Counted::Failed | Counted::Requeued));
            let delivered = settled.transitions.iter().any(|t| matches!(
                t,
                Transition::Written | Transition::Verified | Transition::Unverified { .. }
            ));
            prop_assert!(!delivered, "{:?}", settled.transitions);
        }
    }

    /// The invariant of a crash: what may have reached a process that
    /// exited is never typed again (neither requeued nor retried); it ends
    /// `unverified`, `agent_exited`, unless the screen had proved it.
    #[test]
    fn an_attempt_typed_into_an_exiting_agent_is_never_typed_again(attempt in arb_attempt()) {
        let typed_into_exiting = attempt.exit.is_some() && attempt.typing_started;
        let proven = attempt.outcome == InjectionOutcome::Verified;
        let settled = settle_attempt(attempt);
        if typed_into_exiting {
            match settled.transitions.last() {
                Some(Transition::Verified) => prop_assert!(proven),
                Some(Transition::Unverified { reason, .. }) => {
                    prop_assert!(reason.starts_with("agent_exited: the agent process "), "{}", reason);
                }
                other => prop_assert!(false, "typed again: {:?}", other),
            }
        }
    }

    #[test]
    fn a_requeue_never_counts_as_failed(attempt in arb_attempt()) {
        let settled = settle_attempt(attempt);
        let requeued = settled.transitions.iter().any(|t| matches!(t, Transition::Requeue { .. }));
        let failed = settled.transitions.iter().any(|t| matches!(t, Transition::Failed { .. }));
        prop_assert_eq!(requeued, settled.counted == Counted::Requeued);
        prop_assert_eq!(failed, settled.counted == Counted::Failed);
        prop_assert!(!(requeued && failed));
    }

    /// Honest pacing: the same attempt ending unverified instead of
    /// verified never leaves the pacer faster, now or after any run of
    /// proofs that follows.
    #[test]
    fn an_unverified_outcome_never_paces_faster_than_a_verified_one(
        attempt in arb_attempt(),
        reason in arb_reason(),
        pacer in arb_pacer(),
        later in 0..10usize,
    ) {
        let verified = settle_attempt(Attempt { outcome: InjectionOutcome::Verified, ..attempt.clone() });
        let unverified = settle_attempt(Attempt {
            outcome: InjectionOutcome::Unverified { reason },
            ..attempt
        });
        prop_assert_ne!(unverified.pacing, pacing::Outcome::Verified);
        let (mut after_v, mut after_u) = (pacer.clone(), pacer);
        after_v.record(verified.pacing);
        after_u.record(unverified.pacing);
        prop_assert!(after_u.delay_ms() >= after_v.delay_ms());
        for _ in 0..later {
            after_v.record(pacing::Outcome::Verified);
            after_u.record(pacing::Outcome::Verified);
            prop_assert!(after_u.delay_ms() >= after_v.delay_ms());
        }
    }

    /// A pending delivery whose agent or session went away ends by legal
    /// transitions, is never failed, and what may have reached a process is
    /// never put back in the queue to be typed again.
    #[test]
    fn a_pending_delivery_ends_cleanly_when_its_agent_is_gone(
        state in pending_state(),
        gone in arb_gone(),
    ) {
        let transitions = settle_pending(state, gone);
        let failed = transitions.iter().any(|t| matches!(t, Transition::Failed { .. }));
        prop_assert!(!failed, "{:?}", transitions);
        let end = apply_all(in_state(state), &transitions, &RetryPolicy::default())?;
        if state == DeliveryState::Injected {
            prop_assert_eq!(end.state, DeliveryState::Unverified);
        }
        match gone {
            Gone::AgentReleased | Gone::AgentDead => prop_assert!(end.state.is_terminal()),
            Gone::AgentExited(_) => prop_assert!(!end.state.is_in_flight()),
            Gone::BrokerRestarted => prop_assert!(!end.state.is_in_flight()),
        }
    }

    #[test]
    fn a_resumed_delivery_settles_cleanly(
        outcome in proptest::option::of(arb_outcome()),
        marked in any::<bool>(),
    ) {
        let resumed = match outcome {
            Some(outcome) => Resumed::Done { outcome, screen: Vec::new() },
            None => Resumed::NotTyped,
        };
        let from = if marked { DeliveryState::Injected } else { DeliveryState::Injecting };
        let end = apply_all(in_state(from), &settle_resumed(resumed, marked), &RetryPolicy::default())?;
        prop_assert!(!end.state.is_in_flight());
    }
}
