//! Sends under an ACL (refused ones store nothing but their event; a
//! partly refused fan-out reaches the allowed recipients only) and issued
//! tokens (hashes only, with their events).

mod common;

use std::sync::Arc;

use common::*;
use courier_core::acl::{Action, Rule};
use courier_core::{Acl, EventKind};
use courier_store::{NewToken, SendOutcome, Store, StoreOptions, TokenState};

fn acl(toml_like_json: &str) -> Arc<Acl> {
    let rules: Vec<Rule> = serde_json::from_str(toml_like_json).unwrap();
    Arc::new(Acl::new(
        rules
            .into_iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone().unwrap_or(format!("rule {}", i + 1)), r))
            .collect(),
        Action::Allow,
    ))
}

#[test]
fn a_refused_send_stores_nothing_but_its_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    with_agents(&store, &["alice", "bob", "mallory"]);
    let rules = acl(r#"[{"name":"no-mallory","action":"deny","from":["mallory"]}]"#);
    let before = store.last_seq().unwrap();
    let mut keyed_msg = keyed("mallory", "bob", "k1");
    keyed_msg.body = "hello".into();
    let outcome = store.send_under(keyed_msg.clone(), rules.clone()).unwrap();
    let SendOutcome::Refused { rule, event, .. } = outcome else {
        panic!("sent: {outcome:?}");
    };
    assert_eq!(rule, "no-mallory");
    assert!(matches!(
        &event.kind,
        EventKind::MessageRefused { message_id: None, rule, refused, .. }
            if rule == "no-mallory" && refused.len() == 1 && refused[0].agent == "bob"
    ));
    let events = store.events_after(before, 100).unwrap();
    assert_eq!(names(&events), ["message_refused"]);
    assert_eq!(store.pending_count().unwrap(), 0);
    let conn = rusqlite::Connection::open(&path).unwrap();
    for table in ["messages", "deliveries", "idempotency_keys"] {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    // Same key again: judged again (no key was kept), refused again.
    let again = store.send_under(keyed_msg, rules).unwrap();
    assert!(matches!(again, SendOutcome::Refused { .. }));
}

#[test]
fn a_partly_refused_fan_out_reaches_only_the_allowed() {
    let store = Store::open_in_memory(StoreOptions::default()).unwrap();
    with_agents(&store, &["alice", "bob", "carol"]);
    for a in ["alice", "bob", "carol"] {
        store.join("team", a).unwrap();
    }
    let rules = acl(r#"[{"action":"deny","from":["alice"],"to":["bob"]}]"#);
    let outcome = store
        .send_under(msg("alice", "#team", "hi"), rules)
        .unwrap();
    let SendOutcome::Sent(receipt) = outcome else {
        panic!("refused: {outcome:?}");
    };
    let to: Vec<_> = receipt
        .deliveries
        .iter()
        .map(|d| d.agent.as_str())
        .collect();
    assert_eq!(to, ["carol"]);
    assert_eq!(receipt.refused.len(), 1);
    assert_eq!(receipt.refused[0].agent, "bob");
    assert_eq!(receipt.refused[0].rule, "rule 1");
    let kinds = names(&receipt.events);
    assert_eq!(
        kinds,
        ["message_accepted", "delivery_queued", "message_refused"]
    );
    assert!(matches!(
        &receipt.events[2].kind,
        EventKind::MessageRefused { message_id: Some(id), .. } if *id == receipt.message.id
    ));
    assert_eq!(store.queue_depth("bob").unwrap(), 0);
}

#[test]
fn tokens_are_stored_as_given_hashes_with_events() {
    let store = Store::open_in_memory(StoreOptions::default()).unwrap();
    let created = store
        .create_token(NewToken {
            hash: "ab".repeat(32),
            kind: "observer".into(),
            label: Some("dashboard".into()),
            expires_at: None,
        })
        .unwrap();
    assert_eq!(store.tokens().unwrap(), std::slice::from_ref(&created));
    let (revoked, changed) = store.revoke_token(&created.id).unwrap().unwrap();
    assert!(changed);
    assert_eq!(
        revoked.state_at(courier_core::Timestamp(0)),
        TokenState::Revoked
    );
    let (_, again) = store.revoke_token(&created.id).unwrap().unwrap();
    assert!(!again, "revoking twice changes nothing");
    assert!(store.revoke_token("nope").unwrap().is_none());
    let events = all_events(&store);
    assert_eq!(names(&events), ["token_created", "token_revoked"]);
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(&"ab".repeat(32)), "no hash in events");
    assert_eq!(store.tokens().unwrap()[0].revoked_at, revoked.revoked_at);
}
