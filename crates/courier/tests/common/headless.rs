//! Headless agents for the native-delivery tests (`native.rs`,
//! `native_claude.rs`, `native_codex.rs`): the fake agent serving a
//! protocol on pipes, spawned through a real broker, and the checks every
//! protocol must pass the same way (a crash mid-turn, an interrupt).

use std::path::Path;

use serde_json::{Value, json};

use super::{Agent, Broker, EXE, count_in_transcript, wait_for};

/// `courier fake-agent --protocol <protocol> --transcript <path> <args>`.
pub fn fake(protocol: &str, transcript: &Path, args: &[&str]) -> Vec<String> {
    let mut command = vec![
        EXE.to_string(),
        "fake-agent".to_string(),
        "--protocol".to_string(),
        protocol.to_string(),
        "--transcript".to_string(),
        transcript.display().to_string(),
    ];
    command.extend(args.iter().map(|a| a.to_string()));
    command
}

/// Spawns a headless agent running `command` that speaks `protocol`, with
/// `extra` spawn fields; waits until it is ready (its handshake done).
pub fn spawn(
    broker: &Broker,
    name: &str,
    protocol: &str,
    command: Vec<String>,
    extra: Value,
) -> Agent {
    let transcript = broker.transcript_path(name);
    let mut body = json!({"name": name, "headless": true, "protocol": protocol,
        "command": command});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let agent = broker.spawn_request(&body, transcript);
    broker.wait_ready(name);
    agent
}

pub fn message_id(sent: &Value) -> String {
    sent["message_id"].as_str().expect("message id").to_string()
}

/// Waits until message `id`'s one delivery has ended (verified or
/// unverified); returns it.
pub fn wait_settled(broker: &Broker, id: &str) -> Value {
    wait_for(&format!("message {id} to settle"), || {
        let ds = broker.deliveries(id);
        let d = ds.first()?;
        matches!(d["state"].as_str(), Some("verified" | "unverified")).then(|| d.clone())
    })
}

/// No `delivery_verified` event of message `id` (but a timeout fallback).
pub fn never_verified(broker: &Broker, id: &str) {
    let events = broker.events();
    assert!(
        !events.iter().any(|e| e["type"] == "delivery_verified"
            && e["message_id"] == json!(id)
            && e["verification"] != json!("timeout_fallback")),
        "{id} was verified: {events:?}"
    );
}

/// `courier <args>` against `broker`; its stdout (the command must succeed).
pub fn courier(broker: &Broker, args: &[&str]) -> String {
    let out = super::courier_command()
        .arg("--state-dir")
        .arg(&broker.state_dir)
        .args(args)
        .output()
        .expect("run courier");
    assert!(
        out.status.success(),
        "courier {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A refusal of the fake's (`--refuse forbidden --refuse-as <refuse_as>`)
/// ends `unverified` with the agent's reason and code `code`, never
/// `verified`, with a `conversation_error`; the agent takes the next one.
/// `fake_args` are the fake's arguments before the refusal's.
pub fn refusal_ends_unverified(protocol: &str, fake_args: &[&str], refuse_as: &str, code: &str) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("ag");
    let refusal = [
        "--refuse",
        "forbidden",
        "--refuse-as",
        refuse_as,
        "--refuse-reason",
        "not on a friday",
    ];
    let args = [fake_args, &refusal].concat();
    spawn(
        &broker,
        "ag",
        protocol,
        fake(protocol, &transcript, &args),
        json!({}),
    );

    let refused = message_id(&broker.send("alice", "ag", "do the forbidden thing"));
    let reason = settled_unverified(&broker, &refused, code);
    assert!(reason.contains("not on a friday"), "{reason}");
    never_verified(&broker, &refused);
    let events = broker.events();
    let error = events
        .iter()
        .find(|e| e["type"] == "conversation_error" && e["message_id"] == json!(refused))
        .unwrap_or_else(|| panic!("no conversation_error: {events:?}"));
    // In a person's words, with the agent's own.
    let text = error["error"].as_str().unwrap_or_default();
    assert!(
        text.contains("not on a friday") && !text.contains('{'),
        "{error}"
    );

    let fine = message_id(&broker.send("alice", "ag", "a fine request"));
    let ds = broker.wait_verified(&fine);
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    assert_eq!(count_in_transcript(&transcript, &fine), 1);
}

/// The first process of a headless agent (the fake with `fake_args`)
/// crashes on its first turn; the restarted one does not. The message in
/// flight was taken by the crashed process: never sent again, `unverified`
/// (`agent_exited`). The others wait for the restart and are verified by
/// the new process's protocol, each once.
pub fn crash_mid_turn_delivers_the_rest_once(protocol: &str, fake_args: &[&str]) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("ag");
    let marker = tmp.path().join("crashed-once");
    let fake = fake(protocol, &transcript, fake_args).join(" ");
    let script = format!(
        "if [ -e '{m}' ]; then exec {fake}; else touch '{m}'; exec {fake} --crash-after 1; fi",
        m = marker.display()
    );
    let restart = json!({"restart": {"policy": "on-failure", "max_restarts": 3,
        "window_s": 60, "backoff_ms": [100]}});
    let command = vec!["sh".into(), "-c".into(), script];
    spawn(&broker, "ag", protocol, command, restart);

    let ids: Vec<String> = (1..=3)
        .map(|n| message_id(&broker.send("alice", "ag", &format!("queued message {n}"))))
        .collect();
    let settled: Vec<Value> = ids.iter().map(|id| wait_settled(&broker, id)).collect();
    broker.wait_event("the agent restarted", |e| e["type"] == "agent_restarted");

    let crashed = &settled[0];
    assert_eq!(crashed["state"], json!("unverified"), "{crashed}");
    let reason = crashed["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("agent_exited"), "{reason}");
    for d in &settled[1..] {
        assert_eq!(d["state"], json!("verified"), "{d}");
        assert_eq!(d["verification"], json!("protocol"), "{d}");
    }
    for id in &ids {
        assert_eq!(
            count_in_transcript(&transcript, id),
            1,
            "message {id} in the transcript: {:?}",
            super::transcript(&transcript)
        );
    }
}

/// `courier interrupt` (the API's) cancels the running turn of a headless
/// agent through its protocol (request `keys`); the delivery that started
/// the turn ends `turn_cancelled`.
pub fn interrupt_cancels_the_turn(protocol: &str, fake_args: &[&str], keys: &str) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("ag");
    let args = [fake_args, &["--think-ms", "600000"]].concat();
    spawn(
        &broker,
        "ag",
        protocol,
        fake(protocol, &transcript, &args),
        json!({}),
    );
    let id = message_id(&broker.send("alice", "ag", "a long task"));
    wait_for("the message in the agent's turn", || {
        (count_in_transcript(&transcript, &id) == 1).then_some(())
    });
    interrupt_ends_cancelled(&broker, "ag", &id, keys);
}

