//! End-to-end tests across broker restarts: graceful (SIGTERM) and abrupt
//! (SIGKILL), on the same state directory, with agents respawned from the
//! store and transcripts appended by each agent process.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::stream::SendStream;
use common::{Broker, count_in_transcript, message_id_of, strip_ansi, transcript, wait_for};
use reqwest::Method;
use serde_json::{Value, json};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn idempotency_key_is_remembered_across_a_restart() {
    let tmp = tempdir();
    let mut broker = Broker::start(tmp.path(), &[]);
    broker.spawn_fake("bob", &["--trust-dialog"], &[]);
    let send = |broker: &Broker, body: &str| {
        broker.call(
            broker
                .req(Method::POST, "/v1/messages")
                .header("Idempotency-Key", "k1")
                .json(&json!({"from": "alice", "to": "bob", "body": body})),
        )
    };
    let (status, first) = send(&broker, "deploy when green");
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["duplicate"], json!(false));
    let id = first["message_id"].as_str().expect("id").to_string();
    // Same key again, same run: a duplicate.
    let (status, again) = send(&broker, "deploy when green");
    assert_eq!((status, &again["message_id"]), (200, &json!(id)), "{again}");

    let old_pids = {
        broker.agents();
        broker.seen_agent_pids()
    };
    let status = broker.terminate();
    assert!(status.success(), "{status}\n{}", broker.stderr());
    common::wait_pids_gone(&old_pids);
    drop(broker);

    let broker = Broker::start(tmp.path(), &[]);
    let (status, dup) = send(&broker, "deploy when green");
    assert_eq!(status, 200, "{dup}");
    assert_eq!(dup["duplicate"], json!(true), "{dup}");
    assert_eq!(dup["message_id"], json!(id), "{dup}");
    // Another sender may use the same key: it is a new message.
    let (status, other) = broker.call(
        broker
            .req(Method::POST, "/v1/messages")
            .header("Idempotency-Key", "k1")
            .json(&json!({"from": "carol", "to": "bob", "body": "x"})),
    );
    assert_eq!(status, 201, "{other}");
    assert_ne!(other["message_id"], json!(id));
    // Only one delivery of the original exists.
    assert_eq!(broker.deliveries(&id).len(), 1);
    broker.stop_and_check();
}

#[test]
fn graceful_shutdown_keeps_pending_deliveries_and_the_next_start_delivers_them() {
    let tmp = tempdir();
    let mut broker = Broker::start(tmp.path(), &[]);
    let agent = broker.spawn_fake("bob", &["--trust-dialog"], &["team"]);
    let ids: Vec<String> = (0..3)
        .map(|i| {
            let v = broker.send("alice", "bob", &format!("pending {i}"));
            v["message_id"].as_str().expect("id").to_string()
        })
        .collect();
    assert_eq!(broker.get_ok("/v1/status")["pending"], json!(3));

    let status = broker.terminate();
    assert!(status.success(), "exit {status}\n{}", broker.stderr());
    let log = strip_ansi(&broker.stderr());
    let warn = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("pending"))
        .unwrap_or_else(|| panic!("no warn line about pending deliveries in:\n{log}"));
    assert!(warn.contains("pending=3"), "{warn}");
    common::wait_pids_gone(&[agent.pid]);
    assert!(
        !broker.state_dir.join("connection.json").exists(),
        "a graceful stop removes the connection file"
    );
    drop(broker);

    // Same state dir: the agent comes back by itself from its stored spec.
    let broker = Broker::start(tmp.path(), &[]);
    let agents = broker.agents();
    assert_eq!(agents.len(), 1, "{agents:?}");
    assert_eq!(agents[0]["name"], "bob");
    assert_eq!(agents[0]["channels"], json!(["team"]));
    assert_ne!(agents[0]["pid"], json!(agent.pid), "a new process");
    let started = broker.wait_event("broker_started of the second run", |e| {
        e["type"] == "broker_started" && e["seq"].as_u64() > Some(1)
    });
    assert_eq!(started["pending"], json!(3), "{started}");
    assert!(transcript(&agent.transcript).is_empty());

    broker.accept_trust_dialog("bob");
    for id in &ids {
        broker.wait_verified(id);
    }
    broker.wait_nothing_pending();
    for id in &ids {
        assert_eq!(
            count_in_transcript(&agent.transcript, id),
            1,
            "message {id}"
        );
    }
    // In order, too.
    let order: Vec<String> = transcript(&agent.transcript)
        .iter()
        .filter_map(|t| message_id_of(t))
        .collect();
    assert_eq!(order, ids);
    broker.stop_and_check();
}

