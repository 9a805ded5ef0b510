//! Native delivery to headless agents (issue 21): the fake agent serving
//! the Agent Client Protocol on pipes (`courier fake-agent --protocol acp`),
//! a real broker, real SQLite, real HTTP. A delivery is `verified`
//! (`protocol`) only when the protocol answered the turn that carries it;
//! a refusal ends `unverified` with the agent's reason; a crash mid-turn
//! loses nothing and sends nothing twice.

mod common;

use std::path::{Path, PathBuf};

use common::headless::{self, courier, message_id, wait_settled};
use common::{Agent, Broker, count_in_transcript, wait_for};
use serde_json::{Value, json};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `courier fake-agent --protocol acp --transcript <path> <args>`.
fn fake_acp(transcript: &Path, args: &[&str]) -> Vec<String> {
    headless::fake("acp", transcript, args)
}

/// Spawns a headless ACP agent running `command`; waits until it is ready
/// (its ACP session started).
fn spawn_headless(broker: &Broker, name: &str, command: Vec<String>, extra: Value) -> Agent {
    headless::spawn(broker, name, "acp", command, extra)
}

#[test]
fn a_message_to_a_headless_acp_agent_is_verified_by_the_protocol_once() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let transcript: PathBuf = broker.transcript_path("gem");
    spawn_headless(&broker, "gem", fake_acp(&transcript, &[]), json!({}));

    let listed = broker.get_ok("/v1/agents/gem");
    assert_eq!(listed["delivery"], json!("native"), "{listed}");

    let id = message_id(&broker.send("alice", "gem", "review the retry logic"));
    let ds = broker.wait_verified(&id);
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    assert_eq!(count_in_transcript(&transcript, &id), 1);
    let verified = broker.wait_event("delivery_verified", |e| {
        e["type"] == "delivery_verified" && e["message_id"] == json!(id)
    });
    assert_eq!(verified["verification"], json!("protocol"), "{verified}");

    // No terminal: keys have nowhere to go, and the broker says so.
    let (status, v) = broker.post("/v1/agents/gem/input", &json!({"text": "hi\r"}));
    assert_eq!(status, 409, "{v}");
    assert_eq!(common::error_code(&v), "agent_headless", "{v}");
}

#[test]
fn a_request_refused_with_an_error_ends_unverified_with_its_reason() {
    headless::refusal_ends_unverified("acp", &[], "error", "protocol_refused");
}

#[test]
fn a_turn_refused_ends_unverified_with_its_reason() {
    headless::refusal_ends_unverified("acp", &[], "turn", "turn_refused");
}

#[test]
fn a_crash_mid_turn_waits_for_the_restart_and_each_message_arrives_once() {
    headless::crash_mid_turn_delivers_the_rest_once("acp", &[]);
}

#[test]
fn the_transcript_command_shows_the_conversation() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("gem");
    let mut args = vec!["spawn", "--name", "gem", "--headless", "--"];
    let command = fake_acp(&transcript, &["--refuse", "forbidden"]);
    args.extend(command.iter().map(String::as_str));
    courier(&broker, &args);
    broker.wait_ready("gem");
    assert!(courier(&broker, &["agents"]).contains("native"));

    let asked = message_id(&broker.send("alice", "gem", "summarise the design"));
    broker.wait_verified(&asked);
    let refused = message_id(&broker.send("alice", "gem", "the forbidden one"));
    wait_settled(&broker, &refused);

    let text = courier(&broker, &["transcript", "gem"]);
    assert!(text.contains("summarise the design"), "{text}");
    // The fake's reply echoes its input: the agent's side is shown too.
    assert!(text.contains("echo:"), "{text}");
    assert!(text.contains("the forbidden one"), "{text}");
    assert!(text.contains("error"), "{text}");

    let events = headless::transcript_events(&broker, "gem");
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "conversation_prompt")
            .count(),
        2,
        "{types:?}"
    );
    assert!(types.contains(&"conversation_reply"), "{types:?}");
    assert!(types.contains(&"conversation_error"), "{types:?}");
    let prompt = events
        .iter()
        .find(|e| e["type"] == "conversation_prompt" && e["message_id"] == json!(asked))
        .expect("the prompt of the first message");
    assert_eq!(prompt["from"], json!("alice"), "{prompt}");
    let reply = events
        .iter()
        .find(|e| e["type"] == "conversation_reply" && e["message_id"] == json!(asked))
        .expect("the reply to the first message");
    assert!(
        reply["text"]
            .as_str()
            .unwrap_or_default()
            .contains("summarise the design"),
        "{reply}"
    );
}

#[test]
fn a_tool_call_of_a_headless_acp_agent_is_recorded_and_transcribed() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("gem");
    let command = fake_acp(&transcript, &["--tool-call", "ls -la"]);
    spawn_headless(&broker, "gem", command, json!({}));

    let id = message_id(&broker.send("alice", "gem", "list the files"));
    broker.wait_verified(&id);

    let events = headless::transcript_events(&broker, "gem");
    let calls: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "conversation_tool_call")
        .collect();
    // The start (with its title) and the completion, both of this message's turn.
    let statuses: Vec<&str> = calls.iter().filter_map(|e| e["status"].as_str()).collect();
    assert_eq!(statuses, ["in_progress", "completed"], "{calls:#?}");
    assert_eq!(calls[0]["title"], json!("ls -la"), "{calls:#?}");
    for call in &calls {
        assert_eq!(call["message_id"], json!(id), "{call}");
        assert_eq!(call["name"], json!("gem"), "{call}");
        assert_eq!(call["tool_call_id"], calls[0]["tool_call_id"], "{call}");
    }
    // Before the reply, as the agent sent it.
    let at = |t: &str| events.iter().position(|e| e["type"] == t);
    assert!(
        at("conversation_tool_call") < at("conversation_reply"),
        "{events:#?}"
    );

    let text = courier(&broker, &["transcript", "gem"]);
    assert!(text.contains("ls -la (in_progress)"), "{text}");
    assert!(text.contains("(completed)"), "{text}");
}

