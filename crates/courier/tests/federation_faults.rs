//! Federation under faults (issue #14): while host h1 streams acknowledged
//! sends to two agents of host h2, one part of the system fails — the
//! receiving broker, the sending broker (also while cut off), the
//! nats-server, or one broker's link to it — and comes back. Whatever
//! failed, every send h1 acknowledged is typed exactly once into its agent
//! on h2 (the agents' transcripts), committed once by h2, and ends verified
//! at h1, whose log shows its hand-over and its end once each.
//!
//! Needs a nats-server: scripts/test.sh provides it (COURIER_NATS_SERVER).

mod common;

use std::time::Duration;

use common::federation::{AWAY_WITHIN, Federation, Host, assert_exactly_once_and_verified};
use common::nats::CutProxy;
use common::stream::{Acked, SendStream};
use common::{Agent, wait_for, wait_for_within};

/// Sends per test: enough to be mid-stream at the fault, few enough to
/// drain in seconds.
const SENDS: usize = 40;
/// Between two sends: the stream lasts a few seconds, so the fault lands
/// in the middle of it.
const PAUSE: Duration = Duration::from_millis(50);

/// bob and carl on h2 (two agents, so typing on h2 runs two at a time),
/// ready and listed on h1.
fn receivers(fed: &Federation) -> (Agent, Agent) {
    let h2 = fed.host("h2");
    let bob = h2.spawn_fake("bob", &[], &[]);
    let carl = h2.spawn_fake("carl", &[], &[]);
    for agent in [&bob, &carl] {
        h2.wait_ready(&agent.name);
        fed.host("h1")
            .wait_remote_agent(&agent.name, "h2", "active");
    }
    (bob, carl)
}

fn stream_from(sender: &Host) -> SendStream {
    SendStream::start(
        &sender.url,
        &sender.token,
        vec!["bob".into(), "carl".into()],
        PAUSE,
        SENDS,
    )
}

/// Deliveries that ended verified, as `host`'s event log tells.
fn verified_count(host: &Host) -> usize {
    host.events()
        .iter()
        .filter(|e| e["type"] == "delivery_verified")
        .count()
}

/// Waits until the stream is well under way: some sends acknowledged and
/// some already verified at the sender, more to come.
fn wait_mid_stream(sender: &Host, stream: &SendStream) -> usize {
    wait_for("10 acknowledged sends, 3 of them verified", || {
        (stream.count() >= 10 && verified_count(sender) >= 3).then_some(())
    });
    let at_fault = stream.count();
    assert!(
        at_fault < SENDS,
        "the stream ended before the fault: raise SENDS"
    );
    at_fault
}

/// Waits for `more` sends acknowledged after `at_fault`: the sender
/// commits them locally whatever happens beyond it.
fn wait_acked_during_fault(stream: &SendStream, at_fault: usize, more: usize, fault: &str) {
    wait_for(
        &format!("{more} more sends acknowledged by the sender while {fault}"),
        || (stream.count() >= at_fault + more).then_some(()),
    );
}

fn finish(stream: SendStream) -> Vec<Acked> {
    wait_for_within(
        Duration::from_secs(60),
        "the stream of sends to end",
        || stream.finished().then_some(()),
    );
    stream.stop()
}

/// `n` sends from `sender`, alternately to bob and carl, each acknowledged.
fn send_n(sender: &Host, n: usize, what: &str) -> Vec<Acked> {
    (0..n)
        .map(|i| {
            let to = if i % 2 == 0 { "bob" } else { "carl" };
            let v = sender.send("human", to, &format!("{what} {i}"));
            let id = v["message_id"].as_str().expect("message id").to_string();
            Acked {
                id,
                to: to.to_string(),
            }
        })
        .collect()
}

#[test]
fn kill_9_of_the_receiving_broker_mid_stream_types_every_acknowledged_send_once() {
    let mut fed = Federation::start(&["h1", "h2"]);
    let (bob, carl) = receivers(&fed);
    let stream = stream_from(fed.host("h1"));
    let at_fault = wait_mid_stream(fed.host("h1"), &stream);

    fed.host_mut("h2").crash();
    let h1 = fed.host("h1");
    wait_acked_during_fault(&stream, at_fault, 5, "h2 is down");
    // Away within ~10 s on the other host, not forgotten.
    h1.wait_remote_agent_within(AWAY_WITHIN, "bob", "h2", "away");
    h1.wait_peer("h2", "away");
    let acked = finish(stream);
    assert_eq!(acked.len(), SENDS, "h1 acknowledged every send");

    fed.host_mut("h2").restart();
    let h1 = fed.host("h1");
    h1.wait_remote_agent("bob", "h2", "active");
    h1.wait_peer("h2", "active");
    eprintln!("receiver killed after {at_fault} of {} sends", acked.len());
    assert_exactly_once_and_verified(h1, fed.host("h2"), &[&bob, &carl], &acked);
}

#[test]
fn kill_9_of_the_sending_broker_mid_stream_types_every_acknowledged_send_once() {
    let mut fed = Federation::start(&["h1", "h2"]);
    let (bob, carl) = receivers(&fed);
    let stream = stream_from(fed.host("h1"));
    let at_fault = wait_mid_stream(fed.host("h1"), &stream);

    fed.host_mut("h1").crash();
    // The stream ends at its first refused send: what it holds is exactly
    // what h1 acknowledged before it died.
    let mut acked = stream.stop();
    fed.host_mut("h1").restart();
    let h1 = fed.host("h1");
    h1.wait_connected(true);
    // The restarted sender goes on sending too.
    acked.extend(send_n(h1, 4, "after the restart"));
    eprintln!(
        "sender killed after {at_fault} sends ({} acknowledged in all)",
        acked.len()
    );
    assert_exactly_once_and_verified(h1, fed.host("h2"), &[&bob, &carl], &acked);
}

