//! Busy from the screen (issue 19, case 4), end to end through a real
//! broker: an agent whose status line says it works ("esc to interrupt",
//! redrawn once a second, longer than the quiet window) and that merges a
//! message typed mid-turn into the turn it runs. In `idle` mode nothing is
//! typed while the busy line shows; each message becomes its own turn after
//! the work ends. The watchdog calls such a wait busy, not stuck while idle.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// A turn: long enough for three messages sent a second apart to arrive
/// while it runs.
const TURN_MS: &str = "4000";

/// How long a message may wait behind the turns before it (only so a broken
/// build does not hang; not a speed).
const TURNS_WAIT: Duration = Duration::from_secs(90);

const BUSY_LINE: &str = "esc to interrupt";

fn message_id(v: &Value) -> String {
    v["message_id"].as_str().expect("message_id").to_string()
}

/// The fake agent's transcript as JSON lines (`n`, `text`, `turn`, `merged`).
fn turns(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn merging_agent(broker: &Broker, name: &str, extra: &[&str]) -> Vec<String> {
    let mut command = vec![
        EXE.to_string(),
        "fake-agent".to_string(),
        "--transcript".to_string(),
        broker.transcript_path(name).display().to_string(),
        "--merge-while-busy".to_string(),
        "--reply".to_string(),
        "done".to_string(),
    ];
    command.extend(extra.iter().map(|a| a.to_string()));
    command
}

/// Starts a turn with a first message and waits until the working status
/// line is on screen.
fn start_turn(broker: &Broker, name: &str) -> String {
    let first = message_id(&broker.send("human", name, "start working"));
    broker.wait_verified(&first);
    wait_for(&format!("{name}'s working status line"), || {
        broker.screen(name).contains(BUSY_LINE).then_some(())
    });
    first
}

#[test]
fn idle_mode_types_nothing_while_the_status_line_says_working() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let name = "steered";
    let agent = broker.spawn_request(
        &json!({
            "name": name,
            "command": merging_agent(&broker, name, &["--busy-ms", TURN_MS]),
            "busy_patterns": [BUSY_LINE],
        }),
        broker.transcript_path(name),
    );
    broker.wait_ready(name);
    assert_eq!(
        broker.get_ok(&format!("/v1/agents/{name}"))["status"]["mode"],
        "idle"
    );
    let first = start_turn(&broker, name);
    // The status says why it is busy: the line on its screen.
    wait_for(&format!("{name} busy by its status line"), || {
        let status = broker.get_ok(&format!("/v1/agents/{name}"))["status"].clone();
        let working = status["working"].as_str().unwrap_or_default();
        (status["busy"] == true && working.contains(BUSY_LINE)).then_some(())
    });

    // Three messages a second apart while it works (the pause only spaces
    // the sends like the report did; nothing is asserted about time).
    let mut later = Vec::new();
    for n in 1..=3 {
        std::thread::sleep(Duration::from_secs(1));
        later.push(message_id(&broker.send(
            "human",
            name,
            &format!("steer {n}"),
        )));
    }
    for id in &later {
        wait_for_within(TURNS_WAIT, &format!("{id} verified"), || {
            let ds = broker.deliveries(id);
            (!ds.is_empty() && ds.iter().all(|d| d["state"] == "verified")).then_some(())
        });
    }

    let lines = turns(&agent.transcript);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let merged: Vec<&Value> = lines.iter().filter(|l| l["merged"] == true).collect();
    assert!(
        merged.is_empty(),
        "typed into the running turn while the status line said working: {merged:#?}"
    );
    // Each message its own turn, in the order sent.
    let ids: Vec<String> = lines
        .iter()
        .filter_map(|l| message_id_of(l["text"].as_str()?))
        .collect();
    let mut sent = vec![first];
    sent.extend(later);
    assert_eq!(ids, sent, "{lines:#?}");
    let turn_numbers: Vec<u64> = lines.iter().filter_map(|l| l["turn"].as_u64()).collect();
    assert_eq!(turn_numbers, [1, 2, 3, 4], "{lines:#?}");
    broker.stop_and_check();
}

#[test]
fn busy_and_idle_patterns_that_do_not_compile_are_refused_naming_the_field() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    for field in ["busy_patterns", "idle_patterns"] {
        let (status, v) = broker.post(
            "/v1/agents",
            &json!({"name": "bad", "command": ["cat"], field: ["(unclosed"]}),
        );
        assert_eq!(status, 400, "{field}: {v}");
        assert!(v.to_string().contains(field), "{field}: {v}");
    }
    // The same through `courier spawn --busy-pattern`.
    let out = courier_command()
        .args(["--url", &broker.url, "--token", &broker.token])
        .args([
            "spawn",
            "--name",
            "bad",
            "--busy-pattern",
            "(unclosed",
            "--",
            "cat",
        ])
        .output()
        .expect("run courier spawn");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("busy_patterns"), "{stderr}");
    assert!(broker.agents().is_empty());
    broker.stop_and_check();
}

#[test]
fn a_preset_override_names_the_busy_line_and_a_wait_behind_it_is_busy_not_idle() {
    let root = tempfile::tempdir().unwrap();
    let presets = root.path().join("presets.toml");
    let args = merging_agent_args(root.path(), "worker");
    std::fs::write(
        &presets,
        format!(
            "[presets.steerable]\ncommand = {exe:?}\nargs = {args:?}\nbusy_patterns = ['{BUSY_LINE}']\n",
            exe = EXE,
        ),
    )
    .unwrap();
    let broker = Broker::start_with_env(
        root.path(),
        &["--stuck-after-ms", "300", "--busy-stuck-after-ms", "1000"],
        &[("COURIER_PRESETS", presets.to_str().unwrap())],
    );
    let agent = broker.spawn_request(
        &json!({"name": "worker", "preset": "steerable", "cwd": root.path()}),
        broker.transcript_path("worker"),
    );
    broker.wait_ready("worker");
    start_turn(&broker, "worker");
    let second = message_id(&broker.send("human", "worker", "when you are done"));

    // The agent works for ever and its screen is quiet most of the time:
    // the delivery waits, and the watchdog says it waits behind work.
    let stuck = broker.wait_event(&format!("delivery_stuck for {second}"), |e| {
        e["type"] == "delivery_stuck" && e["message_id"] == second
    });
    assert_eq!(stuck["reason"], "agent_busy", "{stuck}");
    assert_eq!(stuck["state"], "queued", "{stuck}");
    let health = broker.get_ok("/healthz");
    let held = health["stuck"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["message_id"] == second))
        .cloned()
        .expect("the second delivery in /healthz");
    assert_eq!(held["reason"], "agent_busy", "{health}");
    let lines = turns(&agent.transcript);
    assert_eq!(lines.len(), 1, "nothing typed into the turn: {lines:#?}");
    broker.stop_and_check();
}

/// The preset's arguments: the fake agent, busy for ever once started.
fn merging_agent_args(root: &std::path::Path, name: &str) -> Vec<String> {
    vec![
        "fake-agent".to_string(),
        "--transcript".to_string(),
        root.join(format!("{name}.jsonl")).display().to_string(),
        "--merge-while-busy".to_string(),
        "--busy-forever".to_string(),
    ]
}
