//! End-to-end tests of observer tokens: read-only on every route of the
//! broker's own OpenAPI document, expired and revoked ones refused, listed
//! without secrets, and stored as hashes only. A real `courier up`, real
//! HTTP on 127.0.0.1, fake agents in real PTYs.

mod common;

use std::path::Path;

use common::{Broker, courier_command, error_code, wait_for};
use reqwest::Method;
use serde_json::{Value, json};

/// Reads that only the owner may make, by design: the token list.
const OWNER_ONLY_READS: &[&str] = &["/v1/tokens"];

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Issues an observer token through the API; returns (id, token).
fn issue(broker: &Broker, body: Value) -> (String, String) {
    let (status, v) = broker.post("/v1/tokens", &body);
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let token = v["token"].as_str().expect("token").to_string();
    assert!(
        token.starts_with("courier_obs_") && token.len() > 64,
        "{token}"
    );
    (id, token)
}

fn call_as(broker: &Broker, token: &str, method: Method, path: &str) -> (u16, Value) {
    let builder = broker
        .http()
        .request(method.clone(), format!("{}{path}", broker.url))
        .bearer_auth(token);
    let builder = if method == Method::GET || method == Method::HEAD {
        builder
    } else {
        builder.json(&json!({}))
    };
    broker.call(builder)
}

/// A documented path with its parameters filled with things that exist.
fn fill(path: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(path.to_string(), |p, (name, value)| {
        p.replace(&format!("{{{name}}}"), value)
    })
}

/// The status of a WebSocket handshake (101 when it upgraded).
fn websocket_status(broker: &Broker, path: &str, token: &str) -> u16 {
    let url = format!(
        "{}{path}?token={token}",
        broker.url.replacen("http://", "ws://", 1)
    );
    match tungstenite::connect(url) {
        Ok((mut socket, response)) => {
            let _ = socket.close(None);
            response.status().as_u16()
        }
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("WebSocket {path}: {e}"),
    }
}

