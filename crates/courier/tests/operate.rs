//! Operating agents, end to end with real brokers, PTYs and fake agents:
//! restart policies (a crash restarted with backoff, continuing the CLI's
//! session; past the limit the agent is dead), interrupting an agent (and
//! refusing to type into a dialog), an initial task delivered exactly once
//! even across a kill -9 right after the spawn, resuming a session at
//! spawn, `courier done`, and context-low episodes.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A CLI for a test preset: the fake agent, crashing on its first message
/// (`--crash-after 1`) unless started with the preset's resume arguments
/// (`--continue`, `--session ID`), as a real CLI continues its session.
fn write_fake_cli(dir: &Path) -> PathBuf {
    let script = dir.join("fake-cli.sh");
    let text = format!(
        "#!/bin/sh\ncrash='--crash-after 1'\ncase \"$1\" in\n  --continue) shift; crash='' ;;\n  --session) shift 2; crash='' ;;\nesac\nexec '{EXE}' fake-agent $crash \"$@\"\n"
    );
    std::fs::write(&script, text).expect("write the fake CLI");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

/// A presets file with `fakecli` (resume templates, a context-low pattern)
/// and `noresume` (none); returns its path.
fn write_presets(dir: &Path, transcript: &Path) -> PathBuf {
    let cli = write_fake_cli(dir);
    let path = dir.join("presets.toml");
    let text = format!(
        r#"
[presets.fakecli]
command = "{cli}"
args = ["--transcript", "{transcript}"]
context_low_patterns = ['context almost full']
[presets.fakecli.resume]
last = ["--continue"]
session = ["--session", "{{session_id}}"]

[presets.noresume]
command = "{cli}"
"#,
        cli = cli.display(),
        transcript = transcript.display()
    );
    std::fs::write(&path, text).expect("write presets");
    path
}

fn events_of<'a>(events: &'a [Value], kind: &str, name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["type"] == kind && (e["name"] == name || e["agent"] == name))
        .collect()
}

fn message_id(v: &Value) -> String {
    v["message_id"].as_str().expect("message id").to_string()
}

fn cli(broker: &Broker, args: &[&str]) -> std::process::Output {
    courier_command()
        .args(["--url", &broker.url, "--token", &broker.token])
        .args(args)
        .output()
        .expect("run courier")
}

