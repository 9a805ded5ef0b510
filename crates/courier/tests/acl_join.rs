//! The ACL on the edges of names and channels, end to end: globs match
//! names without regard to case (a deny is not bypassed by `Bot-1` for
//! `bot-*`), and joining a channel is judged by the file's `join` rules
//! through every way in — an agent's own token, the owner on its behalf,
//! and a spawn's `channels` — each refused with 403 `acl_denied`.

mod common;

use common::{Broker, environ_var, error_code, wait_for};
use serde_json::json;

const CASE_RULES: &str = r##"default = "allow"

[[rule]]
name = "bots-not-to-bob"
action = "deny"
from = ["bot-*"]
to = ["bob"]
"##;

const JOIN_RULES: &str = r##"default = "allow"

[[rule]]
name = "ops-may-join-ops"
action = "allow"
from = ["ops-*"]
join = ["#ops-*"]

[[rule]]
name = "ops-members-only"
action = "deny"
join = ["#ops-*"]
"##;

fn start(tmp: &tempfile::TempDir, rules: &str) -> Broker {
    let acl = tmp.path().join("rules.toml");
    std::fs::write(&acl, rules).expect("write rules");
    Broker::start(
        tmp.path(),
        &["--ephemeral", "--acl", acl.to_str().expect("utf-8 path")],
    )
}

#[test]
fn acl_globs_match_names_in_any_case() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = start(&tmp, CASE_RULES);
    broker.spawn_fake("bob", &[], &[]);
    for from in ["bot-1", "Bot-1", "BOT-7"] {
        let (status, v) = broker.post(
            "/v1/messages",
            &json!({"from": from, "to": "bob", "body": "hello"}),
        );
        assert_eq!((status, error_code(&v)), (403, "acl_denied"), "{from}: {v}");
        assert_eq!(v["error"]["rule"], "bots-not-to-bob", "{v}");
    }
}

#[test]
fn joining_a_channel_is_judged_by_the_acl_every_way_in() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broker = start(&tmp, JOIN_RULES);
    let dev = broker.spawn_fake("dev", &[], &[]);
    broker.spawn_fake("ops-1", &[], &["ops-eu"]);
    let token = wait_for("dev's COURIER_TOKEN", || {
        environ_var(dev.pid, "COURIER_TOKEN")
    });

    // The agent's own token (what `courier join` and MCP's join_channel use).
    let (status, v) = broker.call(
        broker
            .http()
            .post(format!("{}/v1/channels/ops-eu/members", broker.url))
            .bearer_auth(&token)
            .json(&json!({"agent": "dev"})),
    );
    assert_eq!((status, error_code(&v)), (403, "acl_denied"), "{v}");
    assert_eq!(v["error"]["rule"], "ops-members-only", "{v}");
    // The owner on its behalf, in another case too.
    for channel in ["ops-eu", "OPS-EU"] {
        let (status, v) = broker.post(
            &format!("/v1/channels/{channel}/members"),
            &json!({"agent": "dev"}),
        );
        assert_eq!(
            (status, error_code(&v)),
            (403, "acl_denied"),
            "{channel}: {v}"
        );
    }
    // A spawn's channels: refused as a whole, nothing started.
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "dev-2", "command": ["sh"], "channels": ["general", "ops-eu"]}),
    );
    assert_eq!((status, error_code(&v)), (403, "acl_denied"), "{v}");
    assert!(broker.agents().iter().all(|a| a["name"] != "dev-2"));
    // Channels no join rule names stay open; ops agents join their own.
    let (status, v) = broker.post("/v1/channels/general/members", &json!({"agent": "dev"}));
    assert_eq!(status, 200, "{v}");
    let (status, v) = broker.post("/v1/channels/ops-us/members", &json!({"agent": "ops-1"}));
    assert_eq!(status, 200, "{v}");
    let members = broker.get_ok("/v1/channels")["channels"]
        .as_array()
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["name"] == "#ops-eu" || c["name"] == "ops-eu")
        })
        .map(|c| c["members"].clone())
        .expect("#ops-eu");
    assert_eq!(members, json!(["ops-1"]), "{members}");
}
