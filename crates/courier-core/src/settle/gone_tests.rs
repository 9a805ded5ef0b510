//! Unit tests of ending a pending delivery whose agent or session is gone:
//! every cause in every state, reasons pinned byte for byte.

use super::*;
use crate::delivery::{DeliveryState as S, Transition};

const CRASH: Exit = Exit {
    code: Some(101),
    signal: None,
};

fn unverified(reason: &str) -> Transition {
    Transition::Unverified {
        reason: reason.into(),
        screen: Vec::new(),
    }
}

fn requeue(reason: &str) -> Transition {
    Transition::Requeue {
        reason: reason.into(),
    }
}

fn drop(reason: &str) -> Transition {
    Transition::Drop {
        reason: reason.into(),
    }
}

#[test]
fn an_exit_ends_what_was_in_flight_unverified_and_leaves_the_queue_waiting() {
    let reason = "agent_exited: the agent process exited with code 101 while it was in flight; not typed again";
    assert_eq!(
        settle_pending(S::Injecting, Gone::AgentExited(CRASH)),
        vec![Transition::Written, unverified(reason)]
    );
    assert_eq!(
        settle_pending(S::Injected, Gone::AgentExited(CRASH)),
        vec![unverified(reason)]
    );
    assert_eq!(settle_pending(S::Queued, Gone::AgentExited(CRASH)), vec![]);
}

#[test]
fn a_release_or_a_death_ends_every_pending_delivery() {
    for (gone, cause) in [
        (Gone::AgentReleased, "agent_released"),
        (Gone::AgentDead, "agent_dead"),
    ] {
        assert_eq!(
            settle_pending(S::Injected, gone),
            vec![unverified(&format!(
                "{cause}: gone while its Enter may have been sent"
            ))]
        );
        assert_eq!(
            settle_pending(S::Injecting, gone),
            vec![requeue(&format!("{cause} before Enter")), drop(cause)]
        );
        assert_eq!(settle_pending(S::Queued, gone), vec![drop(cause)]);
    }
}

#[test]
fn a_broker_restart_onto_a_new_session_requeues_before_enter_only() {
    assert_eq!(
        settle_pending(S::Injecting, Gone::BrokerRestarted),
        vec![requeue(
            "broker restarted before Enter; the agent session is new"
        )]
    );
    assert_eq!(
        settle_pending(S::Injected, Gone::BrokerRestarted),
        vec![unverified(
            "broker_restarted: Enter may have been sent before the restart; not typed again to avoid a double"
        )]
    );
    assert_eq!(settle_pending(S::Queued, Gone::BrokerRestarted), vec![]);
}

#[test]
fn nothing_is_pending_in_an_ended_or_forwarded_delivery() {
    let ended = [
        S::Verified,
        S::Unverified,
        S::Dropped,
        S::Dead,
        S::Read,
        S::Forwarded,
    ];
    for state in ended {
        for gone in [
            Gone::AgentExited(CRASH),
            Gone::AgentReleased,
            Gone::AgentDead,
            Gone::BrokerRestarted,
        ] {
            assert_eq!(settle_pending(state, gone), vec![], "{state} {gone:?}");
        }
    }
}
