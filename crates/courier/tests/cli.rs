//! End-to-end tests of the command line: the real binary against a real
//! broker process (or none), output checked as people and scripts see it.

mod common;

use std::fs::File;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use common::{Broker, count_in_transcript, courier_command, wait_for, wait_for_within};
use serde_json::{Value, json};

struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `courier <args>` with output in files (no pipe can fill up), killing
/// it if it runs longer than `limit`.
fn run_within(dir: &Path, args: &[&str], limit: Duration) -> Ran {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let out_path = dir.join(format!("cli-{n}.out"));
    let err_path = dir.join(format!("cli-{n}.err"));
    let mut child = courier_command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("run courier");
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for_within(limit, &format!("courier {args:?} to finish"), || {
            child.try_wait().expect("wait for courier")
        })
    }));
    let status = match waited {
        Ok(status) => status,
        Err(panic) => {
            let _ = child.kill();
            let _ = child.wait();
            std::panic::resume_unwind(panic);
        }
    };
    Ran {
        status,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

fn run(dir: &Path, args: &[&str]) -> Ran {
    run_within(dir, args, Duration::from_secs(20))
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let r = run(dir, args);
    assert!(
        r.status.success(),
        "courier {args:?} failed ({}):\n{}\n{}",
        r.status,
        r.stdout,
        r.stderr
    );
    r.stdout
}

#[test]
fn help_mentions_the_demo() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = run_ok(tmp.path(), &["--help"]);
    assert!(out.contains("demo"), "{out}");
    for command in ["up", "send", "events", "dlq"] {
        assert!(out.contains(command), "--help lists {command}:\n{out}");
    }
}

