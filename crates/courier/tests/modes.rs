//! Delivery modes end to end, on every channel: `courier hook` outside
//! Courier does nothing and breaks nothing, `manual` holds deliveries from
//! hooks too until a flush lets them through, `idle` waits out a long busy
//! period instead of failing the delivery, `immediate` types while the agent
//! works.

mod common;

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// Longer than the terminal's 20 s ready timeout, so an `idle` delivery
/// claimed while the agent works would fail once before the agent is idle.
const LONG_BUSY_MS: &str = "23000";

/// How long a delivery waiting out [`LONG_BUSY_MS`] may take (only so a
/// broken build does not hang; not a speed).
const LONG_WAIT: Duration = Duration::from_secs(60);

/// The agent's own `COURIER_TOKEN`, read from its process environment (what
/// a hook command started by that agent's CLI inherits).
fn agent_token(pid: u32) -> String {
    common::environ_var(pid, "COURIER_TOKEN").expect("agent has COURIER_TOKEN")
}

/// Runs `courier hook EVENT` with exactly the environment `env` (nothing
/// inherited) and Claude Code's documented JSON on stdin.
fn hook_with_env(event: &str, env: &[(&str, &str)]) -> Output {
    let input = json!({
        "session_id": "abc123",
        "transcript_path": "/home/user/.claude/projects/p/abc123.jsonl",
        "cwd": "/work/project",
        "hook_event_name": event,
        "prompt": "carry on",
    });
    let mut child = std::process::Command::new(EXE)
        .args(["hook", event])
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn courier hook");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write the hook's input");
    child.wait_with_output().expect("courier hook ends")
}

