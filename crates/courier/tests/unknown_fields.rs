//! A request body with a field the API does not know is refused with the
//! field's name and the expected ones (422 `unknown_field`), never taken
//! without it: a spawn with `channel` for `channels` used to start an agent
//! in no channel at all.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// The error of a refused body names `field` and lists `expected`.
fn assert_names_the_field(status: u16, v: &Value, field: &str, expected: &str) {
    assert_eq!(status, 422, "{v}");
    assert_eq!(error_code(v), "unknown_field", "{v}");
    assert_eq!(v["error"]["field"], field, "{v}");
    let listed: Vec<&str> = v["error"]["expected"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(listed.contains(&expected), "{expected} in {v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(field), "{message}");
}

#[test]
fn a_spawn_with_a_misspelled_field_is_refused_naming_it_and_starts_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "bob", "command": [EXE, "fake-agent"], "channel": ["ops"]}),
    );
    assert_names_the_field(status, &v, "channel", "channels");
    assert_eq!(broker.get("/v1/agents/bob").0, 404, "no agent was started");

    // Nested: a restart policy's misspelled field says where it sat.
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "bob", "command": [EXE, "fake-agent"],
                "restart": {"policy": "always", "max_restart": 3}}),
    );
    assert_names_the_field(status, &v, "max_restart", "max_restarts");
    assert_eq!(v["error"]["at"], "restart", "{v}");

    // The CLI shows the broker's words.
    let out = courier_command()
        .args(["--url", &broker.url, "--token", &broker.token])
        .args(["spawn", "--name", "bob", "--", EXE, "fake-agent"])
        .output()
        .expect("run courier spawn");
    assert!(
        out.status.success(),
        "the CLI sends only known fields: {out:?}"
    );
    broker.stop_and_check();
}

#[test]
fn every_other_request_body_refuses_an_unknown_field_by_name() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);
    broker.spawn_fake("bob", &[], &[]);
    broker.wait_ready("bob");
    // (method, path, body, the unknown field, a field it expects)
    let cases = [
        (
            Method::POST,
            "/v1/messages",
            json!({"from": "alice", "to": "bob", "body": "hi", "thred": "x"}),
            "thred",
            "thread",
        ),
        (
            Method::PUT,
            "/v1/agents/bob/mode",
            json!({"mode": "manual", "mod": "idle"}),
            "mod",
            "mode",
        ),
        (
            Method::POST,
            "/v1/tokens",
            json!({"kind": "observer", "lable": "ci"}),
            "lable",
            "label",
        ),
        (
            Method::POST,
            "/v1/agents/bob/done",
            json!({"results": "built"}),
            "results",
            "result",
        ),
        (
            Method::POST,
            "/v1/agents/bob/inbox/read",
            json!({"delivery_id": ["d"]}),
            "delivery_id",
            "delivery_ids",
        ),
        (
            Method::POST,
            "/v1/agents/bob/inbox/claim",
            json!({"limits": 1}),
            "limits",
            "limit",
        ),
        (
            Method::POST,
            "/v1/channels/ops/members",
            json!({"agent": "bob", "agents": ["bob"]}),
            "agents",
            "agent",
        ),
        (
            Method::POST,
            "/v1/agents/bob/input",
            json!({"text": "x", "txt": "y"}),
            "txt",
            "text",
        ),
    ];
    for (method, path, body, unknown, expected) in cases {
        let (status, v) = broker.call(broker.req(method, path).json(&body));
        assert_names_the_field(status, &v, unknown, expected);
    }
    // Nothing of them happened: no message, bob's mode unchanged.
    assert_eq!(broker.get_ok("/v1/status")["pending"], json!(0));
    assert_eq!(broker.get_ok("/v1/agents/bob")["mode"], "idle");
    broker.stop_and_check();
}