#[test]
fn a_crash_is_restarted_with_backoff_continuing_the_session_and_pending_deliveries_arrive_once() {
    let tmp = tempdir();
    let transcript = tmp.path().join("bob.jsonl");
    let presets = write_presets(tmp.path(), &transcript);
    let presets = presets.display().to_string();
    let broker = Broker::start_with_env(tmp.path(), &[], &[("COURIER_PRESETS", &presets)]);
    let spawned = broker.spawn_request(
        &json!({"name": "bob", "preset": "fakecli",
            "restart": {"policy": "on-failure", "max_restarts": 3, "window_s": 60, "backoff_ms": [300]}}),
        transcript.clone(),
    );
    broker.wait_ready("bob");
    // The first message crashes this process as it starts arriving; the
    // others wait behind it, then for the restart.
    let ids: Vec<String> = (0..3)
        .map(|i| message_id(&broker.send("alice", "bob", &format!("job {i}"))))
        .collect();
    let crashed = broker.wait_event("bob's crash", |e| {
        e["type"] == "agent_crashed" && e["name"] == "bob"
    });
    assert_eq!(crashed["code"], 101, "{crashed}");
    assert_eq!(crashed["restart_in_ms"], 300, "{crashed}");
    assert!(
        crashed["screen"]
            .as_array()
            .is_some_and(|rows| !rows.is_empty()),
        "the crash carries the last screen rows: {crashed}"
    );
    for id in &ids[1..] {
        broker.wait_verified(id);
    }
    let first = &broker.deliveries(&ids[0])[0];
    assert_eq!(first["state"], "unverified", "{first}");
    assert!(
        first["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("agent_exited"),
        "{first}"
    );
    // Exactly once each after the restart; the one in flight is never typed again.
    assert_eq!(count_in_transcript(&transcript, &ids[0]), 0);
    for id in &ids[1..] {
        assert_eq!(count_in_transcript(&transcript, id), 1, "message {id}");
    }
    let events = broker.events();
    assert_eq!(
        events_of(&events, "agent_crashed", "bob").len(),
        1,
        "one event per crash"
    );
    assert!(events_of(&events, "agent_exited", "bob").is_empty());
    let restarted = events_of(&events, "agent_restarted", "bob");
    assert_eq!(restarted.len(), 1, "{restarted:?}");
    assert_eq!(restarted[0]["attempt"], 1);
    assert_eq!(
        restarted[0]["resumed"], true,
        "the preset's resume.last was used"
    );
    assert_ne!(restarted[0]["pid"], json!(spawned.pid));
    assert_eq!(events_of(&events, "agent_spawned", "bob").len(), 1);
    let waited = |e: &Value| {
        courier_core::Timestamp::parse_rfc3339(e["time"].as_str().expect("time"))
            .expect("rfc3339")
            .as_millis()
    };
    assert!(
        waited(restarted[0]) - waited(&crashed) >= 300,
        "the restart waited its backoff: {crashed} then {}",
        restarted[0]
    );
    let bob = broker.get_ok("/v1/agents/bob");
    assert_eq!(
        (bob["restarts"].clone(), bob["dead"].clone()),
        (json!(1), json!(false)),
        "{bob}"
    );
    broker.stop_and_check();
}

#[test]
fn past_its_restart_limit_an_agent_is_dead_its_deliveries_dead_letters_and_health_degraded() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    // Each process crashes on its first message: three messages, three
    // crashes; the fourth waits, then becomes a dead letter.
    let transcript = broker.transcript_path("loop");
    broker.spawn_request(
        &json!({"name": "loop",
            "command": [EXE, "fake-agent", "--mode", "line", "--crash-after", "1",
                "--transcript", transcript.display().to_string()],
            "restart": {"policy": "always", "max_restarts": 2, "window_s": 600, "backoff_ms": [20]}}),
        transcript,
    );
    let sent: Vec<String> = (0..4)
        .map(|i| message_id(&broker.send("alice", "loop", &format!("are you there? {i}"))))
        .collect();
    let dead = broker.wait_event("loop to be dead", |e| {
        e["type"] == "agent_dead" && e["name"] == "loop"
    });
    assert_eq!(dead["restarts"], 2, "{dead}");
    let events = broker.events();
    assert_eq!(events_of(&events, "agent_crashed", "loop").len(), 3);
    let attempts: Vec<&Value> = events_of(&events, "agent_restarted", "loop")
        .iter()
        .map(|e| &e["attempt"])
        .collect();
    assert_eq!(attempts, [&json!(1), &json!(2)]);
    // Nothing waits for an agent that will not come back, a later send neither.
    for id in &sent[..3] {
        let d = &broker.deliveries(id)[0];
        assert_eq!(d["state"], "unverified", "{d}");
    }
    let later = message_id(&broker.send("alice", "loop", "still there?"));
    for id in [&sent[3], &later] {
        let d = wait_for("a dead letter", || {
            let d = broker.deliveries(id)[0].clone();
            (d["state"] == "dropped").then_some(d)
        });
        assert_eq!(d["reason"], "agent_dead", "{d}");
    }
    let health = broker
        .http()
        .get(format!("{}/healthz", broker.url))
        .send()
        .expect("healthz");
    let health: Value = health.json().expect("json");
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["dead"][0]["name"], "loop", "{health}");
    let agent = broker.get_ok("/v1/agents/loop");
    assert_eq!(agent["dead"], true, "{agent}");
    let out = cli(&broker, &["agents"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("dead:"),
        "{out:?}"
    );
    let out = cli(&broker, &["status"]);
    let status = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        status.contains("1 agent(s) dead") && status.contains("loop"),
        "{status}"
    );
    // Released, it no longer degrades the broker.
    assert_eq!(broker.delete("/v1/agents/loop").0, 204);
    assert_eq!(broker.get_ok("/healthz")["status"], "ok");
    broker.stop_and_check();
}

