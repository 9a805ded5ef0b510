//! Errors say whose fault, through the real broker over HTTP: a request that
//! is wrong answers 4xx naming its field; something the broker itself fails
//! at answers 5xx with a code that says what failed, and is logged with the
//! operation.

mod common;

use common::{Broker, EXE, error_code, wait_for};
use serde_json::json;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn a_wrong_request_is_a_4xx_that_names_its_field() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &[]);
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "bad", "command": ["cat"], "prompt_pattern": "(unclosed"}),
    );
    assert_eq!((status, error_code(&v)), (400, "invalid_field"), "{v}");
    assert_eq!(v["error"]["field"], "prompt_pattern", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("(unclosed")),
        "the message says what was wrong: {v}"
    );

    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "both", "preset": "shell", "command": ["bash"]}),
    );
    assert_eq!(
        (status, error_code(&v)),
        (400, "invalid_combination"),
        "{v}"
    );
    assert_eq!(v["error"]["fields"], json!(["command", "preset"]), "{v}");

    // A program that is not there is the spawn's choice, like a preset's
    // CLI that is not installed (this broker runs agents under session
    // hosts, where the host is what fails to start it).
    let missing = "/nonexistent-courier-whose-fault/cli";
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "nowhere", "command": [missing]}),
    );
    assert_eq!((status, error_code(&v)), (422, "spawn_failed"), "{v}");
    assert_eq!(v["error"]["field"], "command", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(missing)),
        "{v}"
    );
    assert!(broker.agents().is_empty());
    broker.stop_and_check();
}

/// The sessions directory is the broker's own: with a file where it should
/// be, a session host cannot be started (root included: nothing can be
/// created under a regular file). The same request succeeds once the
/// directory is back, so the 5xx was the broker's, not the request's.
#[test]
fn a_sessions_directory_the_broker_cannot_use_is_a_5xx_logged_with_the_operation() {
    let tmp = tempdir();
    let broker = Broker::start_with_env(tmp.path(), &[], &[("RUST_LOG", "info")]);
    let sessions = broker.state_dir.join("sessions");
    std::fs::remove_dir_all(&sessions).expect("remove the sessions directory");
    std::fs::write(&sessions, "not a directory").expect("a file in its place");

    let spawn = json!({"name": "alice", "command": [EXE, "fake-agent"]});
    let (status, v) = broker.post("/v1/agents", &spawn);
    assert_eq!((status, error_code(&v)), (500, "terminal_failed"), "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("sessions"), "{v}");
    assert!(
        v["error"].get("field").is_none(),
        "no field is at fault: {v}"
    );
    wait_for(
        "the failure in the broker's log, with its operation",
        || {
            let log = without_colours(&broker.stderr());
            log.lines()
                .any(|l| {
                    l.contains("ERROR")
                        && l.contains("the broker failed a request")
                        && l.contains("operation=terminal")
                })
                .then_some(())
        },
    );
    assert!(broker.agents().is_empty(), "nothing was spawned");

    std::fs::remove_file(&sessions).expect("remove the file");
    std::fs::create_dir(&sessions).expect("the sessions directory again");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sessions, std::fs::Permissions::from_mode(0o700))
        .expect("0700 like the broker's");
    broker.spawn_fake("alice", &[], &[]);
    broker.wait_ready("alice");
    broker.stop_and_check();
}

/// The log as plain text: the fmt layer colours its levels and field names
/// when it is allowed to.
fn without_colours(log: &str) -> String {
    let mut plain = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, then one final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}
