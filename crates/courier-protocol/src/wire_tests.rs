//! The wire form of every body the broker writes, as it wrote it with
//! `json!` before these types: each sample decodes into its type and
//! encodes back to the very same bytes (a `Value`'s text has its keys
//! sorted, as the broker's `json!` objects had).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::agents::{
    AgentList, AgentView, ChannelList, DoneReport, Flushed, Interrupted, MembershipChange,
    ModeChange, Whoami,
};
use crate::deliveries::{
    DeadLetters, DeliveryView, Inbox, Marked, MessageStatus, SendReceipt, SendRequest,
};
use crate::error::{ErrorBody, ErrorDetail};
use crate::events::EventsPage;
use crate::frames::{ClientFrame, ServerFrame};
use crate::spawn::SpawnRequest;
use crate::tokens::{LoginCode, TokenList, TokenView};

/// `sample` decodes as `T` and encodes back byte for byte.
fn same_bytes<T: Serialize + DeserializeOwned + std::fmt::Debug>(sample: Value) -> T {
    let text = sample.to_string();
    let typed: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(serde_json::to_string(&typed).unwrap(), text, "{typed:?}");
    typed
}

fn delivery() -> Value {
    json!({
        "id": "01D", "message_id": "01M", "agent": "bob", "from": "alice",
        "state": "verified", "attempt": 0, "verification": "echo", "reason": null,
        "created_at": "2026-01-02T03:04:05.006Z", "updated_at": "2026-01-02T03:04:06.000Z",
        "channel": "pty", "read_at": null,
    })
}

fn message() -> Value {
    json!({
        "id": "01M", "from": "alice", "to": "#team", "body": "hello\nthere",
        "thread": "01T", "created_at": "2026-01-02T03:04:05.006Z",
    })
}

#[test]
fn a_send_receipt_and_its_deliveries() {
    let mut forwarded = delivery();
    forwarded["forwarded_to"] = json!("host-b");
    forwarded["state"] = json!("queued");
    forwarded["verification"] = Value::Null;
    forwarded["channel"] = Value::Null;
    let receipt: SendReceipt = same_bytes(json!({
        "message_id": "01M", "duplicate": false,
        "deliveries": [delivery(), forwarded],
        "dropped": [],
        "refused": [{"agent": "carol", "rule": "deny-carol"}],
    }));
    assert_eq!(
        receipt.deliveries[1].forwarded_to.as_deref(),
        Some("host-b")
    );
    let mut received = delivery();
    received["origin_host"] = json!("host-a");
    received["read_at"] = json!("2026-01-02T03:04:07.000Z");
    received["channel"] = json!("hook");
    same_bytes::<DeliveryView>(received);
}

#[test]
fn messages_inboxes_claims_and_dead_letters() {
    let mut with_message = delivery();
    with_message["message"] = message();
    let inbox: Inbox = same_bytes(json!({"agent": "bob", "deliveries": [with_message]}));
    assert_eq!(
        inbox.deliveries[0]
            .message
            .as_ref()
            .map(|m| m.body.as_str()),
        Some("hello\nthere")
    );
    same_bytes::<MessageStatus>(json!({
        "message": message(), "deliveries": [delivery()], "read_by": ["bob"],
        "replies": [
            {"reply_to": "01M", "from": "bob", "via": "protocol", "text": "echo: hello",
             "created_at": "2026-01-02T03:04:06.000Z"},
            {"reply_to": "01M", "from": "bob", "via": "message", "text": "more",
             "message_id": "01R", "created_at": "2026-01-02T03:04:07.000Z"},
        ],
    }));
    let mut keyed = message();
    keyed["idempotency_key"] = json!("k1");
    keyed.as_object_mut().map(|m| m.remove("thread"));
    same_bytes::<MessageStatus>(json!({
        "message": keyed, "deliveries": [], "read_by": [], "replies": [],
    }));
    same_bytes::<Marked>(json!({"agent": "bob", "marked": [delivery()]}));
    let mut dead = delivery();
    dead["state"] = json!("dead");
    dead["reason"] = json!("agent_dead");
    same_bytes::<DeadLetters>(json!({"dead_letters": [dead]}));
}