#[test]
fn interrupt_sends_the_keys_but_never_into_a_dialog() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let worker = broker.spawn_fake("worker", &["--busy-ms", "60000"], &[]);
    let dialog = broker.spawn_fake("asker", &["--trust-dialog"], &[]);
    broker.wait_ready("worker");
    let id = message_id(&broker.send("alice", "worker", "think hard"));
    broker.wait_verified(&id);
    // Ctrl-C (a raw command's default): the fake agent exits 130 on it.
    let out = cli(&broker, &["interrupt", "worker"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ctrl-c"),
        "{out:?}"
    );
    let ended = broker.wait_event("the interrupted agent to end", |e| {
        e["type"] == "agent_crashed" && e["name"] == "worker"
    });
    assert_eq!(ended["code"], 130, "{ended}");
    let events = broker.events();
    let interrupted = events_of(&events, "agent_interrupted", "worker");
    assert_eq!(interrupted.len(), 1);
    assert_eq!(interrupted[0]["keys"], "ctrl-c");
    common::wait_pids_gone(&[worker.pid]);

    // A dialog takes keys as menu choices: refused, with the dialog line.
    wait_for("the trust dialog", || {
        broker
            .screen("asker")
            .contains("Do you trust the files")
            .then_some(())
    });
    let (status, v) = broker.post("/v1/agents/asker/interrupt", &json!({}));
    assert_eq!(status, 409, "{v}");
    assert_eq!(error_code(&v), "dialog_on_screen", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Do you trust the files in this folder?"),
        "{v}"
    );
    // Owner only: the agent's own token cannot.
    let token = environ_var(dialog.pid, "COURIER_TOKEN").expect("token");
    let (status, v) = broker.call(
        broker
            .http()
            .post(format!("{}/v1/agents/asker/interrupt", broker.url))
            .bearer_auth(token),
    );
    assert_eq!((status, error_code(&v)), (403, "owner_only"), "{v}");
    assert!(common::alive(dialog.pid), "nothing reached the dialog");
    let (status, v) = broker.post("/v1/agents/worker/interrupt", &json!({}));
    assert_eq!((status, error_code(&v)), (409, "agent_not_running"), "{v}");
    broker.stop_and_check();
}

#[test]
fn an_initial_task_is_delivered_exactly_once_even_across_a_kill_9_right_after_the_spawn() {
    let tmp = tempdir();
    let mut broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("t");
    let command = [
        EXE,
        "fake-agent",
        "--transcript",
        &transcript.display().to_string(),
    ]
    .map(str::to_string)
    .to_vec();
    let request =
        json!({"name": "t", "command": command, "task": "read the README and summarize it"});
    let spawn = |broker: &Broker| {
        broker.call(
            broker
                .req(Method::POST, "/v1/agents")
                .header("Idempotency-Key", "spawn-t-1")
                .json(&request),
        )
    };
    let (status, v) = spawn(&broker);
    assert_eq!(status, 201, "{v}");
    broker.crash();
    drop(broker);

    let broker = Broker::start(tmp.path(), &[]);
    let tasks = |broker: &Broker| -> Vec<Value> {
        broker.get_ok("/v1/agents/t/inbox?limit=50")["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d["message"]["from"] == "courier")
            .collect()
    };
    let task = tasks(&broker);
    assert_eq!(task.len(), 1, "{task:?}");
    let id = task[0]["message"]["id"].as_str().expect("id").to_string();
    broker.wait_verified(&id);
    assert_eq!(count_in_transcript(&transcript, &id), 1);
    // A retried spawn (same key) sends nothing again, running or not.
    let (status, v) = spawn(&broker);
    assert_eq!((status, error_code(&v)), (409, "agent_exists"), "{v}");
    assert_eq!(broker.delete("/v1/agents/t").0, 204);
    let (status, v) = spawn(&broker);
    assert_eq!(status, 201, "{v}");
    broker.agents();
    assert_eq!(tasks(&broker).len(), 1, "the task was not sent twice");
    broker.stop_and_check();
}

#[test]
fn resume_at_spawn_uses_the_presets_templates_and_is_refused_without_them() {
    let tmp = tempdir();
    let transcript = tmp.path().join("r.jsonl");
    let presets = write_presets(tmp.path(), &transcript);
    let presets = presets.display().to_string();
    let broker = Broker::start_with_env(tmp.path(), &[], &[("COURIER_PRESETS", &presets)]);
    let out = cli(
        &broker,
        &["spawn", "fakecli", "--name", "r1", "--resume", "s-42"],
    );
    assert!(out.status.success(), "{out:?}");
    let out = cli(&broker, &["spawn", "fakecli", "--name", "r2", "--continue"]);
    assert!(out.status.success(), "{out:?}");
    broker.agents();
    let events = broker.events();
    let command = |name: &str| {
        events_of(&events, "agent_spawned", name)[0]["command"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        command("r1").contains("--session s-42"),
        "{}",
        command("r1")
    );
    assert!(command("r2").contains("--continue"), "{}", command("r2"));
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "r3", "preset": "noresume", "resume": {"last": true}}),
    );
    assert_eq!(status, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot resume"),
        "{v}"
    );
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "r4", "command": ["sh"], "resume": {"session": "x"}}),
    );
    assert_eq!((status, error_code(&v)), (422, "invalid_spec"), "{v}");
    broker.stop_and_check();
}