#[test]
fn an_observer_token_reads_every_documented_read_and_is_refused_every_write() {
    let tmp = tempdir();
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    broker.spawn_fake("alice", &[], &["team"]);
    broker.spawn_fake("bob", &[], &["team"]);
    let sent = broker.send("human", "alice", "for the record");
    let message_id = sent["message_id"].as_str().expect("id").to_string();
    let (token_id, observer) = issue(&broker, json!({"kind": "observer", "label": "watcher"}));
    let (other_id, other) = issue(&broker, json!({"kind": "observer"}));

    let (status, doc) = call_as(&broker, &observer, Method::GET, "/v1/openapi.json");
    assert_eq!(status, 200, "{doc}");
    let last_seq = broker.get_ok("/v1/status")["last_seq"].clone();
    let paths = doc["paths"].as_object().expect("paths");
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    for (template, operations) in paths {
        let id = if template.starts_with("/v1/messages/") {
            message_id.as_str()
        } else if template.starts_with("/v1/tokens/") {
            other_id.as_str()
        } else {
            "01NOSUCHDELIVERY"
        };
        let values = [
            ("name", "alice"),
            ("agent", "alice"),
            ("channel", "team"),
            ("id", id),
        ];
        let path = fill(template, &values);
        assert!(!path.contains('{'), "unfilled parameter in {template}");
        for (method, operation) in operations.as_object().expect("operations") {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let is_read = method == Method::GET || method == Method::HEAD;
            let websocket = operation["responses"].get("101").is_some();
            let label = format!("{method} {template}");
            if !is_read {
                let (status, v) = call_as(&broker, &observer, method.clone(), &path);
                assert_eq!((status, error_code(&v)), (403, "read_only"), "{label}: {v}");
                assert!(
                    v["error"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(&token_id)),
                    "{label}: {v}"
                );
                writes.push(label);
                continue;
            }
            let status = if websocket {
                websocket_status(&broker, &path, &observer)
            } else if template == "/v1/events/stream" {
                // Only the status: the stream itself never ends.
                let response = broker
                    .http()
                    .get(format!("{}{path}", broker.url))
                    .bearer_auth(&observer)
                    .send()
                    .expect("SSE request");
                response.status().as_u16()
            } else {
                call_as(&broker, &observer, method.clone(), &path).0
            };
            if OWNER_ONLY_READS.contains(&template.as_str()) {
                assert_eq!(status, 403, "{label} is owner-only");
            } else if websocket {
                assert_eq!(status, 101, "{label}");
            } else {
                assert!(matches!(status, 200 | 404), "{label}: {status}");
            }
            reads.push(label);
        }
    }
    // The table covered what matters, and the document is the whole API.
    for must in [
        "POST /v1/messages",
        "POST /v1/agents",
        "DELETE /v1/agents/{name}",
        "POST /v1/agents/{name}/input",
        "POST /v1/dlq/{id}/replay",
        "PUT /v1/agents/{name}/mode",
        "POST /v1/agents/{name}/flush",
        "POST /v1/agents/{name}/inbox/read",
        "POST /v1/agents/{name}/inbox/claim",
        "POST /v1/channels/{channel}/members",
        "DELETE /v1/channels/{channel}/members/{agent}",
        "POST /v1/shutdown",
        "POST /v1/tokens",
        "DELETE /v1/tokens/{id}",
    ] {
        assert!(writes.iter().any(|w| w == must), "{must} not in {writes:?}");
    }
    for must in [
        "GET /v1/agents",
        "GET /v1/agents/{name}/screen",
        "GET /v1/events",
        "GET /v1/messages/{id}",
        "GET /v1/events/ws",
        "GET /v1/agents/{name}/terminal",
    ] {
        assert!(reads.iter().any(|r| r == must), "{must} not in {reads:?}");
    }
    // What it read is what the owner reads: any agent's screen, any message.
    let (status, v) = call_as(&broker, &observer, Method::GET, "/v1/agents/bob/screen");
    assert_eq!((status, v["name"].as_str()), (200, Some("bob")), "{v}");
    let (status, v) = call_as(
        &broker,
        &observer,
        Method::GET,
        &format!("/v1/messages/{message_id}"),
    );
    assert_eq!(
        (status, v["message"]["body"].as_str()),
        (200, Some("for the record")),
        "{v}"
    );
    let (_, v) = call_as(&broker, &observer, Method::GET, "/v1/whoami");
    assert_eq!(v, json!({"kind": "observer", "token_id": token_id}));
    // Any live terminal, watched only: its keystrokes and resizes refused.
    let ws = common::viewer::open(&broker, "bob", Some(&observer), "").expect("upgrade");
    let mut viewer = common::viewer::Viewer::start(ws);
    assert_eq!(viewer.hello["writable"], json!(false), "{}", viewer.hello);
    viewer.send_json(&json!({"type": "input", "data": "typed by an observer\r"}));
    assert_eq!(viewer.until_text("error")["code"], "read_only");
    viewer.send_json(&json!({"type": "resize", "rows": 10, "cols": 40}));
    assert_eq!(viewer.until_text("error")["code"], "read_only");
    drop(viewer);
    assert!(
        !broker.screen("bob").contains("typed by an observer"),
        "{}",
        broker.screen("bob")
    );

    // None of the writes happened: both agents run, nothing was sent,
    // joined, revoked or shut down; no event but what reads cause.
    let names: Vec<Value> = broker.agents().iter().map(|a| a["name"].clone()).collect();
    assert_eq!(names, [json!("alice"), json!("bob")]);
    let events = broker.events();
    let after: Vec<&Value> = events
        .iter()
        .filter(|e| e["seq"].as_u64() > last_seq.as_u64())
        .filter(|e| {
            let t = e["type"].as_str().unwrap_or_default();
            t.starts_with("message_") || t.starts_with("channel_") || t.starts_with("token_")
        })
        .collect();
    assert!(after.is_empty(), "{after:?}");
    let (status, _) = call_as(&broker, &other, Method::GET, "/v1/agents");
    assert_eq!(status, 200, "the other token was not revoked");
    assert_eq!(broker.get_ok("/healthz")["status"], "ok");
    broker.stop_and_check();
}

