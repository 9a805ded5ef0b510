//! Unit tests of settling one attempt and one resumed delivery: every
//! branch, with the reasons pinned byte for byte (`docs/delivery.md`).

use super::*;
use crate::delivery::Transition;
use crate::pacing;

const CRASH: Exit = Exit {
    code: Some(101),
    signal: None,
};

fn failed(reason: &str) -> InjectionOutcome {
    InjectionOutcome::Failed {
        reason: reason.into(),
    }
}

fn unverified(reason: &str) -> InjectionOutcome {
    InjectionOutcome::Unverified {
        reason: reason.into(),
    }
}

/// An attempt whose keys went out to a live, idle agent, `injected` not
/// yet committed.
fn typed(outcome: InjectionOutcome) -> Attempt {
    Attempt {
        refused: ScreenRefusal::of(&outcome),
        outcome,
        typing_started: true,
        marked_injected: false,
        exit: None,
        busy_at_end: false,
        screen: Vec::new(),
    }
}

/// An attempt of which no key went out.
fn not_typed(outcome: InjectionOutcome) -> Attempt {
    Attempt {
        typing_started: false,
        ..typed(outcome)
    }
}

#[test]
fn verified_after_enter_counts_and_progresses() {
    let settled = settle_attempt(Attempt {
        marked_injected: true,
        ..typed(InjectionOutcome::Verified)
    });
    assert_eq!(
        settled,
        Settlement {
            transitions: vec![Transition::Verified],
            counted: Counted::Verified,
            progressed: true,
            left_in_input: false,
            pacing: pacing::Outcome::Verified,
        }
    );
}

#[test]
fn taken_in_without_reaching_enter_passes_through_injected() {
    let settled = settle_attempt(typed(unverified("no_echo: the text never appeared")));
    assert_eq!(
        settled.transitions,
        vec![
            Transition::Written,
            Transition::Unverified {
                reason: "no_echo: the text never appeared".into(),
                screen: Vec::new(),
            }
        ]
    );
    assert_eq!(settled.counted, Counted::Unverified);
    assert_eq!(settled.pacing, pacing::Outcome::Unverified);
    assert!(settled.progressed);
    assert!(!settled.left_in_input);
}

#[test]
fn text_left_in_the_input_carries_its_rows_and_holds_the_next() {
    let reason = "not_submitted: the text stayed in the input after 3 Enter(s) over 900 ms";
    let settled = settle_attempt(Attempt {
        marked_injected: true,
        screen: vec!["> hello".into()],
        ..typed(unverified(reason))
    });
    assert_eq!(
        settled.transitions,
        vec![Transition::Unverified {
            reason: reason.into(),
            screen: vec!["> hello".into()],
        }]
    );
    assert!(settled.left_in_input);
}

#[test]
fn a_failure_a_live_agent_saw_counts_and_backs_off() {
    let settled = settle_attempt(not_typed(failed(
        "agent not ready: dialog on screen: Trust?",
    )));
    assert_eq!(
        settled.transitions,
        vec![Transition::Failed {
            reason: "agent not ready: dialog on screen: Trust?".into()
        }]
    );
    assert_eq!(settled.counted, Counted::Failed);
    assert_eq!(settled.pacing, pacing::Outcome::Failed);
    assert!(!settled.progressed);
}

#[test]
fn nothing_typed_into_a_busy_or_refusing_screen_goes_back_uncounted() {
    let busy = Attempt {
        busy_at_end: true,
        ..not_typed(failed("agent not ready: output still flowing"))
    };
    let draft = not_typed(failed(
        "agent not ready: input_not_empty: text is typed after the prompt; waiting until it is submitted or cleared",
    ));
    let working = not_typed(failed(
        "agent not ready: agent_working: the screen shows the agent working (esc to interrupt); waiting for the turn to end",
    ));
    assert_eq!(draft.refused, Some(ScreenRefusal::InputNotEmpty));
    assert_eq!(working.refused, Some(ScreenRefusal::Working));
    for attempt in [busy, draft, working] {
        let InjectionOutcome::Failed { reason } = attempt.outcome.clone() else {
            unreachable!("built as a failure")
        };
        let settled = settle_attempt(attempt);
        assert_eq!(settled.transitions, vec![Transition::Requeue { reason }]);
        assert_eq!(settled.counted, Counted::Requeued);
        // Pacing still backs off: the agent was not ready for it.
        assert_eq!(settled.pacing, pacing::Outcome::Failed);
        assert!(!settled.progressed);
    }
}