#[test]
fn an_agent_reports_done_with_courier_done_from_its_shell() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let worker = broker.spawn_fake("w", &[], &[]);
    let other = broker.spawn_fake("o", &[], &[]);
    let token = environ_var(worker.pid, "COURIER_TOKEN").expect("token");
    let out = courier_command()
        .env("COURIER_URL", &broker.url)
        .env("COURIER_TOKEN", &token)
        .env("COURIER_AGENT", "w")
        .args(["done", "built it; see target/out"])
        .output()
        .expect("courier done");
    assert!(out.status.success(), "{out:?}");
    let w = broker.get_ok("/v1/agents/w");
    assert_eq!(
        (w["done"].clone(), w["result"].clone()),
        (json!(true), json!("built it; see target/out")),
        "{w}"
    );
    let events = broker.events();
    let done = events_of(&events, "agent_done", "w");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["result"], "built it; see target/out");
    let table = String::from_utf8_lossy(&cli(&broker, &["agents"]).stdout).to_string();
    assert!(table.contains("done"), "{table}");
    // Only as itself.
    let other_token = environ_var(other.pid, "COURIER_TOKEN").expect("token");
    let (status, v) = broker.call(
        broker
            .http()
            .post(format!("{}/v1/agents/w/done", broker.url))
            .bearer_auth(other_token)
            .json(&json!({"result": "forged"})),
    );
    assert_eq!((status, error_code(&v)), (403, "not_yourself"), "{v}");
    broker.stop_and_check();
}

#[test]
fn context_running_low_is_one_event_per_episode() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("c");
    broker.spawn_request(
        &json!({"name": "c",
            "command": [EXE, "fake-agent", "--transcript", transcript.display().to_string(),
                "--reply", "noted (context window 4% left)"],
            "context_low_patterns": [r"context window \d+% left"]}),
        transcript.clone(),
    );
    broker.wait_ready("c");
    for i in 0..2 {
        let id = message_id(&broker.send("alice", "c", &format!("step {i}")));
        broker.wait_verified(&id);
    }
    let low = broker.wait_event("agent_context_low", |e| {
        e["type"] == "agent_context_low" && e["name"] == "c"
    });
    assert!(
        low["line"]
            .as_str()
            .unwrap_or_default()
            .contains("context window 4% left"),
        "{low}"
    );
    // Both replies are on screen, redrawn on every keystroke: one episode.
    assert_eq!(
        events_of(&broker.events(), "agent_context_low", "c").len(),
        1
    );
    let c = broker.get_ok("/v1/agents/c");
    assert!(c["context_low"].as_str().is_some(), "{c}");
    broker.stop_and_check();
}
