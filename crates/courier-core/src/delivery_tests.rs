//! Unit tests of the delivery state machine.
use super::*;

fn fresh() -> Delivery {
    Delivery::queued("d1".into(), "m1".into(), "bob", "alice", Timestamp(0))
}

fn step(d: &Delivery, t: Transition) -> (Delivery, Vec<EventKind>) {
    d.apply(t, &RetryPolicy::default(), Timestamp(1)).unwrap()
}

#[test]
fn happy_path_emits_one_event_per_step() {
    let d = fresh();
    let (d, e) = step(
        &d,
        Transition::BeginInjection {
            session: "s1".into(),
            channel: crate::DeliveryChannel::Pty,
        },
    );
    assert_eq!(d.state, DeliveryState::Injecting);
    assert_eq!(e[0].name(), "delivery_injecting");
    let (d, e) = step(&d, Transition::Written);
    assert_eq!(e[0].name(), "delivery_injected");
    let (d, e) = step(&d, Transition::Verified);
    assert_eq!(d.state, DeliveryState::Verified);
    assert_eq!(d.verification, Some(Verification::Echo));
    assert_eq!(e[0].name(), "delivery_verified");
}

#[test]
fn unverified_carries_reason() {
    let d = fresh();
    let (d, _) = step(
        &d,
        Transition::BeginInjection {
            session: "s".into(),
            channel: crate::DeliveryChannel::Pty,
        },
    );
    let (d, _) = step(&d, Transition::Written);
    let (d, e) = step(
        &d,
        Transition::Unverified {
            reason: "no echo".into(),
            screen: vec!["> text".into()],
        },
    );
    assert_eq!(d.state, DeliveryState::Unverified);
    assert!(matches!(
        &e[0],
        EventKind::DeliveryVerified { verification: Verification::TimeoutFallback, reason: Some(r), screen, .. } if r == "no echo" && screen == &["> text"]
    ));
}

#[test]
fn failures_retry_then_die() {
    let policy = RetryPolicy { max_attempts: 2 };
    let d = fresh();
    let fail = || Transition::Failed {
        reason: "write error".into(),
    };
    let (d, e) = d.apply(fail(), &policy, Timestamp(1)).unwrap();
    assert_eq!((d.state, d.attempt), (DeliveryState::Queued, 1));
    assert_eq!(e[0].name(), "delivery_retry");
    let (d, e) = d.apply(fail(), &policy, Timestamp(2)).unwrap();
    assert_eq!(d.state, DeliveryState::Dead);
    assert_eq!(e[0].name(), "delivery_dead");
    let (d, e) = d.apply(Transition::Replay, &policy, Timestamp(3)).unwrap();
    assert_eq!((d.state, d.attempt), (DeliveryState::Queued, 0));
    assert_eq!(e.len(), 2);
}

#[test]
fn in_flight_and_finished_deliveries_cannot_be_dropped() {
    let d = fresh();
    let (d, _) = step(
        &d,
        Transition::BeginInjection {
            session: "s".into(),
            channel: crate::DeliveryChannel::Pty,
        },
    );
    let err = d
        .apply(
            Transition::Drop {
                reason: REASON_QUEUE_FULL.into(),
            },
            &RetryPolicy::default(),
            Timestamp(2),
        )
        .unwrap_err();
    assert!(err.to_string().contains("injecting"), "{err}");
}

#[test]
fn state_names_round_trip() {
    for s in DeliveryState::ALL {
        assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
    }
}

#[test]
fn delivered_deliveries_become_read_once() {
    let d = fresh();
    let (d, _) = step(
        &d,
        Transition::BeginInjection {
            session: "s".into(),
            channel: crate::DeliveryChannel::Pty,
        },
    );
    assert_eq!(d.channel, Some(crate::DeliveryChannel::Pty));
    let (d, _) = step(&d, Transition::Written);
    let refused = d.apply(
        Transition::Read { channel: None },
        &RetryPolicy::default(),
        Timestamp(2),
    );
    assert!(refused.is_err(), "injected is not yet delivered");
    let (d, _) = step(&d, Transition::Verified);
    let (d, e) = d
        .apply(
            Transition::Read { channel: None },
            &RetryPolicy::default(),
            Timestamp(9),
        )
        .unwrap();
    assert_eq!(d.state, DeliveryState::Read);
    assert_eq!(d.read_at, Some(Timestamp(9)));
    assert_eq!(e[0].name(), "delivery_read");
    assert!(d.state.is_terminal());
    assert!(
        d.apply(
            Transition::Read { channel: None },
            &RetryPolicy::default(),
            Timestamp(10)
        )
        .is_err(),
        "read only once"
    );
}

#[test]
fn a_hook_claims_a_queued_delivery_and_nothing_else() {
    let hook = || Transition::Read {
        channel: Some(crate::DeliveryChannel::Hook),
    };
    let (d, e) = step(&fresh(), hook());
    assert_eq!(d.state, DeliveryState::Read);
    assert_eq!(d.channel, Some(crate::DeliveryChannel::Hook));
    assert!(matches!(
        &e[0],
        EventKind::DeliveryRead {
            channel: crate::DeliveryChannel::Hook,
            ..
        }
    ));
    // Once claimed, the terminal can no longer take it.
    let typed = d.apply(
        Transition::BeginInjection {
            session: "s".into(),
            channel: crate::DeliveryChannel::Pty,
        },
        &RetryPolicy::default(),
        Timestamp(2),
    );
    assert!(typed.is_err());
    // And a delivery being typed cannot be claimed by a hook.
    let (typing, _) = step(
        &fresh(),
        Transition::BeginInjection {
            session: "s".into(),
            channel: crate::DeliveryChannel::Pty,
        },
    );
    assert!(
        typing
            .apply(hook(), &RetryPolicy::default(), Timestamp(2))
            .is_err()
    );
}