#[test]
fn a_busy_agent_whose_keys_went_out_fails_and_counts() {
    let settled = settle_attempt(Attempt {
        busy_at_end: true,
        ..typed(failed("write error"))
    });
    assert_eq!(settled.counted, Counted::Failed);
}

#[test]
fn in_flight_at_an_exit_ends_unverified_agent_exited() {
    let settled = settle_attempt(Attempt {
        exit: Some(CRASH),
        ..typed(failed(
            "agent process exited with code 101 while writing (EIO)",
        ))
    });
    assert_eq!(
        settled.transitions,
        vec![
            Transition::Written,
            Transition::Unverified {
                reason: "agent_exited: the agent process exited with code 101 while it was being delivered (agent process exited with code 101 while writing (EIO)); not typed again".into(),
                screen: Vec::new(),
            }
        ]
    );
    assert_eq!(settled.counted, Counted::Unverified);
    // The rewritten outcome is what pacing records.
    assert_eq!(settled.pacing, pacing::Outcome::Unverified);
}

#[test]
fn text_left_in_the_input_of_an_exited_agent_is_not_held_for() {
    let settled = settle_attempt(Attempt {
        exit: Some(Exit {
            code: None,
            signal: Some(9),
        }),
        marked_injected: true,
        ..typed(unverified("not_submitted: the text stayed in the input"))
    });
    assert_eq!(
        settled.transitions,
        vec![Transition::Unverified {
            reason: "agent_exited: the agent process killed by signal 9 while it was being delivered (not_submitted: the text stayed in the input); not typed again".into(),
            screen: Vec::new(),
        }]
    );
    assert!(!settled.left_in_input);
}

#[test]
fn proven_before_the_exit_stays_verified() {
    let settled = settle_attempt(Attempt {
        exit: Some(CRASH),
        marked_injected: true,
        ..typed(InjectionOutcome::Verified)
    });
    assert_eq!(settled.transitions, vec![Transition::Verified]);
}

#[test]
fn nothing_reached_an_exited_agent_goes_back_for_the_restart() {
    let reason = "agent process exited with code 101 before injection";
    let settled = settle_attempt(Attempt {
        exit: Some(CRASH),
        ..not_typed(failed(reason))
    });
    assert_eq!(
        settled.transitions,
        vec![Transition::Requeue {
            reason: reason.into()
        }]
    );
    assert_eq!(settled.counted, Counted::Requeued);
}

#[test]
fn the_exit_rewrite_leaves_a_live_agents_outcome_alone() {
    let outcome = failed("write error");
    assert_eq!(outcome_at_exit(outcome.clone(), true, None), outcome);
    assert_eq!(
        outcome_at_exit(outcome.clone(), false, Some(CRASH)),
        outcome
    );
}

#[test]
fn only_a_failure_is_a_screen_refusal() {
    assert_eq!(
        ScreenRefusal::of(&unverified(
            "no echo, and not ready again to re-inject: input_not_empty"
        )),
        None
    );
    assert_eq!(
        ScreenRefusal::of(&failed("agent not ready: blank screen")),
        None
    );
    assert_eq!(ScreenRefusal::of(&InjectionOutcome::Verified), None);
}

#[test]
fn outcomes_keep_the_terminals_wire_form() {
    let json = serde_json::to_value(failed("x")).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"outcome": "failed", "reason": "x"})
    );
    let back: InjectionOutcome =
        serde_json::from_value(serde_json::json!({"outcome": "verified"})).unwrap();
    assert_eq!(back, InjectionOutcome::Verified);
}

#[test]
fn a_resumed_delivery_never_typed_goes_back_to_the_queue() {
    for marked in [false, true] {
        assert_eq!(
            settle_resumed(Resumed::NotTyped, marked),
            vec![Transition::Requeue {
                reason: "broker restarted; the surviving screen shows it was never typed".into()
            }]
        );
    }
}

#[test]
fn a_resumed_delivery_taken_in_passes_through_injected_unless_marked() {
    let done = |outcome| Resumed::Done {
        outcome,
        screen: vec!["> hi".into()],
    };
    assert_eq!(
        settle_resumed(done(InjectionOutcome::Verified), false),
        vec![Transition::Written, Transition::Verified]
    );
    assert_eq!(
        settle_resumed(done(unverified("restart_unproven: x")), true),
        vec![Transition::Unverified {
            reason: "restart_unproven: x".into(),
            screen: vec!["> hi".into()],
        }]
    );
    assert_eq!(
        settle_resumed(done(failed("agent not ready: blank screen")), false),
        vec![Transition::Failed {
            reason: "agent not ready: blank screen".into()
        }]
    );
}
