//! End-to-end tests of what an agent's own token may do, of the bounds on
//! spawn requests, and that every rejection is a JSON error: a real
//! `courier up`, real HTTP on 127.0.0.1, fake agents in real PTYs.

mod common;

use common::{Broker, environ_var, error_code, wait_for};
use reqwest::Method;
use reqwest::blocking::RequestBuilder;
use serde_json::{Value, json};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Requests made with one agent's own token (what its `COURIER_TOKEN` is).
struct AsAgent<'a> {
    broker: &'a Broker,
    token: String,
}

impl AsAgent<'_> {
    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.broker
            .http()
            .request(method, format!("{}{path}", self.broker.url))
            .bearer_auth(&self.token)
    }

    fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let builder = self.req(method, path);
        let builder = match body {
            Some(body) => builder.json(&body),
            None => builder,
        };
        self.broker.call(builder)
    }
}

fn members(broker: &Broker, channel: &str) -> Value {
    broker.get_ok("/v1/channels")["channels"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == channel))
        .map(|c| c["members"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn an_agent_token_acts_only_as_itself() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    let alice = broker.spawn_fake("alice", &[], &[]);
    broker.spawn_fake("bob", &[], &["ops"]);
    let token = wait_for("alice's COURIER_TOKEN", || {
        environ_var(alice.pid, "COURIER_TOKEN")
    });
    assert_ne!(token, broker.token);
    let me = AsAgent {
        broker: &broker,
        token,
    };

    // Owner-only routes, for another agent and for itself alike.
    let refused = [
        (
            Method::POST,
            "/v1/agents/bob/input",
            Some(json!({"text": "rm -rf ~\r"})),
        ),
        (
            Method::POST,
            "/v1/agents/alice/input",
            Some(json!({"text": "x"})),
        ),
        (Method::DELETE, "/v1/agents/bob", None),
        (Method::DELETE, "/v1/agents/alice", None),
        (
            Method::POST,
            "/v1/agents",
            Some(json!({"name": "mallory", "command": ["true"]})),
        ),
        (Method::POST, "/v1/dlq/01NOSUCHDELIVERY/replay", None),
        (Method::POST, "/v1/shutdown", Some(json!({}))),
    ];
    for (method, path, body) in refused {
        let (status, v) = me.call(method.clone(), path, body);
        assert_eq!(
            (status, error_code(&v)),
            (403, "owner_only"),
            "{method} {path}: {v}"
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(path)),
            "{v}"
        );
    }
    // None of them happened: both agents run, no mallory, the broker serves.
    let mut names: Vec<String> = broker
        .agents()
        .iter()
        .filter_map(|a| a["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(broker.get_ok("/healthz")["status"], "ok");

    // Another agent's inbox, screen, mode and flush: refused.
    for (method, path, body, code) in [
        (Method::GET, "/v1/agents/bob/inbox", None, "not_your_inbox"),
        (
            Method::POST,
            "/v1/agents/bob/inbox/claim",
            None,
            "not_your_inbox",
        ),
        (
            Method::PUT,
            "/v1/agents/bob/mode",
            Some(json!({"mode": "manual"})),
            "not_your_inbox",
        ),
        (Method::POST, "/v1/agents/bob/flush", None, "not_your_inbox"),
        (
            Method::GET,
            "/v1/agents/bob/screen",
            None,
            "not_your_screen",
        ),
    ] {
        let (status, v) = me.call(method.clone(), path, body);
        assert_eq!(
            (status, error_code(&v)),
            (403, code),
            "{method} {path}: {v}"
        );
    }
    assert_eq!(broker.get_ok("/v1/agents/bob")["mode"], "idle");

    // Its own: allowed, with its own name in the answer.
    let (status, v) = me.call(Method::GET, "/v1/agents/alice/inbox", None);
    assert_eq!((status, v["agent"].as_str()), (200, Some("alice")), "{v}");
    let (status, v) = me.call(
        Method::PUT,
        "/v1/agents/alice/mode",
        Some(json!({"mode": "manual"})),
    );
    assert_eq!((status, v["mode"].as_str()), (200, Some("manual")), "{v}");
    let (status, v) = me.call(Method::POST, "/v1/agents/alice/flush", None);
    assert_eq!((status, v["flushed"].as_u64()), (200, Some(0)), "{v}");
    let (status, v) = me.call(
        Method::PUT,
        "/v1/agents/alice/mode",
        Some(json!({"mode": "idle"})),
    );
    assert_eq!((status, v["mode"].as_str()), (200, Some("idle")), "{v}");
    let (status, v) = me.call(Method::GET, "/v1/agents/alice/screen", None);
    assert_eq!((status, v["name"].as_str()), (200, Some("alice")), "{v}");

    // Channel membership: only for itself.
    let (status, v) = me.call(
        Method::POST,
        "/v1/channels/ops/members",
        Some(json!({"agent": "bob"})),
    );
    assert_eq!((status, error_code(&v)), (403, "not_yourself"), "{v}");
    let (status, v) = me.call(Method::DELETE, "/v1/channels/ops/members/bob", None);
    assert_eq!((status, error_code(&v)), (403, "not_yourself"), "{v}");
    assert_eq!(members(&broker, "#ops"), json!(["bob"]));
    let (status, v) = me.call(
        Method::POST,
        "/v1/channels/ops/members",
        Some(json!({"agent": "alice"})),
    );
    assert_eq!((status, v["changed"].as_bool()), (200, Some(true)), "{v}");
    assert_eq!(members(&broker, "#ops"), json!(["alice", "bob"]));
    let (status, v) = me.call(Method::DELETE, "/v1/channels/ops/members/alice", None);
    assert_eq!((status, v["changed"].as_bool()), (200, Some(true)), "{v}");
    assert_eq!(members(&broker, "#ops"), json!(["bob"]));

    // Messages: the ones it is a party to, not others'.
    let to_bob = broker.send("human", "bob", "for bob only");
    let to_bob = to_bob["message_id"].as_str().expect("id");
    let (status, v) = me.call(Method::GET, &format!("/v1/messages/{to_bob}"), None);
    assert_eq!((status, error_code(&v)), (403, "not_your_message"), "{v}");
    let to_alice = broker.send("human", "alice", "for alice");
    let to_alice = to_alice["message_id"].as_str().expect("id");
    let (status, v) = me.call(Method::GET, &format!("/v1/messages/{to_alice}"), None);
    assert_eq!(
        (status, v["message"]["body"].as_str()),
        (200, Some("for alice")),
        "{v}"
    );

    // What is shared stays readable.
    for path in [
        "/v1/agents",
        "/v1/agents/bob",
        "/v1/channels",
        "/v1/events",
        "/v1/dlq",
        "/v1/status",
    ] {
        let (status, v) = me.call(Method::GET, path, None);
        assert_eq!(status, 200, "GET {path}: {v}");
    }

    // The owner is not limited by any of it.
    let (status, v) = broker.post("/v1/agents/bob/input", &json!({"text": "x"}));
    assert_eq!(status, 204, "{v}");
    let (status, v) = broker.get("/v1/agents/bob/inbox");
    assert_eq!((status, v["agent"].as_str()), (200, Some("bob")), "{v}");
    broker.stop_and_check();
}

#[test]
fn spawn_sizes_out_of_bounds_are_refused_and_the_broker_survives() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    let spawn = |rows: Value, cols: Value| {
        broker.post(
            "/v1/agents",
            &json!({"name": "big", "command": ["true"], "rows": rows, "cols": cols}),
        )
    };
    for (rows, cols, field) in [
        (65535, 65535, "rows"),
        (501, 80, "rows"),
        (0, 80, "rows"),
        (40, 1001, "cols"),
        (40, 0, "cols"),
    ] {
        let (status, v) = spawn(json!(rows), json!(cols));
        assert_eq!(
            (status, error_code(&v)),
            (422, "invalid_spec"),
            "{rows}x{cols}: {v}"
        );
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("{field}: ")), "{message}");
    }
    // Beyond u16 is refused by the JSON decoder, still as a JSON error.
    let (status, v) = spawn(json!(70000), json!(80));
    assert_eq!((status, error_code(&v)), (400, "malformed_json"), "{v}");
    // Other unbounded inputs that drive allocations or exec.
    let env: serde_json::Map<String, Value> =
        (0..300).map(|i| (format!("V{i}"), json!("x"))).collect();
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "big", "command": ["true"], "env": env}),
    );
    assert_eq!((status, error_code(&v)), (422, "invalid_spec"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("env: ")),
        "{v}"
    );
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "big", "command": ["tr\u{0}ue"]}),
    );
    assert_eq!((status, error_code(&v)), (422, "invalid_spec"), "{v}");

    // Nothing was spawned, and the broker still answers.
    let (status, v) = broker.get("/v1/agents/big");
    assert_eq!((status, error_code(&v)), (404, "unknown_agent"), "{v}");
    assert_eq!(broker.get_ok("/healthz")["status"], "ok");

    // The documented maximum is accepted and is the terminal's real size.
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "wide", "command": [common::EXE, "fake-agent"], "rows": 500, "cols": 1000}),
    );
    assert_eq!(status, 201, "{v}");
    let screen = broker.get_ok("/v1/agents/wide/screen");
    assert_eq!(screen["size"], json!([500, 1000]), "{screen}");
    broker.stop_and_check();
}