#[test]
fn a_local_agent_with_its_status_and_operating_fields() {
    let agent: AgentView = same_bytes(json!({
        "name": "bob", "command": ["bash"], "preset": null, "channels": ["team"],
        "pid": 4242, "queue_depth": 2, "state": "busy",
        "status": {
            "ready": true, "ready_by": "prompt", "busy": true, "working": "esc to interrupt",
            "delay_ms": 250, "delivering": "01D", "held": "draft", "mode": "idle",
            "channels": "keystrokes", "framing": {"framing": "hash-comment", "why": "foreground: bash"},
        },
        "mode": "idle", "delivery": "keystrokes",
        "restart": "on-failure", "restarts": 1, "dead": false, "done": true,
        "restarting": {"attempt": 2, "at": "2026-01-02T03:04:05.006Z"},
        "done_at": "2026-01-02T03:04:05.006Z", "result": null, "context_low": "5% left",
        "host": "h1",
    }));
    assert_eq!(agent.preset, Some(None));
    assert_eq!(agent.result, Some(None));
    assert_eq!(agent.state, crate::AgentState::Busy);
    let exited: AgentView = same_bytes(json!({
        "name": "c", "command": [], "preset": "claude", "channels": [], "pid": 1,
        "queue_depth": 0, "state": "dead",
        "status": {"ready": false, "not_ready": "exited", "busy": false,
                   "exited": {"code": null, "signal": 9}, "delay_ms": 0,
                   "mode": "manual", "channels": "both"},
        "mode": "manual", "delivery": "both",
        "restarts": 0, "dead": true, "dead_reason": "gave up", "done": false,
    }));
    assert_eq!(
        exited.status.and_then(|s| s.exited).and_then(|e| e.signal),
        Some(9)
    );
}

#[test]
fn a_remote_agent_and_a_listing() {
    let list: AgentList = same_bytes(json!({"agents": [{
        "name": "far", "host": "h2", "remote": true, "state": "away",
        "presence": "away", "channels": ["team"],
        // Not counted on this host: null, as for a depth the store could
        // not count; never a 0 that claims it empty.
        "queue_depth": null,
    }]}));
    assert_eq!(
        list.agents[0].preset, None,
        "a remote agent has no preset key"
    );
}

#[test]
fn small_answers_of_operations() {
    same_bytes::<ModeChange>(json!({"agent": "bob", "mode": "immediate"}));
    same_bytes::<Flushed>(json!({"agent": "bob", "flushed": 3}));
    same_bytes::<Interrupted>(json!({"agent": "bob", "keys": "\u{1b}"}));
    same_bytes::<DoneReport>(json!({"agent": "bob", "done": true, "result": null}));
    same_bytes::<DoneReport>(json!({"agent": "bob", "done": true, "result": "shipped"}));
    same_bytes::<MembershipChange>(json!({"channel": "#team", "agent": "bob", "changed": true}));
    same_bytes::<ChannelList>(
        json!({"channels": [{"name": "#team", "members": ["alice", "bob"]}]}),
    );
    same_bytes::<Whoami>(json!({"kind": "owner"}));
    same_bytes::<Whoami>(json!({"kind": "agent", "agent": "bob"}));
    same_bytes::<Whoami>(json!({"kind": "observer", "token_id": "01K"}));
    same_bytes::<LoginCode>(json!({
        "code": "0123456789abcdef0123456789abcdef", "expires_at": "2026-01-02T03:04:05.006Z",
        "expires_in_ms": 60000, "path": "/ui/login?code=0123", "url": "http://127.0.0.1:1/ui/login?code=0123",
    }));
}

#[test]
fn issued_tokens() {
    let token = json!({
        "id": "01K", "kind": "observer", "label": "ci", "created_at": "2026-01-02T03:04:05.006Z",
        "expires_at": null, "revoked_at": null, "state": "active",
    });
    let mut created = token.clone();
    created["token"] = json!("secret");
    assert_eq!(
        same_bytes::<TokenView>(created).token.as_deref(),
        Some("secret")
    );
    let mut revoked = token.clone();
    revoked["changed"] = json!(true);
    revoked["state"] = json!("revoked");
    revoked["revoked_at"] = json!("2026-01-02T03:04:06.000Z");
    same_bytes::<TokenView>(revoked);
    same_bytes::<TokenList>(json!({"tokens": [token]}));
}

