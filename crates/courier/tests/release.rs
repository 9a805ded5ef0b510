//! Releasing agents and spawning them concurrently, over real HTTP with
//! real PTYs: nothing waits for an agent that is gone, and one name is one
//! agent even when two spawns race.

mod common;

use common::{Broker, wait_for};
use serde_json::{Value, json};

fn state(broker: &Broker, message_id: &str) -> (String, String) {
    let d = &broker.deliveries(message_id)[0];
    (
        d["state"].as_str().unwrap_or_default().to_string(),
        d["reason"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn a_released_agent_leaves_dead_letters_not_waiting_deliveries() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    // Behind its trust dialog the agent never takes a delivery: both stay queued.
    broker.spawn_fake("held", &["--trust-dialog"], &[]);
    // A black hole takes one and keeps it in flight for its echo window.
    broker.spawn_fake("hole", &["--black-hole"], &[]);
    broker.wait_ready("hole");
    let queued: Vec<String> = (0..2)
        .map(|i| {
            broker.send("human", "held", &format!("queued {i}"))["message_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let flying = broker.send("human", "hole", "in flight")["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for("the black hole's delivery in flight", || {
        (state(&broker, &flying).0 == "injecting").then_some(())
    });
    for name in ["held", "hole"] {
        let (status, body) = broker.delete(&format!("/v1/agents/{name}"));
        assert!(
            (200..300).contains(&status),
            "release {name}: {status} {body}"
        );
    }
    for id in &queued {
        assert_eq!(
            state(&broker, id),
            ("dropped".into(), "agent_released".into())
        );
    }
    let (flying_state, reason) = state(&broker, &flying);
    assert!(
        flying_state == "dropped" || flying_state == "unverified",
        "in flight at release: {flying_state} ({reason})"
    );
    assert!(reason.starts_with("agent_released"), "{reason}");
    assert_eq!(broker.get_ok("/v1/status")["pending"], json!(0));
    let dead = broker.get_ok("/v1/dlq");
    let listed = dead["dead_letters"].as_array().map_or(0, Vec::len);
    assert!(
        listed >= 2,
        "the released agent's deliveries are dead letters: {dead}"
    );
    broker.stop_and_check();
}

#[test]
fn two_spawns_of_one_name_start_one_agent() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let exe = env!("CARGO_BIN_EXE_courier");
    let statuses: Vec<(u16, Value)> = std::thread::scope(|s| {
        let spawns: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    broker.post(
                        "/v1/agents",
                        &json!({"name": "twin", "command": [exe, "fake-agent"]}),
                    )
                })
            })
            .collect();
        spawns.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = statuses.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{statuses:?}");
    for (status, body) in statuses.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 409, "{body}");
    }
    let spawned = broker
        .events()
        .into_iter()
        .filter(|e| e["type"] == "agent_spawned" && e["name"] == "twin")
        .count();
    assert_eq!(spawned, 1, "one process for one name");
    broker.stop_and_check();
}