#[test]
fn client_commands_work_against_a_running_broker() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    let bob = broker.spawn_fake("bob", &[], &["team"]);
    let dir = broker.state_dir.display().to_string();
    let root = tmp.path();
    let call = |extra: &[&str]| {
        let mut args = vec!["--state-dir", dir.as_str()];
        args.extend_from_slice(extra);
        run(root, &args)
    };
    let ok = |extra: &[&str]| {
        let r = call(extra);
        assert!(
            r.status.success(),
            "courier {extra:?} failed ({}):\n{}\n{}",
            r.status,
            r.stdout,
            r.stderr
        );
        r.stdout
    };
    let json_of = |extra: &[&str]| -> Value {
        let out = ok(extra);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("courier {extra:?}: {e}\n{out}"))
    };

    let status = ok(&["status"]);
    assert!(status.contains(&broker.pid.to_string()), "{status}");
    assert!(status.contains("ephemeral"), "{status}");
    let status = json_of(&["--json", "status"]);
    assert_eq!(status["pid"], json!(broker.pid), "{status}");
    assert_eq!(status["agents"], json!(1), "{status}");

    let agents = ok(&["agents"]);
    assert!(agents.contains("NAME"), "{agents}");
    assert!(agents.contains("bob"), "{agents}");
    let agents = json_of(&["agents", "--json"]);
    assert_eq!(agents["agents"][0]["name"], "bob", "{agents}");

    let sent = ok(&["send", "bob", "hi"]);
    assert!(sent.contains("accepted for 1 recipient"), "{sent}");
    let sent = json_of(&["--json", "send", "bob", "hi again", "--from", "alice"]);
    let id = sent["message_id"].as_str().expect("message id").to_string();
    assert_eq!(sent["duplicate"], json!(false));
    broker.wait_verified(&id);
    assert_eq!(count_in_transcript(&bob.transcript, &id), 1);

    let message = json_of(&["--json", "message", &id]);
    assert_eq!(message["message"]["from"], "alice", "{message}");
    assert_eq!(message["deliveries"][0]["state"], "verified", "{message}");
    let table = ok(&["message", &id]);
    assert!(table.contains("verified"), "{table}");

    // Idempotent sends from the CLI.
    let first = json_of(&["--json", "send", "bob", "once", "--idempotency-key", "k"]);
    let again = json_of(&["--json", "send", "bob", "once", "--idempotency-key", "k"]);
    assert_eq!(first["message_id"], again["message_id"]);
    assert_eq!(again["duplicate"], json!(true));

    let channels = json_of(&["--json", "channel", "list"]);
    assert_eq!(channels["channels"][0]["name"], "#team", "{channels}");
    let dlq = json_of(&["--json", "dlq", "list"]);
    assert!(dlq["dead_letters"].is_array(), "{dlq}");

    // `events --json` prints one JSON event per line, seqs in order.
    let events = ok(&["--json", "events"]);
    let seqs: Vec<u64> = events
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("{e}: {l}"))
                .get("seq")
                .and_then(Value::as_u64)
                .expect("seq")
        })
        .collect();
    assert!(!seqs.is_empty());
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());

    // What bob's terminal shows, as text.
    let screen = ok(&["screen", "bob"]);
    assert!(screen.contains("hi again"), "{screen}");

    // Channel membership, release and replay print a sentence for people.
    let joined = ok(&["channel", "join", "ops", "bob"]);
    assert!(joined.contains("bob joined #ops"), "{joined}");
    let again = ok(&["channel", "join", "ops", "bob"]);
    assert!(again.contains("bob was already in #ops"), "{again}");
    let left = ok(&["channel", "leave", "ops", "bob"]);
    assert!(left.contains("bob left #ops"), "{left}");
    broker.spawn_fake("held", &["--trust-dialog"], &[]);
    let held = json_of(&["--json", "send", "held", "behind a dialog"]);
    let released = ok(&["release", "held"]);
    assert!(released.contains("released held"), "{released}");
    let dead = json_of(&["--json", "dlq", "list"]);
    let letter = dead["dead_letters"]
        .as_array()
        .and_then(|l| l.iter().find(|d| d["message_id"] == held["message_id"]))
        .unwrap_or_else(|| panic!("the released agent's message is a dead letter: {dead}"))
        .clone();
    assert_eq!(letter["reason"], "agent_released", "{letter}");
    broker.spawn_fake("held", &["--trust-dialog"], &[]);
    let replayed = ok(&["dlq", "replay", letter["id"].as_str().unwrap()]);
    assert!(replayed.contains("back in held's queue"), "{replayed}");

    // An unknown recipient is an error that names the problem.
    let r = call(&["send", "nobody", "hi"]);
    assert!(!r.status.success());
    assert!(r.stderr.contains("unknown_agent"), "{}", r.stderr);

    // `courier down` stops it gracefully.
    let pids = {
        broker.agents();
        broker.seen_agent_pids()
    };
    ok(&["down"]);
    wait_for("the broker to leave after `courier down`", || {
        (!common::alive(broker.pid)).then_some(())
    });
    common::wait_pids_gone(&pids);
}

#[test]
fn send_without_a_broker_fails_and_says_to_start_one() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("empty-state").display().to_string();
    let r = run(tmp.path(), &["--state-dir", &dir, "send", "bob", "hi"]);
    assert!(!r.status.success(), "{}", r.stdout);
    assert!(r.stderr.contains("courier up"), "{}", r.stderr);
}

#[test]
fn demo_runs_to_a_summary_within_30_seconds() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let r = run_within(tmp.path(), &["demo"], Duration::from_secs(30));
    assert!(
        r.status.success(),
        "demo failed ({}):\n{}\n{}",
        r.status,
        r.stdout,
        r.stderr
    );
    assert!(r.stdout.contains("summary"), "{}", r.stdout);
    assert!(!r.stdout.contains("NOT FINISHED"), "{}", r.stdout);
}

#[test]
fn a_second_broker_on_the_same_state_dir_names_the_first() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);
    let dir = broker.state_dir.display().to_string();
    let r = run(tmp.path(), &["up", "--state-dir", &dir]);
    assert!(!r.status.success());
    assert!(
        r.stderr.contains(&format!("pid {}", broker.pid)),
        "{}",
        r.stderr
    );
    // The first broker is untouched.
    let status = broker.get_ok("/v1/status");
    assert_eq!(status["pid"], json!(broker.pid));
    broker.stop_and_check();
}

#[test]
fn completions_are_printed() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = run_ok(tmp.path(), &["completions", "bash"]);
    assert!(out.contains("courier"), "{out}");
    assert!(out.contains("complete"), "{out}");
}
