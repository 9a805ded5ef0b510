//! Soak: steady traffic to several fake agents, some with quirks, then an
//! account of every message: each delivery ends verified, unverified, read,
//! dropped or dead, or was reported stuck — never silently missing.
//!
//! The suite runs a compressed version (~20 s of traffic). For hours:
//! `COURIER_SOAK_SECS=7200 cargo test -p courier --test soak -- --nocapture`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const FINISHED: [&str; 5] = ["verified", "unverified", "read", "dropped", "dead"];

#[test]
fn steady_traffic_leaves_no_message_unaccounted_for() {
    let secs: u64 = std::env::var("COURIER_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(
        root.path(),
        &["--stuck-after-ms", "2000", "--queue-cap", "64"],
    );
    let agents: [(&str, &[&str]); 5] = [
        ("plain", &[]),
        ("line", &["--mode", "line"]),
        ("busy", &["--busy-ms", "150"]),
        ("boxed", &["--border", "--prompt", "❯"]),
        ("hole", &["--black-hole"]),
    ];
    for (name, args) in agents {
        broker.spawn_fake(name, args, &[]);
    }
    for (name, _) in agents {
        broker.wait_ready(name);
    }
    let started = Instant::now();
    let mut sent: Vec<String> = Vec::new();
    let mut n = 0usize;
    while started.elapsed() < Duration::from_secs(secs) {
        // Round robin over the healthy agents; the black hole gets one in 50.
        let to = if n % 50 == 49 {
            "hole"
        } else {
            agents[n % 4].0
        };
        let v = broker.send("soak", to, &format!("soak message {n}\nline two of {n}"));
        sent.push(v["message_id"].as_str().unwrap().to_string());
        n += 1;
        std::thread::sleep(Duration::from_millis(40));
    }
    let traffic = started.elapsed();
    // The plain agent confirms what it read.
    let (status, _) = broker.post("/v1/agents/plain/inbox/read", &json!({}));
    assert_eq!(status, 200);
    // Account for every message: finished, or pending and reported stuck.
    let deadline = Duration::from_secs(120);
    let drain = Instant::now();
    let (states, stuck) = wait_for_within(deadline, "every delivery accounted for", || {
        let stuck: BTreeSet<String> = broker
            .events()
            .into_iter()
            .filter(|e| e["type"] == "delivery_stuck")
            .filter_map(|e| e["delivery_id"].as_str().map(str::to_string))
            .collect();
        let mut states: BTreeMap<String, usize> = BTreeMap::new();
        let mut unaccounted = 0;
        for id in &sent {
            let ds: Vec<Value> = broker.deliveries(id);
            assert_eq!(ds.len(), 1, "message {id} has its delivery");
            let d = &ds[0];
            let state = d["state"].as_str().unwrap_or("?").to_string();
            let reported = stuck.contains(d["id"].as_str().unwrap_or(""));
            if !FINISHED.contains(&state.as_str()) && !reported {
                unaccounted += 1;
            }
            *states.entry(state).or_default() += 1;
        }
        (unaccounted == 0).then_some((states, stuck))
    });
    let total: usize = states.values().sum();
    assert_eq!(total, sent.len());
    let healthy_verified =
        states.get("verified").copied().unwrap_or(0) + states.get("read").copied().unwrap_or(0);
    println!(
        "soak: {} cores, {:.1} s of traffic, {} messages ({:.1}/s), drained in {:.1} s",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        traffic.as_secs_f64(),
        sent.len(),
        sent.len() as f64 / traffic.as_secs_f64(),
        drain.elapsed().as_secs_f64()
    );
    println!(
        "soak: final states {states:?}; reported stuck {}",
        stuck.len()
    );
    // The quirky black hole is the only one allowed to end without proof.
    assert!(
        healthy_verified * 10 >= (sent.len() - sent.len() / 50) * 9,
        "most deliveries to healthy agents are proven: {states:?}"
    );
    broker.stop_and_check();
}