#[test]
fn error_bodies() {
    let plain: ErrorBody = same_bytes(json!({"error": {"code": "bad_request", "message": "no"}}));
    assert_eq!(plain.error, ErrorDetail::new("bad_request", "no"));
    same_bytes::<ErrorBody>(json!({"error": {
        "code": "unknown_field", "message": "unknown field \"polcy\" in `restart`",
        "field": "polcy", "expected": ["policy", "max_restarts"], "at": "restart",
    }}));
    same_bytes::<ErrorBody>(json!({"error": {
        "code": "acl_denied", "message": "refused", "rule": "r1",
        "refused": [{"agent": "bob", "rule": "r1"}],
    }}));
    same_bytes::<ErrorBody>(
        json!({"error": {"code": "invalid_thread", "message": "x", "field": "thread"}}),
    );
}

#[test]
fn terminal_frames_are_the_documented_json() {
    let cases = [
        (
            ServerFrame::Hello {
                agent: "bob".into(),
                cols: 120,
                rows: 40,
                writable: true,
            },
            json!({"type": "hello", "agent": "bob", "rows": 40, "cols": 120, "writable": true}),
        ),
        (ServerFrame::Resync, json!({"type": "resync"})),
        (
            ServerFrame::Exit {
                code: Some(0),
                signal: None,
            },
            json!({"type": "exit", "code": 0, "signal": null}),
        ),
        (
            ServerFrame::Error {
                code: "read_only".into(),
                message: "m".into(),
            },
            json!({"type": "error", "code": "read_only", "message": "m"}),
        ),
    ];
    for (frame, sample) in cases {
        assert_eq!(frame.to_text(), sample.to_string());
        assert_eq!(
            serde_json::from_value::<ServerFrame>(sample).unwrap(),
            frame
        );
    }
    assert_eq!(
        serde_json::from_str::<ClientFrame>(r#"{"type":"resize","rows":30,"cols":100}"#).unwrap(),
        ClientFrame::Resize {
            rows: 30,
            cols: 100
        }
    );
    assert!(
        serde_json::from_str::<ClientFrame>(r#"{"type":"input","data":"x","extra":1}"#).is_err()
    );
}

#[test]
fn an_events_page_decodes_with_cores_events() {
    let page: EventsPage = serde_json::from_value(json!({
        "events": [{"seq": 7, "time": "2026-01-02T03:04:05.006Z", "type": "agent_unheld", "name": "bob"}],
        "last_seq": 9,
        "gap": {"type": "gap", "after": 0, "next_seq": 7, "missed": 6},
    }))
    .unwrap();
    assert_eq!(page.events[0].kind.name(), "agent_unheld");
    assert_eq!(page.gap.map(|g| g.missed), Some(6));
    assert_eq!(
        serde_json::to_value(page.gap).unwrap(),
        json!({"type": "gap", "after": 0, "next_seq": 7, "missed": 6})
    );
}

#[test]
fn request_bodies_refuse_an_unknown_field_by_name() {
    for (body, field) in [
        (r#"{"to":"bob","body":"x","frm":"a"}"#, "frm"),
        (r#"{"name":"a","channel":["ops"]}"#, "channel"),
        (r#"{"name":"a","restart":{"polcy":"always"}}"#, "polcy"),
        (r#"{"name":"a","submit":{"key":"x"}}"#, "key"),
        (r#"{"name":"a","resume":{"sesion":"x"}}"#, "sesion"),
    ] {
        let error = if body.contains("\"to\"") {
            serde_json::from_str::<SendRequest>(body)
                .unwrap_err()
                .to_string()
        } else {
            serde_json::from_str::<SpawnRequest>(body)
                .unwrap_err()
                .to_string()
        };
        assert!(
            error.contains(&format!("unknown field `{field}`")),
            "{error}"
        );
    }
    let spawn: SpawnRequest = serde_json::from_str(r#"{"name":"a"}"#).unwrap();
    assert_eq!(spawn, SpawnRequest::named("a"));
    assert_eq!((spawn.rows, spawn.cols), (40, 120));
}
