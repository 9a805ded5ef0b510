//! Beyond the screen, end to end: delivery modes that survive restarts, read
//! receipts through the API and `courier inbox`, deliveries handed over by a
//! CLI hook (`courier hook`) exactly once and never typed, and the watchdog
//! that reports a swallowing agent's stuck delivery.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn agent_json(broker: &Broker, name: &str) -> Value {
    broker.get_ok(&format!("/v1/agents/{name}"))
}

fn state_of(broker: &Broker, message_id: &str) -> String {
    broker.deliveries(message_id)[0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The agent's own `COURIER_TOKEN`, read from its process environment (what
/// a hook command started by that agent's CLI inherits).
fn agent_token(pid: u32) -> String {
    common::environ_var(pid, "COURIER_TOKEN").expect("agent has COURIER_TOKEN")
}

#[test]
fn every_mode_survives_a_restart_and_manual_holds_until_flushed() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let bob = broker.spawn_fake("bob", &[], &[]);
    broker.wait_ready("bob");
    assert_eq!(agent_json(&broker, "bob")["mode"], "idle");
    broker.set_mode("bob", "manual");
    wait_for("bob in manual mode", || {
        (agent_json(&broker, "bob")["status"]["mode"] == "manual").then_some(())
    });
    let id = broker.send("human", "bob", "held for later")["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Held: still queued after a while during which an idle agent would have
    // received it many times over.
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(state_of(&broker, &id), "queued");
    assert_eq!(count_in_transcript(&bob.transcript, &id), 0);
    broker.stop_and_check();

    // Restart: still manual, still held.
    let broker = Broker::start(root.path(), &[]);
    broker.wait_ready("bob");
    assert_eq!(agent_json(&broker, "bob")["mode"], "manual");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(state_of(&broker, &id), "queued");
    let out = courier_command()
        .args([
            "--url",
            &broker.url,
            "--token",
            &broker.token,
            "flush",
            "bob",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 queued"));
    broker.wait_verified(&id);
    assert_eq!(count_in_transcript(&bob.transcript, &id), 1);
    assert!(
        broker
            .events()
            .iter()
            .any(|e| e["type"] == "agent_flushed" && e["count"] == 1)
    );

    // Immediate, through the CLI, survives a restart too; then back to idle.
    let out = courier_command()
        .args([
            "--url",
            &broker.url,
            "--token",
            &broker.token,
            "mode",
            "bob",
            "immediate",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    broker.stop_and_check();
    let broker = Broker::start(root.path(), &[]);
    broker.wait_ready("bob");
    assert_eq!(agent_json(&broker, "bob")["mode"], "immediate");
    let id = broker.send("human", "bob", "right now")["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    broker.wait_verified(&id);
    broker.set_mode("bob", "idle");
    broker.stop_and_check();
    let broker = Broker::start(root.path(), &[]);
    assert_eq!(agent_json(&broker, "bob")["mode"], "idle");
    let (status, v) = broker.call(
        broker
            .req(Method::PUT, "/v1/agents/bob/mode")
            .json(&json!({"mode": "sometimes"})),
    );
    assert_eq!(status, 422, "{v}");
    broker.stop_and_check();
}

#[test]
fn readers_are_shown_to_senders_and_only_the_agent_or_owner_marks() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let alice = broker.spawn_fake("alice", &[], &[]);
    broker.spawn_fake("bob", &[], &[]);
    broker.wait_ready("alice");
    broker.wait_ready("bob");
    let id = broker.send("carol", "*", "please read me")["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    broker.wait_verified(&id);
    // Alice's own token cannot mark Bob's inbox.
    let alice_token = agent_token(alice.pid);
    let (status, v) = broker.call(
        broker
            .http()
            .post(format!("{}/v1/agents/bob/inbox/read", broker.url))
            .bearer_auth(&alice_token)
            .json(&json!({})),
    );
    assert_eq!(status, 403, "{v}");
    // Alice reads her inbox with the CLI, from her "shell".
    let out = courier_command()
        .args(["--url", &broker.url, "--token", &alice_token, "inbox"])
        .env("COURIER_AGENT", "alice")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("please read me"), "{stdout}");
    assert!(stdout.contains("1 marked read"), "{stdout}");
    let v = broker.get_ok(&format!("/v1/messages/{id}"));
    assert_eq!(v["read_by"], json!(["alice"]));
    let by_agent = |name: &str| {
        v["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["agent"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_agent("alice")["state"], "read");
    assert_eq!(by_agent("alice")["channel"], "pty");
    assert!(by_agent("alice")["read_at"].is_string());
    assert!(by_agent("bob")["read_at"].is_null());
    // The sender's view in the CLI names the reader.
    let out = courier_command()
        .args([
            "--url",
            &broker.url,
            "--token",
            &broker.token,
            "message",
            &id,
        ])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("READ AT"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("alice") && l.contains("read")),
        "{table}"
    );
    // Reading again marks nothing new; one delivery_read event in all.
    let (status, v) = broker.post("/v1/agents/alice/inbox/read", &json!({}));
    assert_eq!(
        (status, v["marked"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    let reads = broker
        .events()
        .into_iter()
        .filter(|e| e["type"] == "delivery_read")
        .count();
    assert_eq!(reads, 1);
    broker.stop_and_check();
}

/// Runs `courier hook EVENT` the way Claude Code runs a command hook: the
/// documented JSON on stdin, the agent's environment.
fn run_hook(broker: &Broker, pid: u32, event: &str, input: &Value) -> (bool, String) {
    let mut child = courier_command()
        .args(["hook", event])
        .env("COURIER_URL", &broker.url)
        .env("COURIER_AGENT", "bob")
        .env("COURIER_TOKEN", agent_token(pid))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn a_hook_hands_pending_messages_over_as_context_exactly_once_and_nothing_is_typed() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let transcript = broker.transcript_path("bob");
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({
            "name": "bob",
            "command": [EXE, "fake-agent", "--transcript", transcript.display().to_string()],
            "delivery": "hooks",
        }),
    );
    assert_eq!(status, 201, "{v}");
    let pid = v["pid"].as_u64().unwrap() as u32;
    broker.wait_ready("bob");
    let id = broker.send("alice", "bob", "context, not keystrokes")["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Claude Code's documented UserPromptSubmit input.
    let input = json!({
        "session_id": "abc123",
        "transcript_path": "/home/user/.claude/projects/p/abc123.jsonl",
        "cwd": "/work/project",
        "hook_event_name": "UserPromptSubmit",
        "prompt": "carry on",
    });
    let (ok, out) = run_hook(&broker, pid, "UserPromptSubmit", &input);
    assert!(ok, "{out}");
    let output: Value = serde_json::from_str(out.trim()).expect("hook prints one JSON object");
    let keys: Vec<&String> = output.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["hookSpecificOutput"]);
    let specific = &output["hookSpecificOutput"];
    assert_eq!(specific["hookEventName"], "UserPromptSubmit");
    let context = specific["additionalContext"].as_str().unwrap();
    assert!(context.contains("context, not keystrokes"), "{context}");
    assert!(context.contains(&format!("msg {id}")), "{context}");
    assert_eq!(context.matches("context, not keystrokes").count(), 1);
    // Exactly once: the next hook has nothing to add and prints nothing.
    let (ok, again) = run_hook(&broker, pid, "UserPromptSubmit", &input);
    assert!(ok && again.trim().is_empty(), "{again}");
    let d = &broker.deliveries(&id)[0];
    assert_eq!(
        (d["state"].as_str(), d["channel"].as_str()),
        (Some("read"), Some("hook"))
    );
    // A Stop hook with something pending asks the model to go on with it, once.
    let id2 = broker.send("alice", "bob", "one more")["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let stop = json!({"session_id": "abc123", "transcript_path": "/t", "cwd": "/w",
        "hook_event_name": "Stop", "stop_hook_active": false});
    let (ok, out) = run_hook(&broker, pid, "Stop", &stop);
    assert!(ok, "{out}");
    let output: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(output["decision"], "block");
    assert!(output["reason"].as_str().unwrap().contains("one more"));
    assert_eq!(broker.deliveries(&id2)[0]["channel"], "hook");
    // Never typed into the terminal.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count_in_transcript(&transcript, &id), 0);
    assert_eq!(count_in_transcript(&transcript, &id2), 0);
    assert!(!broker.screen("bob").contains("context, not keystrokes"));
    assert!(
        !broker
            .events()
            .iter()
            .any(|e| e["type"] == "delivery_injecting")
    );
    broker.stop_and_check();
}

#[test]
fn a_swallowing_agent_is_reported_stuck_within_the_bound_and_health_degrades() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &["--stuck-after-ms", "700"]);
    broker.spawn_fake("hole", &["--black-hole"], &[]);
    broker.wait_ready("hole");
    assert_eq!(broker.get_ok("/healthz")["status"], "ok");
    let id = broker.send("human", "hole", "into the void")["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let stuck = broker.wait_event("delivery_stuck", |e| e["type"] == "delivery_stuck");
    assert_eq!(stuck["message_id"], id.as_str());
    assert_eq!(stuck["agent"], "hole");
    assert_eq!(stuck["reason"], "in_flight", "{stuck}");
    assert!(stuck["waited_ms"].as_u64().unwrap() >= 700);
    assert!(
        !stuck["screen"].as_array().unwrap().is_empty(),
        "the excerpt shows the screen"
    );
    // Detected while the delivery is still unresolved (its windows last ~9 s).
    let injecting = broker.wait_event("injecting", |e| e["type"] == "delivery_injecting");
    let t =
        |e: &Value| courier_core::Timestamp::parse_rfc3339(e["time"].as_str().unwrap()).unwrap();
    let lag = t(&stuck).millis_since(t(&injecting));
    // Generous: only "before the delivery could end" is meant, not a speed.
    assert!(lag < 9_000, "stuck reported {lag} ms after injecting");
    let health = broker.get_ok("/healthz");
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["stuck"][0]["agent"], "hole");
    assert_eq!(health["stuck"][0]["reason"], "in_flight", "{health}");
    assert!(
        health["stuck"][0].get("screen").is_none(),
        "no screen rows without a token: {health}"
    );
    let status = broker.get_ok("/v1/status");
    assert!(
        !status["stuck"][0]["screen"].as_array().unwrap().is_empty(),
        "the authenticated status has the excerpt: {status}"
    );
    let (_, metrics) = (
        0,
        broker
            .req(Method::GET, "/metrics")
            .send()
            .unwrap()
            .text()
            .unwrap(),
    );
    assert!(metrics.contains("courier_deliveries_stuck 1"), "{metrics}");
    assert!(
        metrics.contains("courier_deliveries_stuck_total 1"),
        "{metrics}"
    );
    let out = courier_command()
        .args(["--url", &broker.url, "--token", &broker.token, "status"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains("DEGRADED") && status.contains("hole") && status.contains("in_flight"),
        "{status}"
    );
    // Once the delivery resolves (unverified: no echo), health is ok again
    // and the stuck delivery was reported exactly once.
    wait_for("the swallowed delivery to end", || {
        (state_of(&broker, &id) != "injecting" && state_of(&broker, &id) != "injected")
            .then_some(())
    });
    wait_for("health ok again", || {
        (broker.get_ok("/healthz")["status"] == "ok").then_some(())
    });
    let reports = broker
        .events()
        .into_iter()
        .filter(|e| e["type"] == "delivery_stuck" && e["message_id"] == id.as_str())
        .count();
    assert_eq!(reports, 1);
    broker.stop_and_check();
}