/// The hook as agent `name` of `broker` runs it: (exit 0, stdout).
fn agent_hook(broker: &Broker, name: &str, pid: u32) -> (bool, String) {
    let token = agent_token(pid);
    let out = hook_with_env(
        "UserPromptSubmit",
        &[
            ("COURIER_URL", &broker.url),
            ("COURIER_AGENT", name),
            ("COURIER_TOKEN", &token),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "hook failed: {stderr}");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

fn message_id(v: &Value) -> String {
    v["message_id"].as_str().expect("message_id").to_string()
}

/// The (only) delivery of message `id`.
fn delivery(broker: &Broker, id: &str) -> Value {
    broker.deliveries(id)[0].clone()
}

#[test]
fn a_hook_outside_courier_exits_0_and_prints_nothing() {
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().display().to_string();
    // A port nothing listens on (bound, then released).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        // A plain `claude` in a project the preset configured: nothing set.
        ("empty environment", vec![]),
        ("no agent, no broker", vec![("HOME", &home_path)]),
        (
            "an agent whose broker is gone",
            vec![
                ("HOME", &home_path),
                ("COURIER_AGENT", "bob"),
                ("COURIER_URL", &closed),
                ("COURIER_TOKEN", "stale"),
            ],
        ),
        (
            "an agent with no URL and no connection file",
            vec![("HOME", &home_path), ("COURIER_AGENT", "bob")],
        ),
    ];
    for (what, env) in cases {
        for event in ["UserPromptSubmit", "SessionStart", "Stop"] {
            let out = hook_with_env(event, &env);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{what}, {event}: {stderr}");
            assert!(
                out.stdout.is_empty(),
                "{what}, {event}: stdout {:?}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

#[test]
fn manual_mode_holds_deliveries_from_hooks_until_flushed() {
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
    broker.set_mode("bob", "manual");
    let first = message_id(&broker.send("alice", "bob", "held for the flush"));
    // Held: the hook hands nothing over and the delivery stays queued.
    let (_, out) = agent_hook(&broker, "bob", pid);
    assert!(out.trim().is_empty(), "manual mode handed over: {out}");
    assert_eq!(delivery(&broker, &first)["state"], "queued");
    // A flush lets through what is queued now (one delivery), through the
    // hook as well as the terminal; what arrives after it stays held.
    let (status, v) = broker.post("/v1/agents/bob/flush", &json!({}));
    assert_eq!(status, 200, "{v}");
    let later = message_id(&broker.send("alice", "bob", "sent after the flush"));
    let (_, out) = agent_hook(&broker, "bob", pid);
    let output: Value = serde_json::from_str(out.trim()).expect("hook prints one JSON object");
    let context = output["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(context.contains("held for the flush"), "{context}");
    assert!(!context.contains("sent after the flush"), "{context}");
    let d = delivery(&broker, &first);
    assert_eq!(
        (d["state"].as_str(), d["channel"].as_str()),
        (Some("read"), Some("hook"))
    );
    let (_, out) = agent_hook(&broker, "bob", pid);
    assert!(out.trim().is_empty(), "the flush was used up: {out}");
    assert_eq!(delivery(&broker, &later)["state"], "queued");
    // Back to idle: the hook takes it at once.
    broker.set_mode("bob", "idle");
    let (_, out) = agent_hook(&broker, "bob", pid);
    assert!(out.contains("sent after the flush"), "{out}");
    assert_eq!(delivery(&broker, &later)["channel"], "hook");
    assert_eq!(count_in_transcript(&transcript, &first), 0);
    broker.stop_and_check();
}

/// Events about message `id`.
fn events_of(events: &[Value], id: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["message_id"] == id)
        .cloned()
        .collect()
}

fn seq_of(events: &[Value], id: &str, kind: &str) -> u64 {
    events_of(events, id)
        .iter()
        .find(|e| e["type"] == kind)
        .and_then(|e| e["seq"].as_u64())
        .unwrap_or_else(|| panic!("no {kind} for {id}"))
}

#[test]
fn idle_mode_waits_out_a_long_busy_period_and_delivers_once_without_a_retry() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let worker = broker.spawn_fake("worker", &["--busy-ms", LONG_BUSY_MS], &[]);
    broker.wait_ready("worker");
    // The first message starts a long piece of work.
    let first = message_id(&broker.send("human", "worker", "start working"));
    broker.wait_verified(&first);
    // Sent while the agent works (longer than the ready timeout).
    let second = message_id(&broker.send("human", "worker", "when you are done"));
    wait_for_within(LONG_WAIT, "the second message to be verified", || {
        (delivery(&broker, &second)["state"] == "verified").then_some(())
    });
    let events = broker.events();
    let mine = events_of(&events, &second);
    let d = delivery(&broker, &second);
    assert_eq!(d["attempt"], 0, "an attempt was spent: {d}\n{mine:#?}");
    assert!(
        !mine
            .iter()
            .any(|e| e["type"] == "delivery_dead" || e["type"] == "delivery_dropped"),
        "{mine:#?}"
    );
    assert!(
        !mine
            .iter()
            .any(|e| e["type"] == "delivery_retry" && e["attempt"] != 0),
        "retried: {mine:#?}"
    );
    let verified = mine
        .iter()
        .filter(|e| e["type"] == "delivery_verified")
        .count();
    assert_eq!(verified, 1, "{mine:#?}");
    assert_eq!(count_in_transcript(&worker.transcript, &second), 1);
    // Typed in only once the agent was idle again after the first message.
    let after_first = seq_of(&events, &first, "delivery_verified");
    let injected = seq_of(&events, &second, "delivery_injected");
    let idle_between = events.iter().any(|e| {
        e["type"] == "agent_idle"
            && e["seq"]
                .as_u64()
                .is_some_and(|s| s > after_first && s < injected)
    });
    assert!(
        idle_between,
        "typed in before the agent was idle: {events:#?}"
    );
    broker.stop_and_check();
}

#[test]
fn immediate_mode_types_while_the_agent_works() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let worker = broker.spawn_fake("worker", &["--busy-ms", LONG_BUSY_MS], &[]);
    broker.wait_ready("worker");
    broker.set_mode("worker", "immediate");
    let first = message_id(&broker.send("human", "worker", "start working"));
    broker.wait_verified(&first);
    let second = message_id(&broker.send("human", "worker", "and this too"));
    broker.wait_verified(&second);
    assert_eq!(count_in_transcript(&worker.transcript, &second), 1);
    let events = broker.events();
    let t = |id: &str| {
        let e = events_of(&events, id)
            .into_iter()
            .find(|e| e["type"] == "delivery_verified")
            .unwrap();
        courier_core::Timestamp::parse_rfc3339(e["time"].as_str().unwrap()).unwrap()
    };
    // Generous: only "before the first piece of work ended" is meant.
    let lag = t(&second).millis_since(t(&first));
    assert!(lag < 20_000, "waited {lag} ms for the agent to be idle");
    broker.stop_and_check();
}