/// `courier interrupt NAME` (the API's) ends delivery `id` `turn_cancelled`
/// through the protocol's request `keys`; never `verified`.
pub fn interrupt_ends_cancelled(broker: &Broker, name: &str, id: &str, keys: &str) {
    let (status, v) = broker.post(&format!("/v1/agents/{name}/interrupt"), &json!({}));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["keys"], json!(keys), "{v}");
    settled_unverified(broker, id, "turn_cancelled");
    never_verified(broker, id);
}

/// Waits until message `id`'s delivery ends; it must end `unverified` with
/// a reason starting with `code`. Returns the reason.
pub fn settled_unverified(broker: &Broker, id: &str, code: &str) -> String {
    let d = wait_settled(broker, id);
    assert_eq!(d["state"], json!("unverified"), "{d}");
    let reason = d["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with(code), "{reason}");
    reason.to_string()
}

/// `courier --json transcript NAME`: the agent's conversation events.
pub fn transcript_events(broker: &Broker, name: &str) -> Vec<Value> {
    courier(broker, &["--json", "transcript", name])
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event a line"))
        .collect()
}

/// A broker whose preset `preset` runs the fake agent for its CLI with
/// `headless_args` for its headless mode (speaking `protocol`; no MCP
/// wiring, which the fake does not take), and agent `name` spawned from it
/// by `courier spawn PRESET --name NAME --headless`, ready. Returns the
/// broker and the command line the spawn ran.
pub fn spawned_from_preset(
    tmp: &Path,
    preset: &str,
    headless_args: &[&str],
    protocol: &str,
    name: &str,
) -> (Broker, String) {
    let presets = tmp.join("presets.toml");
    let args: Vec<String> = headless_args.iter().map(|a| format!("{a:?}")).collect();
    std::fs::write(
        &presets,
        format!(
            "[presets.{preset}]\ncommand = \"{EXE}\"\nargs = [\"fake-agent\"]\n\
             headless_args = [{}]\nheadless_protocol = \"{protocol}\"\n\
             [presets.{preset}.mcp]\nstyle = \"none\"\n",
            args.join(", ")
        ),
    )
    .expect("write presets");
    let presets = presets.display().to_string();
    let broker = Broker::start_with_env(tmp, &[], &[("COURIER_PRESETS", &presets)]);
    let workdir = tmp.join("work");
    std::fs::create_dir_all(&workdir).expect("workdir");
    let workdir = workdir.display().to_string();
    let spawn = [
        "spawn",
        preset,
        "--name",
        name,
        "--headless",
        "--cwd",
        &workdir,
    ];
    courier(&broker, &spawn);
    broker.wait_ready(name);
    let spawned = broker.wait_event("agent_spawned", |e| e["type"] == "agent_spawned");
    let command = spawned["command"].as_str().unwrap_or_default().to_string();
    (broker, command)
}