/// `courier <args>` against `broker`'s state directory; (status, stdout, stderr).
fn courier(broker: &Broker, args: &[&str]) -> (bool, String, String) {
    let out = courier_command()
        .arg("--state-dir")
        .arg(&broker.state_dir)
        .args(args)
        .output()
        .expect("run courier");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
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

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn revoked_and_expired_tokens_are_refused_and_only_hashes_are_kept() {
    let tmp = tempdir();
    let mut broker = Broker::start(tmp.path(), &[]);

    // From the CLI: printed once on stdout, usable at once.
    let (ok, cli_token, stderr) = courier(
        &broker,
        &[
            "token",
            "create",
            "--observer",
            "--name",
            "ci",
            "--expires",
            "1h",
        ],
    );
    assert!(ok, "{stderr}");
    let cli_token = cli_token.trim().to_string();
    assert!(stderr.contains("shown this once"), "{stderr}");
    let (status, v) = call_as(&broker, &cli_token, Method::GET, "/v1/agents");
    assert_eq!(status, 200, "{v}");
    let (ok, json_out, stderr) = courier(&broker, &["--json", "token", "create", "--observer"]);
    assert!(ok, "{stderr}");
    let json_made: Value = serde_json::from_str(&json_out).expect("JSON");
    let json_token = json_made["token"].as_str().expect("token").to_string();
    let (ok, _, stderr) = courier(&broker, &["token", "create"]);
    assert!(!ok && stderr.contains("--observer"), "{stderr}");

    // Revoked: usable before, 401 after.
    let (revoked_id, revoked) = issue(&broker, json!({"kind": "observer", "label": "soon gone"}));
    let (status, _) = call_as(&broker, &revoked, Method::GET, "/v1/events");
    assert_eq!(status, 200);
    let (ok, out, stderr) = courier(&broker, &["token", "revoke", &revoked_id]);
    assert!(ok && out.contains(&revoked_id), "{out}{stderr}");
    let (status, v) = call_as(&broker, &revoked, Method::GET, "/v1/events");
    assert_eq!((status, error_code(&v)), (401, "token_revoked"), "{v}");
    let (status, v) = broker.delete(&format!("/v1/tokens/{revoked_id}"));
    assert_eq!((status, v["changed"].as_bool()), (200, Some(false)), "{v}");
    let (status, v) = broker.delete("/v1/tokens/01NOSUCHTOKEN");
    assert_eq!((status, error_code(&v)), (404, "unknown_token"), "{v}");

    // Expired: refused once its second is up.
    let (expired_id, expired) = issue(&broker, json!({"kind": "observer", "expires_in_s": 1}));
    wait_for("the short token to expire", || {
        let (status, v) = call_as(&broker, &expired, Method::GET, "/v1/agents");
        (status == 401).then_some(v)
    });
    let (status, v) = call_as(&broker, &expired, Method::GET, "/v1/agents");
    assert_eq!((status, error_code(&v)), (401, "token_expired"), "{v}");

    // Bad requests are 4xx, never a token.
    for body in [
        json!({"kind": "agent"}),
        json!({"kind": "owner"}),
        json!({"kind": "observer", "expires_in_s": 0}),
        json!({"kind": "observer", "label": "a\u{1b}[2J"}),
        json!({"kind": "observer", "label": "x".repeat(129)}),
    ] {
        let (status, v) = broker.post("/v1/tokens", &body);
        assert_eq!(
            (status, error_code(&v)),
            (422, "invalid_token_request"),
            "{body}: {v}"
        );
    }

    // The list: ids, labels, kinds, states, times; never a secret.
    let secrets = [&cli_token, &json_token, &revoked, &expired];
    let listed = broker.get_ok("/v1/tokens");
    let text = listed.to_string();
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "secret in the list: {text}"
        );
    }
    let tokens = listed["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 4, "{listed}");
    for t in tokens {
        assert!(t.get("token").is_none() && t.get("hash").is_none(), "{t}");
        assert_eq!(t["kind"], "observer");
    }
    let state_of = |id: &str| {
        tokens
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["state"].clone())
    };
    assert_eq!(state_of(&revoked_id), Some(json!("revoked")));
    assert_eq!(state_of(&expired_id), Some(json!("expired")));
    let (ok, table, stderr) = courier(&broker, &["token", "list"]);
    assert!(ok, "{stderr}");
    assert!(
        table.contains("soon gone") && table.contains("revoked"),
        "{table}"
    );
    for secret in secrets {
        assert!(!table.contains(secret.as_str()), "{table}");
    }
    // Events name tokens by id, never by secret.
    let events = broker.events();
    let created = events
        .iter()
        .filter(|e| e["type"] == "token_created")
        .count();
    let revokes: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "token_revoked")
        .collect();
    assert_eq!((created, revokes.len()), (4, 1), "{events:?}");
    assert_eq!(revokes[0]["token_id"], revoked_id.as_str());

    // The store holds hashes only: no file of the state directory holds a
    // secret, and the database holds each one's SHA-256.
    for secret in secrets {
        assert_eq!(
            files_holding(&broker.state_dir, secret),
            Vec::<String>::new()
        );
        let hash = sha256_hex(secret);
        assert!(
            !files_holding(&broker.state_dir, &hash).is_empty(),
            "the hash of a token is stored"
        );
    }

    // Durable: a restarted broker knows them all, and refuses the same.
    let status = broker.terminate();
    assert!(status.success(), "{}", broker.stderr());
    let broker = Broker::start(tmp.path(), &[]);
    let (status, _) = call_as(&broker, &cli_token, Method::GET, "/v1/agents");
    assert_eq!(status, 200);
    let (status, v) = call_as(&broker, &revoked, Method::GET, "/v1/agents");
    assert_eq!((status, error_code(&v)), (401, "token_revoked"), "{v}");
    let (status, v) = call_as(
        &broker,
        "courier_obs_not-a-token",
        Method::GET,
        "/v1/agents",
    );
    assert_eq!((status, error_code(&v)), (401, "unauthorized"), "{v}");
    for secret in secrets {
        assert_eq!(
            files_holding(&broker.state_dir, secret),
            Vec::<String>::new()
        );
    }
    broker.stop_and_check();
}