/// A `courier` child process, killed and reaped when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn transcript_follow_prints_a_turn_that_happens_after_it_started() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    for name in ["gem", "other"] {
        let transcript = broker.transcript_path(name);
        spawn_headless(&broker, name, fake_acp(&transcript, &[]), json!({}));
    }
    let before = message_id(&broker.send("alice", "gem", "the turn before"));
    broker.wait_verified(&before);

    let mut follower = Child(
        common::courier_command()
            .arg("--state-dir")
            .arg(&broker.state_dir)
            .args(["--json", "transcript", "gem", "--follow"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start courier transcript --follow"),
    );
    let stdout = follower.0.stdout.take().expect("piped stdout");
    let (tx, lines) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let event = serde_json::from_str(&line).expect("one JSON event a line");
            if tx.send(event).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let mut wait_line = |what: &str, pred: &dyn Fn(&Value) -> bool| loop {
        let event = lines
            .recv_timeout(common::DEADLINE)
            .unwrap_or_else(|_| panic!("no {what} from `transcript --follow`: {seen:?}"));
        seen.push(event.clone());
        if pred(&event) {
            return event;
        }
    };
    // The page first: the turn before it started.
    wait_line("earlier reply", &|e| {
        e["type"] == "conversation_reply" && e["message_id"] == json!(before)
    });

    // Then what happens after: another agent's turn is not shown, gem's is.
    let elsewhere = message_id(&broker.send("alice", "other", "not for gem"));
    broker.wait_verified(&elsewhere);
    let after = message_id(&broker.send("alice", "gem", "the turn after"));
    let prompt = wait_line("prompt of the later turn", &|e| {
        e["type"] == "conversation_prompt" && e["message_id"] == json!(after)
    });
    let said = prompt["text"].as_str().unwrap_or_default();
    assert!(said.ends_with("the turn after"), "{prompt}");
    assert!(prompt["seq"].as_u64().is_some(), "{prompt}");
    let reply = wait_line("reply of the later turn", &|e| {
        e["type"] == "conversation_reply" && e["message_id"] == json!(after)
    });
    assert_eq!(reply["name"], json!("gem"), "{reply}");
    assert!(
        seen.iter().all(|e| e["name"] == json!("gem")),
        "only gem's conversation: {seen:?}"
    );
    drop(follower);
    broker.stop_and_check();
}

#[test]
fn the_gemini_preset_runs_headless_with_its_acp_flag() {
    let tmp = tempdir();
    // The gemini preset with the fake agent for its CLI: `--headless` adds
    // the preset's headless arguments (`--acp` for the real CLI; here the
    // fake's `--protocol acp`).
    let args = ["--protocol", "acp"];
    let (broker, command) =
        headless::spawned_from_preset(tmp.path(), "gemini", &args, "acp", "gem");
    let listed = broker.get_ok("/v1/agents/gem");
    assert_eq!(listed["delivery"], json!("native"), "{listed}");
    assert!(command.contains("fake-agent --protocol acp"), "{command}");

    let id = message_id(&broker.send("alice", "gem", "hello gemini"));
    let ds = broker.wait_verified(&id);
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");

    // A terminal agent cannot have the native channel; a preset without a
    // headless mode cannot run headless.
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "typed", "command": ["sh"], "delivery": "native"}),
    );
    assert_eq!(status, 400, "{v}");
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "sh", "preset": "shell", "headless": true}),
    );
    assert_eq!(status, 400, "{v}");
}

#[test]
fn a_broker_crash_mid_turn_loses_nothing_and_sends_nothing_twice() {
    let tmp = tempdir();
    let mut broker = Broker::start(tmp.path(), &[]);
    let transcript = broker.transcript_path("gem");
    // The first process holds its first turn open; the one the next broker
    // starts answers at once.
    let marker = tmp.path().join("held-once");
    let fake = fake_acp(&transcript, &[]).join(" ");
    let script = format!(
        "if [ -e '{m}' ]; then exec {fake}; else touch '{m}'; exec {fake} --think-ms 600000; fi",
        m = marker.display()
    );
    spawn_headless(
        &broker,
        "gem",
        vec!["sh".into(), "-c".into(), script],
        json!({}),
    );
    let held = message_id(&broker.send("alice", "gem", "the turn in flight"));
    wait_for("the first message in the agent's turn", || {
        (count_in_transcript(&transcript, &held) == 1).then_some(())
    });
    let queued: Vec<String> = (1..=2)
        .map(|n| message_id(&broker.send("alice", "gem", &format!("queued {n}"))))
        .collect();
    broker.kill9();
    // The agent has no session host: it does not outlive its broker.
    drop(broker);

    let broker = Broker::start(tmp.path(), &[]);
    broker.wait_ready("gem");
    let d = wait_settled(&broker, &held);
    assert_eq!(d["state"], json!("unverified"), "{d}");
    let reason = d["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("broker_restarted"), "{reason}");
    for id in &queued {
        let ds = broker.wait_verified(id);
        assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    }
    for id in queued.iter().chain([&held]) {
        assert_eq!(
            count_in_transcript(&transcript, id),
            1,
            "{id}: {:?}",
            common::transcript(&transcript)
        );
    }
}

#[test]
fn interrupting_a_headless_agent_cancels_its_turn_through_the_protocol() {
    headless::interrupt_cancels_the_turn("acp", &[], "session/cancel");
}
