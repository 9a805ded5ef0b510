//! End-to-end tests of the rules of who may message whom (`courier up
//! --acl`): DMs, channels and broadcasts allowed and denied through the
//! API, an agent's own token and the CLI; a refused send is never queued
//! (not a byte of it in the store) and raises `message_refused`; a bad file
//! stops the start naming its line. A real `courier up`, real HTTP on
//! 127.0.0.1, fake agents in real PTYs, the real SQLite file.

mod common;

use std::path::Path;

use common::{Broker, courier_command, environ_var, error_code, wait_for};
use serde_json::{Value, json};

const RULES: &str = r##"# who may message whom; first match wins
default = "allow"

[[rule]]
name = "lead-may-page-ops"
action = "allow"
from = ["lead"]
to = ["#ops-*"]

[[rule]]
name = "ops-is-closed"
action = "deny"
to = ["#ops-*"]

[[rule]]
name = "mallory-not-to-bob"
action = "deny"
from = ["mallory"]
to = ["bob"]

[[rule]]
action = "deny"
from = ["bot-*"]
to = ["*"]
"##;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn send(broker: &Broker, from: &str, to: &str, body: &str) -> (u16, Value) {
    broker.post(
        "/v1/messages",
        &json!({"from": from, "to": to, "body": body}),
    )
}

fn recipients(v: &Value) -> Vec<String> {
    v["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["agent"].as_str().map(str::to_string))
        .collect()
}

/// Every file of the state directory that holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("state dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            found.push(path.display().to_string());
        }
    }
    found
}

/// The `message_refused` events.
fn refusals(broker: &Broker) -> Vec<Value> {
    broker
        .events()
        .into_iter()
        .filter(|e| e["type"] == "message_refused")
        .collect()
}