/// What happened to each delivery before the kill, from the event log.
#[derive(Debug, Default)]
struct InFlight {
    /// Messages whose delivery was injecting or injected (no outcome yet)
    /// when the broker died.
    at_kill: BTreeSet<String>,
    /// Messages requeued by the restart ("broker restarted ...").
    requeued_by_restart: BTreeSet<String>,
}

fn in_flight(events: &[Value], restart_seq: u64) -> InFlight {
    let mut out = InFlight::default();
    let mut last_state: BTreeMap<String, (String, String)> = BTreeMap::new();
    for e in events {
        let seq = e["seq"].as_u64().unwrap_or(0);
        let kind = e["type"].as_str().unwrap_or_default();
        let delivery = e["delivery_id"].as_str().unwrap_or_default().to_string();
        let message = e["message_id"].as_str().unwrap_or_default().to_string();
        let by_restart =
            kind == "delivery_retry" && e["reason"].as_str().is_some_and(|r| r.contains("restart"));
        if by_restart {
            // Written by the new run before its broker_started event.
            out.requeued_by_restart.insert(message);
        } else if seq < restart_seq && kind.starts_with("delivery_") && !delivery.is_empty() {
            last_state.insert(delivery, (kind.to_string(), message));
        }
    }
    for (kind, message) in last_state.values() {
        if matches!(kind.as_str(), "delivery_injecting" | "delivery_injected") {
            out.at_kill.insert(message.clone());
        }
    }
    out
}