#[test]
fn kill_9_and_restart_of_nats_mid_stream_types_every_acknowledged_send_once() {
    let mut fed = Federation::start(&["h1", "h2"]);
    let (bob, carl) = receivers(&fed);
    let stream = stream_from(fed.host("h1"));
    let at_fault = wait_mid_stream(fed.host("h1"), &stream);

    fed.nats.kill9();
    fed.host("h1").wait_connected(false);
    wait_acked_during_fault(&stream, at_fault, 5, "NATS is down");
    // Same port, same JetStream store (fsync'd on every write).
    fed.nats.restart();
    for host in &fed.hosts {
        host.wait_connected(true);
    }
    let acked = finish(stream);
    eprintln!("NATS killed after {at_fault} of {} sends", acked.len());
    assert_exactly_once_and_verified(fed.host("h1"), fed.host("h2"), &[&bob, &carl], &acked);
}

#[test]
fn a_sender_cut_off_from_nats_acknowledges_sends_and_delivers_them_once_healed() {
    let (proxy, fed) = with_one_host_behind_a_proxy("h1");
    let (bob, carl) = receivers(&fed);
    let (h1, h2) = (fed.host("h1"), fed.host("h2"));

    let stream = stream_from(h1);
    let at_fault = wait_mid_stream(h1, &stream);
    proxy.cut();
    h1.wait_connected(false);
    wait_acked_during_fault(&stream, at_fault, 5, "h1 is cut off from NATS");
    let pending = h1.federation()["pending_forwards"].as_u64();
    assert!(
        pending.is_some_and(|n| n > 0),
        "sends acknowledged while cut off wait to be forwarded: {}",
        h1.federation()
    );
    // h2 still hears NATS but no longer h1.
    h2.wait_remote_agent_within(AWAY_WITHIN, "alice", "h1", "away");
    h2.wait_peer("h1", "away");

    proxy.heal();
    h1.wait_connected(true);
    h2.wait_remote_agent("alice", "h1", "active");
    h2.wait_peer("h1", "active");
    let acked = finish(stream);
    eprintln!("h1 cut off after {at_fault} of {} sends", acked.len());
    assert_exactly_once_and_verified(h1, h2, &[&bob, &carl], &acked);
}

#[test]
fn a_receiver_cut_off_from_nats_gets_every_acknowledged_send_once_healed() {
    let (proxy, fed) = with_one_host_behind_a_proxy("h2");
    let (bob, carl) = receivers(&fed);
    let (h1, h2) = (fed.host("h1"), fed.host("h2"));

    let stream = stream_from(h1);
    let at_fault = wait_mid_stream(h1, &stream);
    proxy.cut();
    h2.wait_connected(false);
    wait_acked_during_fault(&stream, at_fault, 5, "h2 is cut off from NATS");
    // Its agents stay listed on h1, away.
    h1.wait_remote_agent_within(AWAY_WITHIN, "bob", "h2", "away");
    h1.wait_peer("h2", "away");

    proxy.heal();
    h2.wait_connected(true);
    h1.wait_remote_agent("bob", "h2", "active");
    h1.wait_peer("h2", "active");
    let acked = finish(stream);
    eprintln!("h2 cut off after {at_fault} of {} sends", acked.len());
    assert_exactly_once_and_verified(h1, h2, &[&bob, &carl], &acked);
}

#[test]
fn a_sender_that_crashes_while_cut_off_forwards_what_it_acknowledged_after_its_restart() {
    let (proxy, mut fed) = with_one_host_behind_a_proxy("h1");
    let (bob, carl) = receivers(&fed);
    let mut acked = send_n(fed.host("h1"), 4, "before the cut");
    proxy.cut();
    fed.host("h1").wait_connected(false);
    // Committed at h1, which cannot forward them: only its store has them
    // when it dies.
    acked.extend(send_n(fed.host("h1"), 6, "while cut off"));
    let status = fed.host("h1").federation();
    assert!(
        status["pending_forwards"].as_u64().is_some_and(|n| n >= 6),
        "six sends wait to be forwarded: {status}"
    );
    fed.host_mut("h1").crash();
    proxy.heal();
    fed.host_mut("h1").restart();
    let h1 = fed.host("h1");
    h1.wait_connected(true);
    acked.extend(send_n(h1, 2, "after the restart"));
    assert_exactly_once_and_verified(h1, fed.host("h2"), &[&bob, &carl], &acked);
}

/// h1 and h2 joined, `behind` through a [`CutProxy`] and the other one
/// directly; alice on h1 makes h1's presence visible on h2 (bob and carl,
/// spawned later by [`receivers`], do the same for h2). The proxy comes
/// first so that a test's brokers, bound after it, stop before it does.
fn with_one_host_behind_a_proxy(behind: &str) -> (CutProxy, Federation) {
    let mut fed = Federation::empty();
    let proxy = CutProxy::start(fed.nats.port);
    for id in ["h1", "h2"] {
        let url = if id == behind {
            proxy.url()
        } else {
            fed.nats.url()
        };
        fed.add_host(id, &url);
    }
    fed.wait_joined();
    let h1 = fed.host("h1");
    let alice = h1.spawn_fake("alice", &[], &[]);
    h1.wait_ready(&alice.name);
    fed.host("h2").wait_remote_agent("alice", "h1", "active");
    (proxy, fed)
}
