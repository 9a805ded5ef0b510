//! Replies (issue 21, "replies are first-class") and `courier ask`, end to
//! end: a real broker, real SQLite, the fake agent as a headless ACP server
//! and in a real PTY. A headless turn's final answer is the reply to the
//! message that started it; a message sent with `thread` set is a reply
//! from any agent; `courier ask` waits for either and says by its exit code
//! how the wait ended.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};

use common::gate::Gate;
use common::{Broker, EXE, count_in_transcript, wait_for};
use serde_json::{Value, json};

/// `courier ask`'s documented exit codes.
const EXIT_TIMED_OUT: i32 = 3;
const EXIT_UNDELIVERED: i32 = 4;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Spawns a headless fake ACP agent called `name` with `args`; waits until
/// its session started.
fn spawn_acp(broker: &Broker, name: &str, args: &[&str]) -> std::path::PathBuf {
    let transcript = broker.transcript_path(name);
    let mut command = vec![
        EXE.to_string(),
        "fake-agent".to_string(),
        "--protocol".to_string(),
        "acp".to_string(),
        "--transcript".to_string(),
        transcript.display().to_string(),
    ];
    command.extend(args.iter().map(|a| a.to_string()));
    let body = json!({"name": name, "headless": true, "command": command});
    broker.spawn_request(&body, transcript.clone());
    broker.wait_ready(name);
    transcript
}

