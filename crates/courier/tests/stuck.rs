//! Nothing waits silently, end to end: a queued delivery whose agent never
//! becomes ready, or whose ready agent works forever, is reported stuck
//! (`delivery_stuck` with its reason, `/healthz` degraded, `/v1/status`,
//! `/metrics` and `courier status`) through a real broker and real PTYs.
//!
//! The bounds are small so the tests are fast; every wait polls with a
//! generous deadline, nothing asserts on elapsed time.

mod common;

use common::*;
use reqwest::Method;
use serde_json::Value;

fn message_id(v: &Value) -> String {
    v["message_id"].as_str().expect("message_id").to_string()
}

/// Spawns a raw command (no fake agent, no transcript).
fn spawn_raw(broker: &Broker, name: &str, script: &str) -> Agent {
    // Under bash (not `sh`, not a bare `sleep`) so a failed test's cleanup
    // recognises the process group as ours; `; exit` keeps bash from
    // exec'ing the last command away.
    let command = vec!["bash".to_string(), "-c".to_string(), script.to_string()];
    broker.spawn_command(name, command, &[], broker.transcript_path(name))
}

/// The `delivery_stuck` events about message `id`.
fn stuck_events(broker: &Broker, id: &str) -> Vec<Value> {
    broker
        .events()
        .into_iter()
        .filter(|e| e["type"] == "delivery_stuck" && e["message_id"] == id)
        .collect()
}

fn wait_stuck(broker: &Broker, id: &str) -> Value {
    broker.wait_event(&format!("delivery_stuck for {id}"), |e| {
        e["type"] == "delivery_stuck" && e["message_id"] == id
    })
}

/// The entry for message `id` in a stuck list (`/healthz`, `/v1/status`).
fn entry<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|s| s["message_id"] == id)
}

fn metrics(broker: &Broker) -> String {
    broker
        .req(Method::GET, "/metrics")
        .send()
        .expect("GET /metrics")
        .text()
        .expect("metrics text")
}

/// The value of one series in the Prometheus text.
fn series(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_message_to_an_agent_that_never_gets_ready_is_reported_stuck() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &["--stuck-after-ms", "500"]);
    // Draws nothing at all (ready only by the 15 s fallback, long after the
    // bound), and a CLI waiting at a sign-in screen (never ready: no
    // fallback lifts a known dialog).
    spawn_raw(&broker, "mute", "sleep 1000; exit");
    spawn_raw(
        &broker,
        "login",
        "printf 'Sign in to continue\\n'; sleep 1000; exit",
    );
    wait_for("login's sign-in screen", || {
        broker
            .screen("login")
            .contains("Sign in to continue")
            .then_some(())
    });
    let to_mute = message_id(&broker.send("human", "mute", "are you there?"));
    let to_login = message_id(&broker.send("human", "login", "after you sign in"));

    let stuck = wait_stuck(&broker, &to_mute);
    assert_eq!(stuck["reason"], "agent_not_ready", "{stuck}");
    assert_eq!(stuck["state"], "queued", "{stuck}");
    assert_eq!(stuck["agent"], "mute");
    assert!(stuck["waited_ms"].as_u64().unwrap() >= 500, "{stuck}");
    assert!(
        stuck["screen"].is_array(),
        "the excerpt is there even for a blank screen: {stuck}"
    );

    let stuck = wait_stuck(&broker, &to_login);
    assert_eq!(stuck["reason"], "agent_not_ready", "{stuck}");
    assert_eq!(stuck["state"], "queued", "{stuck}");
    let screen: Vec<&str> = stuck["screen"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        screen.iter().any(|r| r.contains("Sign in to continue")),
        "the excerpt shows what holds the agent: {stuck}"
    );

    // Health is degraded while it waits, with the reason and no screen text.
    let health = broker.get_ok("/healthz");
    assert_eq!(health["status"], "degraded", "{health}");
    let held = entry(&health["stuck"], &to_login).expect("login's delivery in /healthz");
    assert_eq!(held["reason"], "agent_not_ready", "{health}");
    assert_eq!(held["agent"], "login");
    assert!(
        held["why"].as_str().unwrap().contains("not ready"),
        "{health}"
    );
    assert!(held.get("screen").is_none(), "no screen rows: {health}");
    let status = broker.get_ok("/v1/status");
    let held = entry(&status["stuck"], &to_login).expect("login's delivery in /v1/status");
    assert_eq!(held["reason"], "agent_not_ready", "{status}");
    assert!(
        !held["screen"].as_array().unwrap().is_empty(),
        "the authenticated status has the excerpt: {status}"
    );
    let text = metrics(&broker);
    let not_ready = series(
        &text,
        "courier_deliveries_stuck_by_reason{reason=\"agent_not_ready\"}",
    );
    assert!(not_ready.is_some_and(|n| n >= 1), "{text}");
    let out = courier_command()
        .args(["--url", &broker.url, "--token", &broker.token, "status"])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("DEGRADED") && printed.contains("agent_not_ready"),
        "{printed}"
    );

    // One report each for this wait (the sign-in screen never lifts; the
    // mute agent's may end by the fallback, with another reason).
    assert_eq!(stuck_events(&broker, &to_login).len(), 1);
    let mute_not_ready = stuck_events(&broker, &to_mute)
        .iter()
        .filter(|e| e["reason"] == "agent_not_ready")
        .count();
    assert_eq!(mute_not_ready, 1);
    broker.stop_and_check();
}

#[test]
fn a_message_behind_an_agent_busy_forever_is_reported_stuck_after_the_busy_bound() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(
        root.path(),
        &["--stuck-after-ms", "500", "--busy-stuck-after-ms", "1000"],
    );
    // Ready at its prompt; the first line it reads starts work that never
    // ends (output every 20 ms, well inside the 150 ms quiet window).
    spawn_raw(
        &broker,
        "worker",
        "printf '$ '; read x; while :; do echo working; sleep 0.02; done; exit",
    );
    broker.wait_ready("worker");
    let first = message_id(&broker.send("human", "worker", "start working"));
    broker.wait_verified(&first);
    wait_for("worker busy", || {
        (broker.get_ok("/v1/agents/worker")["status"]["busy"] == true).then_some(())
    });
    let second = message_id(&broker.send("human", "worker", "when you are done"));

    let stuck = wait_stuck(&broker, &second);
    assert_eq!(stuck["reason"], "agent_busy", "{stuck}");
    assert_eq!(stuck["state"], "queued", "{stuck}");
    assert_eq!(stuck["agent"], "worker");
    assert!(stuck["waited_ms"].as_u64().unwrap() >= 1000, "{stuck}");
    assert!(
        stuck["screen"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("working"))),
        "the excerpt shows the agent at work: {stuck}"
    );

    let health = broker.get_ok("/healthz");
    assert_eq!(health["status"], "degraded", "{health}");
    let held = entry(&health["stuck"], &second).expect("the second delivery in /healthz");
    assert_eq!(held["reason"], "agent_busy", "{health}");
    assert!(held["why"].as_str().unwrap().contains("busy"), "{health}");
    let text = metrics(&broker);
    assert_eq!(
        series(
            &text,
            "courier_deliveries_stuck_by_reason{reason=\"agent_busy\"}"
        ),
        Some(1),
        "{text}"
    );
    assert_eq!(broker.deliveries(&second)[0]["state"], "queued");
    // Still busy, still held: reported once.
    assert_eq!(stuck_events(&broker, &second).len(), 1);
    broker.stop_and_check();
}