#[test]
fn acl_rules_decide_direct_channel_and_broadcast_sends_and_refused_ones_leave_nothing_queued() {
    let tmp = tempdir();
    let acl = tmp.path().join("rules.toml");
    std::fs::write(&acl, RULES).expect("write rules");
    let acl_arg = acl.display().to_string();
    let broker = Broker::start(tmp.path(), &["--acl", &acl_arg]);
    let status = broker.get_ok("/v1/status");
    assert_eq!(
        status["acl"],
        json!({"file": acl_arg, "rules": 4, "default": "allow"})
    );
    broker.spawn_fake("alice", &[], &["team", "ops-eu"]);
    broker.spawn_fake("bob", &[], &["team", "ops-eu"]);
    let mallory = broker.spawn_fake("mallory", &[], &["team"]);

    // A direct message: refused by the rule that names the pair, with the
    // rule in the JSON error; allowed to someone else.
    let (status, v) = send(&broker, "mallory", "bob", "REFUSED-DM-1");
    assert_eq!((status, error_code(&v)), (403, "acl_denied"), "{v}");
    assert_eq!(v["error"]["rule"], "mallory-not-to-bob");
    assert_eq!(
        v["error"]["refused"],
        json!([{"agent": "bob", "rule": "mallory-not-to-bob"}])
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("mallory-not-to-bob")),
        "{v}"
    );
    let (status, v) = send(&broker, "mallory", "alice", "allowed dm");
    assert_eq!(
        (status, recipients(&v)),
        (201, vec!["alice".to_string()]),
        "{v}"
    );

    // The same through mallory's own token (what its CLI and MCP use).
    let token = wait_for("mallory's COURIER_TOKEN", || {
        environ_var(mallory.pid, "COURIER_TOKEN")
    });
    let (status, v) = broker.call(
        broker
            .http()
            .post(format!("{}/v1/messages", broker.url))
            .bearer_auth(&token)
            .json(&json!({"to": "bob", "body": "REFUSED-DM-2"})),
    );
    assert_eq!((status, error_code(&v)), (403, "acl_denied"), "{v}");

    // And through the CLI: it fails, naming the rule.
    let out = courier_command()
        .arg("--state-dir")
        .arg(&broker.state_dir)
        .args(["send", "--from", "mallory", "bob", "REFUSED-DM-3"])
        .output()
        .expect("courier send");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("acl_denied") && stderr.contains("mallory-not-to-bob"),
        "{stderr}"
    );

    // A channel partly refused: delivered to the allowed, the refused ones
    // listed in the answer and in one event with the message id.
    let (status, v) = send(&broker, "mallory", "#team", "team news");
    assert_eq!(
        (status, recipients(&v)),
        (201, vec!["alice".to_string()]),
        "{v}"
    );
    assert_eq!(
        v["refused"],
        json!([{"agent": "bob", "rule": "mallory-not-to-bob"}])
    );
    let partly = v["message_id"].clone();

    // A channel wholly refused, and the allow rule before it.
    let (status, v) = send(&broker, "dev", "#ops-eu", "REFUSED-OPS");
    assert_eq!((status, error_code(&v)), (403, "acl_denied"), "{v}");
    assert_eq!(v["error"]["rule"], "ops-is-closed");
    let (status, v) = send(&broker, "lead", "#ops-eu", "page from lead");
    assert_eq!(
        (status, recipients(&v)),
        (201, vec!["alice".to_string(), "bob".to_string()]),
        "{v}"
    );

    // Broadcast: refused from bots (the unnamed rule is named by its line),
    // allowed from others.
    let (status, v) = send(&broker, "bot-7", "*", "REFUSED-BROADCAST");
    assert_eq!((status, error_code(&v)), (403, "acl_denied"), "{v}");
    assert_eq!(v["error"]["rule"], "rule 4 (line 21)");
    let (status, v) = send(&broker, "alice", "*", "hello all");
    assert_eq!(
        (status, recipients(&v)),
        (201, vec!["bob".to_string(), "mallory".to_string()]),
        "{v}"
    );
    // The partly refused broadcast from mallory skips bob only.
    let (status, v) = send(&broker, "mallory", "*", "mallory to all");
    assert_eq!(
        (status, recipients(&v)),
        (201, vec!["alice".to_string()]),
        "{v}"
    );

    // One message_refused per refusal, naming sender, address and rule.
    let events = refusals(&broker);
    let seen: Vec<(Value, Value, Value, bool)> = events
        .iter()
        .map(|e| {
            (
                e["from"].clone(),
                e["to"].clone(),
                e["rule"].clone(),
                e.get("message_id").is_some(),
            )
        })
        .collect();
    let expect = |from: &str, to: &str, rule: &str, partly: bool| {
        (json!(from), json!(to), json!(rule), partly)
    };
    assert_eq!(
        seen,
        [
            expect("mallory", "bob", "mallory-not-to-bob", false),
            expect("mallory", "bob", "mallory-not-to-bob", false),
            expect("mallory", "bob", "mallory-not-to-bob", false),
            expect("mallory", "#team", "mallory-not-to-bob", true),
            expect("dev", "#ops-eu", "ops-is-closed", false),
            expect("bot-7", "*", "rule 4 (line 21)", false),
            expect("mallory", "*", "mallory-not-to-bob", true),
        ]
    );
    assert_eq!(events[3]["message_id"], partly);
    assert_eq!(
        events[4]["refused"],
        json!([
            {"agent": "alice", "rule": "ops-is-closed"},
            {"agent": "bob", "rule": "ops-is-closed"}
        ])
    );

    // Never queued: no refused body is anywhere in the state directory
    // (the store, its WAL), while an accepted one is.
    for body in [
        "REFUSED-DM-1",
        "REFUSED-DM-2",
        "REFUSED-DM-3",
        "REFUSED-OPS",
        "REFUSED-BROADCAST",
    ] {
        assert_eq!(
            files_holding(&broker.state_dir, body),
            Vec::<String>::new(),
            "{body}"
        );
    }
    assert!(!files_holding(&broker.state_dir, "page from lead").is_empty());
    // Bob's inbox has nothing from mallory; the metric counts the refusals.
    let inbox = broker.get_ok("/v1/agents/bob/inbox");
    let from_mallory = inbox["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["from"] == "mallory")
        .count();
    assert_eq!(from_mallory, 0, "{inbox}");
    let metrics = broker
        .req(reqwest::Method::GET, "/metrics")
        .send()
        .and_then(|r| r.text())
        .expect("metrics");
    assert!(
        metrics.contains("courier_messages_refused_total 5\n"),
        "{metrics}"
    );
    broker.stop_and_check();
}

#[test]
fn a_bad_acl_file_stops_the_start_naming_the_file_and_line() {
    let tmp = tempdir();
    let state = tmp.path().join("state");
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "default = \"allow\"\n\n[[rule]]\naction = \"deny\"\nfrom = [\"bot *\"]\n",
    )
    .expect("write");
    let up = |args: &[&str]| {
        courier_command()
            .arg("up")
            .arg("--state-dir")
            .arg(&state)
            .args(args)
            .output()
            .expect("courier up")
    };
    let out = up(&["--acl", &bad.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("ACL file {}, line 5", bad.display())) && stderr.contains("bot *"),
        "{stderr}"
    );
    assert!(!state.join("connection.json").exists());

    // A file given that does not exist.
    let missing = tmp.path().join("missing.toml");
    let out = up(&["--acl", &missing.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("missing.toml"),
        "{stderr}"
    );

    // The default file in the state directory is read too, through
    // COURIER_ACL's absence; a syntax error names its line.
    std::fs::create_dir_all(&state).expect("state dir");
    std::fs::write(state.join("acl.toml"), "[[rule]\naction = \"deny\"\n").expect("write");
    let out = up(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("acl.toml, line 1"), "{stderr}");

    // Through COURIER_ACL as well.
    let out = courier_command()
        .env("COURIER_ACL", &bad)
        .arg("up")
        .arg("--state-dir")
        .arg(tmp.path().join("other"))
        .output()
        .expect("courier up");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("line 5"),
        "{stderr}"
    );
}