/// `courier --state-dir … <args>`, whatever its exit.
fn courier(state_dir: &Path, args: &[&str]) -> Output {
    common::courier_command()
        .arg("--state-dir")
        .arg(state_dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run courier")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// `courier --json message ID`, decoded.
fn message_json(broker: &Broker, id: &str) -> Value {
    let out = courier(&broker.state_dir, &["--json", "message", id]);
    assert!(out.status.success(), "{}", show(&out));
    serde_json::from_slice(&out.stdout).expect("message JSON")
}

#[test]
fn asking_a_headless_agent_prints_its_final_answer_which_is_kept_as_the_reply() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    spawn_acp(&broker, "gem", &[]);

    let out = courier(&broker.state_dir, &["ask", "gem", "what is two and two"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("echo:") && text(&out.stdout).contains("what is two and two"),
        "{}",
        show(&out)
    );

    let out = courier(&broker.state_dir, &["--json", "ask", "gem", "and three"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("ask --json");
    assert_eq!(v["outcome"], json!("replied"), "{v}");
    assert_eq!(v["reply"]["via"], json!("protocol"), "{v}");
    let id = v["status"]["message"]["id"]
        .as_str()
        .expect("message id")
        .to_string();

    let shown = message_json(&broker, &id);
    let replies = shown["replies"].as_array().expect("replies").clone();
    assert_eq!(replies.len(), 1, "{shown}");
    assert_eq!(replies[0]["reply_to"], json!(id), "{shown}");
    assert_eq!(replies[0]["from"], json!("gem"), "{shown}");
    assert!(
        replies[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("and three"),
        "{shown}"
    );
    let event = broker.wait_event("message_replied", |e| {
        e["type"] == "message_replied" && e["message_id"] == json!(id)
    });
    assert_eq!(event["via"], json!("protocol"), "{event}");
    assert_eq!(event["from"], json!("gem"), "{event}");

    // The link is in the store: a restarted broker still shows it.
    let root = broker.root.clone();
    broker.stop_and_check();
    let broker = Broker::start(&root, &[]);
    let again = message_json(&broker, &id);
    assert_eq!(again["replies"], json!(replies), "{again}");
    broker.stop_and_check();
}

#[test]
fn asking_an_agent_that_never_answers_times_out_with_its_exit_code() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let transcript = spawn_acp(&broker, "slow", &["--think-ms", "600000"]);

    let out = courier(
        &broker.state_dir,
        &["--json", "ask", "--timeout", "2s", "slow", "take your time"],
    );
    assert_eq!(out.status.code(), Some(EXIT_TIMED_OUT), "{}", show(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("ask --json");
    assert_eq!(v["outcome"], json!("timeout"), "{v}");
    let id = v["status"]["message"]["id"].as_str().expect("message id");
    // It did reach the agent, which is still thinking: no reply, no error.
    assert_eq!(count_in_transcript(&transcript, id), 1);
    assert_eq!(message_json(&broker, id)["replies"], json!([]));
}

#[test]
fn asking_an_agent_that_refuses_ends_unverified_with_the_reason() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    spawn_acp(
        &broker,
        "prude",
        &[
            "--refuse",
            "forbidden",
            "--refuse-reason",
            "not on my watch",
        ],
    );

    let out = courier(&broker.state_dir, &["ask", "prude", "the forbidden thing"]);
    assert_eq!(out.status.code(), Some(EXIT_UNDELIVERED), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(err.contains("unverified"), "{}", show(&out));
    assert!(err.contains("turn_refused"), "{}", show(&out));
    assert!(err.contains("not on my watch"), "{}", show(&out));
    assert!(text(&out.stdout).is_empty(), "{}", show(&out));
    broker.stop_and_check();
}

#[test]
fn a_terminal_agent_replies_by_sending_a_message_in_the_thread() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    // An orchestrator agent asks; bob's reply is a message back to it.
    broker.spawn_fake("alice", &[], &[]);
    let bob = broker.spawn_fake("bob", &[], &[]);

    let asker = common::courier_command()
        .arg("--state-dir")
        .arg(&broker.state_dir)
        .args([
            "ask",
            "--from",
            "alice",
            "--timeout",
            "60s",
            "bob",
            "which tests are flaky?",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start courier ask");
    let accepted = broker.wait_event("the question to bob", |e| {
        e["type"] == "message_accepted" && e["to"] == json!("bob")
    });
    let id = accepted["message_id"].as_str().expect("id").to_string();
    wait_for("the question typed into bob", || {
        (count_in_transcript(&bob.transcript, &id) == 1).then_some(())
    });

    // Bob answers through the API, naming the question as its thread.
    let (status, v) = broker.post(
        "/v1/messages",
        &json!({"from": "bob", "to": "alice", "body": "none of them", "thread": id}),
    );
    assert!(status == 201, "reply send: {status} {v}");
    let reply_id = v["message_id"].as_str().expect("reply id").to_string();

    let out = asker.wait_with_output().expect("courier ask ends");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(text(&out.stdout).trim(), "none of them", "{}", show(&out));

    let shown = message_json(&broker, &id);
    let replies = shown["replies"].as_array().expect("replies");
    assert_eq!(replies.len(), 1, "{shown}");
    assert_eq!(replies[0]["via"], json!("message"), "{shown}");
    assert_eq!(replies[0]["message_id"], json!(reply_id), "{shown}");
    assert_eq!(replies[0]["from"], json!("bob"), "{shown}");
    let event = broker.wait_event("message_replied", |e| {
        e["type"] == "message_replied" && e["message_id"] == json!(id)
    });
    assert_eq!(event["reply_id"], json!(reply_id), "{event}");
    let human = text(&courier(&broker.state_dir, &["message", &id]).stdout);
    assert!(
        human.contains("reply from bob") && human.contains("none of them"),
        "{human}"
    );
    broker.stop_and_check();
}

/// How long after its reply is recorded `courier ask` returns, printed (no
/// assertion on it): the reply is a thread message sent through the API
/// while the asked agent keeps thinking, so the moment it is recorded is
/// the moment that send returns.
#[test]
fn ask_returns_soon_after_the_reply_is_recorded() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    spawn_acp(&broker, "slow", &["--think-ms", "600000"]);
    spawn_acp(&broker, "boss", &["--think-ms", "600000"]);
    let mut lags = Vec::new();
    for round in 0..5 {
        let asker = common::courier_command()
            .arg("--state-dir")
            .arg(&broker.state_dir)
            .args(["ask", "--from", "boss", "--timeout", "60s", "slow"])
            .arg(format!("question {round}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start courier ask");
        let accepted = broker.wait_event("the question", |e| {
            e["type"] == "message_accepted"
                && e["from"] == json!("boss")
                && !lags
                    .iter()
                    .any(|(id, _): &(String, _)| *id == e["message_id"])
        });
        let id = accepted["message_id"].as_str().expect("id").to_string();
        // Give `ask` time to be waiting, so the figure is its reaction (a
        // different pause each round, not in step with any polling).
        std::thread::sleep(std::time::Duration::from_millis(400 + 47 * round));
        let (status, v) = broker.post(
            "/v1/messages",
            &json!({"from": "slow", "to": "boss", "body": format!("answer {round}"), "thread": id}),
        );
        assert!(status == 201, "reply send: {status} {v}");
        let recorded = std::time::Instant::now();
        let out = asker.wait_with_output().expect("courier ask ends");
        let lag = recorded.elapsed();
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        assert_eq!(text(&out.stdout).trim(), format!("answer {round}"));
        lags.push((id, lag));
    }
    let ms: Vec<u128> = lags.iter().map(|(_, lag)| lag.as_millis()).collect();
    eprintln!("courier ask returned this long after the reply was recorded (ms): {ms:?}");
    broker.stop_and_check();
}

/// `courier ask NAME TEXT` through `gate` (its own process; stdout and
/// stderr piped).
fn ask_through(gate: &Gate, broker: &Broker, args: &[&str]) -> std::process::Child {
    common::courier_command()
        .args(["--url", &gate.url, "--token", &broker.token, "ask"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start courier ask")
}

#[test]
fn a_reply_recorded_before_the_event_stream_connected_is_read() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    // The fake answers at once; `ask`'s stream is held until it has.
    spawn_acp(&broker, "gem", &[]);
    let gate = Gate::start(&broker.url);
    let asker = ask_through(&gate, &broker, &["--timeout", "60s", "gem", "quick one"]);
    gate.wait_held();
    broker.wait_event("the answer", |e| e["type"] == "message_replied");
    gate.open();

    let out = asker.wait_with_output().expect("courier ask ends");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let said = text(&out.stdout);
    assert!(
        said.contains("echo:") && said.contains("quick one"),
        "{}",
        show(&out)
    );
    broker.stop_and_check();
}

#[test]
fn a_broken_event_stream_is_reopened_and_a_reply_in_the_break_is_read() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    spawn_acp(&broker, "slow", &["--think-ms", "600000"]);
    spawn_acp(&broker, "boss", &["--think-ms", "600000"]);
    let gate = Gate::start(&broker.url);
    gate.open();
    let asker = ask_through(
        &gate,
        &broker,
        &["--from", "boss", "--timeout", "60s", "slow", "still there?"],
    );
    gate.wait_passed(1);
    let accepted = broker.wait_event("the question", |e| e["type"] == "message_accepted");
    let id = accepted["message_id"].as_str().expect("id").to_string();

    // The stream breaks; while `ask` cannot reopen it, the reply comes.
    gate.close();
    gate.cut_streams();
    gate.wait_held();
    let (status, v) = broker.post(
        "/v1/messages",
        &json!({"from": "slow", "to": "boss", "body": "yes", "thread": id}),
    );
    assert!(status == 201, "reply send: {status} {v}");
    gate.open();

    let out = asker.wait_with_output().expect("courier ask ends");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(text(&out.stdout).trim(), "yes", "{}", show(&out));
    assert!(text(&out.stderr).contains("reconnecting"), "{}", show(&out));
    broker.stop_and_check();
}