#[test]
fn every_rejection_is_a_json_error() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    broker.spawn_fake("alice", &[], &[]);

    // Bad query strings name the parameter.
    for (path, param) in [
        ("/v1/events?since=abc", "since"),
        ("/v1/events?limit=-1", "limit"),
        ("/v1/dlq?limit=lots", "limit"),
        ("/v1/agents/alice/inbox?limit=x", "limit"),
        ("/v1/agents/alice/screen?scrollback=all", "scrollback"),
        ("/v1/events/stream?since=-5", "since"),
    ] {
        let (status, v) = broker.get(path);
        assert_eq!((status, error_code(&v)), (400, "bad_query"), "{path}: {v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(param), "{path}: {message}");
    }

    // A path segment that is not UTF-8.
    let (status, v) = broker.get("/v1/agents/%FF/screen");
    assert_eq!((status, error_code(&v)), (400, "bad_path"), "{v}");

    // A method the route does not have: 405 with Allow, as JSON.
    let response = broker
        .req(Method::PUT, "/v1/messages")
        .send()
        .expect("request");
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (status, v) = common::decode(response);
    assert_eq!((status, error_code(&v)), (405, "method_not_allowed"), "{v}");
    assert_eq!(allow.as_deref(), Some("POST"));

    // A plain GET on the WebSocket route (no upgrade).
    let (status, v) = broker.get("/v1/events/ws");
    assert!((400..500).contains(&status), "{status} {v}");
    assert!(v["error"]["message"].is_string(), "{v}");

    // A body that is not JSON where an optional JSON body is read raw.
    let (status, v) = broker.call(
        broker
            .req(Method::POST, "/v1/agents/alice/inbox/read")
            .body("{not json"),
    );
    assert_eq!((status, error_code(&v)), (400, "bad_request"), "{v}");
    // Spawn without a JSON content type.
    let (status, v) = broker.call(
        broker
            .req(Method::POST, "/v1/agents")
            .body("{\"name\":\"x\",\"command\":[\"true\"]}"),
    );
    assert_eq!((status, error_code(&v)), (415, "content_type"), "{v}");
    assert_eq!(broker.get_ok("/healthz")["status"], "ok");
    broker.stop_and_check();
}