#[test]
fn kill_9_mid_stream_loses_no_acknowledged_message() {
    let tmp = tempdir();
    let mut broker = Broker::start(tmp.path(), &[]);
    let names = ["r0", "r1", "r2"];
    let agents: Vec<_> = names
        .iter()
        .map(|n| broker.spawn_fake(n, &[], &[]))
        .collect();
    for n in names {
        broker.wait_ready(n);
    }

    // Round robin from a background thread, recording every message
    // acknowledged with 201, until the broker stops answering. Enough to be
    // mid-stream at the kill, few enough to drain fast.
    let stream = SendStream::start(
        &broker.url,
        &broker.token,
        names.iter().map(|n| n.to_string()).collect(),
        Duration::ZERO,
        150,
    );
    // Kill once deliveries are flowing and more sends are queued behind them.
    wait_for("30 acknowledged sends and some verified deliveries", || {
        let n = stream.count();
        let verified = broker
            .events()
            .iter()
            .filter(|e| e["type"] == "delivery_verified")
            .count();
        (n >= 30 && verified >= 3).then_some(())
    });
    let old_pids = {
        broker.agents();
        broker.seen_agent_pids()
    };
    let old_url = broker.url.clone();
    broker.crash();
    let acked: Vec<(String, String)> = stream.stop().into_iter().map(|a| (a.id, a.to)).collect();
    // The agents live on in their session hosts: a crash of the broker is
    // not a crash of the agents.
    for pid in &old_pids {
        assert!(common::alive(*pid), "agent {pid} died with the broker");
    }
    drop(broker);

    let broker = Broker::start(tmp.path(), &[]);
    let restart_seq = broker
        .events()
        .iter()
        .filter(|e| e["type"] == "broker_started")
        .filter_map(|e| e["seq"].as_u64())
        .max()
        .expect("broker_started");
    assert_eq!(broker.agents().len(), 3, "agents taken over from the store");
    assert_eq!(
        broker.url, old_url,
        "the same port again, so the surviving agents' COURIER_URL still works"
    );
    // Every agent's session survived and is taken over (not respawned).
    wait_for("the three sessions to be reattached", || {
        let events = broker.events_after(restart_seq);
        let reattached = events
            .iter()
            .filter(|e| e["type"] == "agent_reattached")
            .count();
        let spawned = events
            .iter()
            .filter(|e| e["type"] == "agent_spawned")
            .count();
        assert_eq!(spawned, 0, "an agent was spawned anew: {events:?}");
        (reattached == 3).then_some(())
    });
    common::wait_for_within(
        Duration::from_secs(60),
        "every pending delivery to finish after the restart",
        || (broker.get_ok("/v1/status")["pending"] == json!(0)).then_some(()),
    );

    let events = broker.events();
    let flight = in_flight(&events, restart_seq);
    let mut missing = Vec::new();
    let mut duplicates = Vec::new();
    for (id, to) in &acked {
        let agent = agents.iter().find(|a| &a.name == to).expect("agent");
        match count_in_transcript(&agent.transcript, id) {
            0 => missing.push((id.clone(), to.clone())),
            1 => {}
            n => duplicates.push((id.clone(), to.clone(), n)),
        }
    }
    eprintln!(
        "kill -9 test: {} acked, {} in flight at the kill {:?}, {} requeued by restart, {} duplicates {:?}, {} missing {:?}",
        acked.len(),
        flight.at_kill.len(),
        flight.at_kill,
        flight.requeued_by_restart.len(),
        duplicates.len(),
        duplicates,
        missing.len(),
        missing
    );
    // Exactly once: what was in flight at the kill was settled from the
    // surviving screen, never typed twice, never lost.
    assert!(duplicates.is_empty(), "typed twice: {duplicates:?}");
    assert!(
        missing.is_empty(),
        "acknowledged but never typed: {missing:?}"
    );
    for (id, _) in &acked {
        let ds = broker.deliveries(id);
        assert!(ds.iter().all(|d| d["state"] == "verified"), "{ds:?}");
    }
    broker.agents();
    assert_eq!(
        broker.seen_agent_pids(),
        old_pids,
        "the same agent processes before and after the restart"
    );
    broker.stop_and_check();
}

/// `courier events --follow` (as `ask` and `transcript --follow`, on the
/// same event stream) outlives a kill -9 of its broker even when the next
/// start cannot take the old port again (something else took it): the
/// stream finds the broker on its new port through the state directory's
/// connection file and reads on from where it was.
#[test]
fn a_follow_finds_the_restarted_broker_on_its_new_port() {
    let tmp = tempdir();
    let mut broker = Broker::start(tmp.path(), &[]);
    let state = broker.state_dir.display().to_string();
    let out_path = tmp.path().join("follow.out");
    let mut follow = common::courier_command()
        .args(["--state-dir", &state, "events", "--follow"])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run courier events --follow");
    let started = || {
        let out = std::fs::read_to_string(&out_path).unwrap_or_default();
        out.matches("broker_started").count()
    };
    let seen = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the first broker_started", || {
            (started() == 1).then_some(())
        });
        let first_url = broker.url.clone();
        broker.kill9();
        drop(broker);
        // Another program takes the port (and drops whatever connects).
        let addr = first_url.trim_start_matches("http://").to_string();
        let squatter = std::net::TcpListener::bind(&addr).expect("take the old port");
        std::thread::spawn(move || {
            for conn in squatter.incoming() {
                drop(conn);
            }
        });
        let broker = Broker::start(tmp.path(), &[]);
        assert_ne!(broker.url, first_url, "the restart kept its port");
        wait_for("the second broker's broker_started", || {
            (started() == 2).then_some(())
        });
    }));
    let _ = follow.kill();
    let _ = follow.wait();
    seen.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}
