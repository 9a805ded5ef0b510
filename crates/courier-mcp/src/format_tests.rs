use serde_json::{Value, json};

use super::*;
use crate::types::Inbox;

/// When every sample here happened, as the broker writes a time.
const T: &str = "2026-01-01T00:00:00.000Z";

/// A value of a protocol type from the JSON the broker would send.
fn from<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn delivery(agent: &str, state: &str) -> DeliveryView {
    from(json!({
        "id": format!("d-{agent}"), "message_id": "01MSG", "agent": agent, "from": "alice",
        "state": state, "attempt": 0, "created_at": T, "updated_at": T,
    }))
}

fn receipt(message_id: &str, duplicate: bool, deliveries: Vec<DeliveryView>) -> SendReceipt {
    SendReceipt {
        deliveries,
        dropped: vec![],
        duplicate,
        message_id: message_id.into(),
        refused: vec![],
    }
}

#[test]
fn a_send_names_the_message_and_its_recipients() {
    let receipt = SendReceipt {
        refused: vec![courier_core::Refusal {
            agent: "dave".into(),
            rule: "not-dave".into(),
        }],
        ..receipt(
            "01MSG",
            false,
            vec![delivery("bob", "queued"), delivery("carol", "queued")],
        )
    };
    let text = send_receipt("#ops", &receipt);
    assert!(text.starts_with("Sent msg 01MSG to #ops."), "{text}");
    assert!(text.contains("Recipients (2): bob, carol."), "{text}");
    assert!(text.contains("Not sent to dave"), "{text}");
    assert!(text.contains("dave: rule not-dave"), "{text}");
}

#[test]
fn a_send_to_nobody_says_so() {
    let receipt = receipt("01MSG", false, vec![]);
    assert!(send_receipt("#empty", &receipt).contains("Nobody received it"));
}

#[test]
fn a_duplicate_send_points_at_the_original() {
    let receipt = receipt("01ORIG", true, vec![delivery("bob", "verified")]);
    let text = send_receipt("bob", &receipt);
    assert!(text.contains("nothing new was sent"), "{text}");
    assert!(text.contains("msg 01ORIG"), "{text}");
}

#[test]
fn drops_caused_by_a_send_are_reported() {
    let receipt = SendReceipt {
        dropped: vec![DeliveryView {
            message_id: "01OLD".into(),
            from: "carol".into(),
            ..delivery("bob", "dropped")
        }],
        ..receipt("01NEW", false, vec![delivery("bob", "queued")])
    };
    let text = send_receipt("bob", &receipt);
    assert!(
        text.contains("drop 1 older delivery: msg 01OLD from carol to bob"),
        "{text}"
    );
}

#[test]
fn agents_show_state_channels_and_who_i_am() {
    let list: AgentList = serde_json::from_value(json!({"agents": [
        {"name": "alice", "command": ["claude"], "channels": ["ops"], "pid": 1,
         "queue_depth": 0, "state": "idle", "status": {"ready": true, "busy": false, "delay_ms": 100}},
        {"name": "bob", "command": ["codex"], "channels": [], "pid": 2,
         "queue_depth": 2, "state": "busy", "status": {"ready": true, "busy": true, "delay_ms": 100}},
        {"name": "carol", "command": ["sh"], "channels": ["ops", "dev"], "pid": 3,
         "queue_depth": 0, "state": "starting", "status": {"ready": false, "not_ready": "dialog", "busy": false, "delay_ms": 100}},
        {"name": "dora", "command": ["sh"], "channels": [], "pid": 4, "queue_depth": 1,
         "state": "held", "status": {"ready": true, "busy": false, "held": "a draft", "delay_ms": 100}},
        {"name": "eve", "command": ["sh"], "channels": [], "pid": 5, "queue_depth": 0,
         "state": "dead", "dead_reason": "crashed 3 times", "status": {"ready": false, "busy": false}},
    ]}))
    .unwrap();
    let text = agent_list("alice", &list);
    assert_eq!(
        text,
        "5 agents (idle/ready/done = at its prompt, busy = working; messages wait while it is \
         busy, starting, held or stuck, and are never typed into one exited or dead):\n\
         - alice (you): idle; #ops\n\
         - bob: busy, 2 messages waiting; no channels\n\
         - carol: starting (dialog); #ops, #dev\n\
         - dora: held (a draft), 1 message waiting; no channels\n\
         - eve: dead (crashed 3 times); no channels"
    );
}

#[test]
fn a_queue_the_broker_could_not_count_is_shown_unknown_not_empty() {
    let list: AgentList = serde_json::from_value(json!({"agents": [
        {"name": "bob", "command": ["sh"], "channels": [], "pid": 2,
         "queue_depth": null, "state": "ready", "status": {"ready": true, "busy": false}},
        {"name": "far", "host": "h2", "remote": true, "state": "remote", "channels": []},
    ]}))
    .unwrap();
    assert_eq!(list.agents[0].queue_depth, None);
    assert_eq!(
        list.agents[1].queue_depth, None,
        "an agent of another host has no count on this host"
    );
    let text = agent_list("alice", &list);
    assert!(
        text.contains("- bob: ready, messages waiting unknown;"),
        "{text}"
    );
    assert!(!text.contains("far: remote, messages"), "{text}");
}

#[test]
fn an_exited_agent_says_how() {
    let agent: AgentView = from(json!({
        "name": "dan", "state": "exited", "channels": [], "queue_depth": 0,
        "status": {"exited": {"code": null, "signal": 9}},
    }));
    let text = agent_list(
        "x",
        &AgentList {
            agents: vec![agent],
        },
    );
    assert!(
        text.ends_with("- dan: exited (signal 9); no channels"),
        "{text}"
    );
    assert_eq!(
        agent_list("x", &AgentList { agents: vec![] }),
        "No agents are running."
    );
}

#[test]
fn channels_list_members_and_mark_mine() {
    let list: ChannelList = from(json!({"channels": [
        {"name": "#ops", "members": ["alice", "bob"]},
        {"name": "#dev", "members": ["bob"]},
    ]}));
    assert_eq!(
        channel_list("alice", &list),
        "2 channels:\n- #ops (you are a member): alice, bob\n- #dev: bob"
    );
    let none = ChannelList { channels: vec![] };
    assert!(channel_list("alice", &none).starts_with("No channels yet"));
}

#[test]
fn joining_and_leaving_say_what_changed() {
    let change = |changed| MembershipChange {
        channel: "#ops".into(),
        agent: "alice".into(),
        changed,
    };
    assert!(joined(&change(true)).starts_with("Joined #ops."));
    assert!(joined(&change(false)).contains("already a member of #ops"));
    assert!(left(&change(true)).starts_with("Left #ops."));
    assert!(left(&change(false)).contains("not a member of #ops"));
}

#[test]
fn the_inbox_reads_like_the_terminal_header_with_state() {
    let inbox: Inbox = serde_json::from_value(json!({"agent": "bob", "deliveries": [
        {"id": "d2", "message_id": "02", "agent": "bob", "from": "alice", "state": "unverified",
         "attempt": 0, "verification": "timeout_fallback", "reason": "no echo",
         "created_at": T, "updated_at": T,
         "message": {"id": "02", "from": "alice", "to": "#ops", "body": "second\n",
                     "thread": "01", "created_at": "2026-01-01T00:00:01.000Z"}},
        {"id": "d1", "message_id": "01", "agent": "bob", "from": "carol", "state": "dropped",
         "attempt": 0, "reason": "queue_full", "created_at": T, "updated_at": T,
         "message": {"id": "01", "from": "carol", "to": "bob", "body": "first",
                     "created_at": "2026-01-01T00:00:00.000Z"}},
    ]}))
    .unwrap();
    let text = inbox_read(&crate::inbox::assemble(Inbox::default(), inbox));
    assert_eq!(
        text,
        "2 most recent messages to you, newest first:\n\n\
         [courier] from alice to #ops | msg 02 | thread 01 | 2026-01-01T00:00:01.000Z\n\
         state: unverified: typed into your terminal but never seen on screen; you may have missed it (reason: no echo)\n\
         second\n\n\
         [courier] from carol to you (direct) | msg 01 | 2026-01-01T00:00:00.000Z\n\
         state: dropped: never reached your terminal (reason: queue_full)\n\
         first"
    );
}

#[test]
fn an_empty_inbox_and_a_broadcast() {
    assert!(inbox_read(&InboxRead::default()).starts_with("Your inbox is empty"));
    let item = InboxItem::from(DeliveryView {
        message_id: "03".into(),
        message: Some(from(json!({
            "id": "03", "from": "alice", "to": "*", "body": "all hands", "created_at": T,
        }))),
        ..delivery("bob", "verified")
    });
    let text = inbox_read(&InboxRead {
        agent: "bob".into(),
        deliveries: vec![item],
        ..InboxRead::default()
    });
    assert!(text.starts_with("1 most recent message to you"), "{text}");
    assert!(
        text.contains(
            "from alice to * (broadcast) | msg 03 | 2026-01-01T00:00:00.000Z\n\
             state: verified: shown in your terminal\nall hands"
        ),
        "{text}"
    );
}

#[test]
fn whoami_names_the_agent_or_warns_about_an_owner_token() {
    let me: Whoami = from(json!({"kind": "agent", "agent": "alice"}));
    let text = whoami(&me, "http://127.0.0.1:1");
    assert!(text.starts_with("You are agent \"alice\""), "{text}");
    let owner: Whoami = from(json!({"kind": "owner"}));
    assert!(whoami(&owner, "u").contains("owner's token"));
}

/// A delivery to bob with its message, as an inbox lists it.
fn item(id: &str, state: &str, body: &str) -> DeliveryView {
    from(json!({
        "id": format!("d-{id}"), "message_id": id, "agent": "bob", "from": "alice",
        "state": state, "attempt": 0, "created_at": T, "updated_at": T,
        "message": {"id": id, "from": "alice", "to": "bob", "body": body, "created_at": T},
    }))
}

#[test]
fn claimed_messages_come_first_and_queued_text_is_never_repeated() {
    let mut claimed = item("05", "read", "take this");
    claimed.channel = Some(DeliveryChannel::Hook);
    let recent = Inbox {
        agent: "bob".into(),
        deliveries: vec![
            item("06", "queued", "secret queued text"),
            claimed.clone(),
            item("04", "read", "seen before"),
        ],
    };
    let claim = Inbox {
        agent: "bob".into(),
        deliveries: vec![claimed],
    };
    let text = inbox_read(&crate::inbox::assemble(claim, recent));
    assert_eq!(
        text,
        "1 new message for you, handed over here (marked read; they will not also be typed \
         into your terminal):\n\n\
         [courier] from alice to you (direct) | msg 05 | 2026-01-01T00:00:00.000Z\n\
         state: read: handed over here, not typed into your terminal\n\
         take this\n\n\
         2 other recent messages to you, newest first:\n\n\
         [courier] from alice to you (direct) | msg 06 | 2026-01-01T00:00:00.000Z\n\
         state: queued: not shown to you yet; it will be typed into your terminal when you \
         are ready, or call read_inbox again to take it here\n\
         (text not shown here: it is still on its way to your terminal, and showing it here \
         too would deliver it twice)\n\n\
         [courier] from alice to you (direct) | msg 04 | 2026-01-01T00:00:00.000Z\n\
         state: read: you took it in already\n\
         seen before"
    );
    assert!(!text.contains("secret queued text"));
}

#[test]
fn a_held_message_points_at_flush_inbox_and_a_listing_error_is_said() {
    let recent = Inbox {
        agent: "bob".into(),
        deliveries: vec![item("07", "queued", "held text")],
    };
    let mut view = crate::inbox::assemble(Inbox::default(), recent);
    view.mode = Some("manual".into());
    let text = inbox_read(&view);
    assert!(
        text.contains("state: queued: held because your delivery mode is manual; call flush_inbox"),
        "{text}"
    );
    assert!(!text.contains("held text"), "{text}");
    let claimed = InboxRead {
        claimed: vec![item("08", "read", "got it").into()],
        listing_error: Some("boom (internal, HTTP 500)".into()),
        ..InboxRead::default()
    };
    let text = inbox_read(&claimed);
    assert!(text.starts_with("1 new message for you"), "{text}");
    assert!(text.contains("got it"), "{text}");
    assert!(
        text.ends_with("(The rest of your inbox could not be listed: boom (internal, HTTP 500).)"),
        "{text}"
    );
}

#[test]
fn each_mode_says_what_it_means() {
    let set = |mode: &str| mode_set(&from(json!({"agent": "alice", "mode": mode})));
    assert!(set("idle").starts_with("Your delivery mode is now idle: "));
    assert!(set("immediate").contains("even while you are working"));
    assert!(set("manual").contains("until you call flush_inbox"));
    assert!(set("manual").ends_with("It is kept across broker restarts."));
}

#[test]
fn a_flush_counts_what_it_released() {
    let flush = |n| {
        flushed(&Flushed {
            agent: "alice".into(),
            flushed: n,
        })
    };
    assert!(flush(0).starts_with("Nothing was waiting"));
    assert!(
        flush(1).starts_with("Released 1 held message."),
        "{}",
        flush(1)
    );
    assert!(flush(3).starts_with("Released 3 held messages."));
}

#[test]
fn message_status_says_who_has_read_it_and_where_the_rest_are() {
    let status: MessageStatus = serde_json::from_value(json!({
        "message": {"id": "01M", "from": "alice", "to": "#ops",
                    "body": "please review PR 12\nthanks", "created_at": T},
        "deliveries": [
            {"id": "d1", "message_id": "01M", "agent": "bob", "from": "alice", "state": "read",
             "attempt": 0, "verification": "echo", "reason": null, "channel": "pty",
             "read_at": "2026-01-01T00:00:05.000Z", "created_at": T, "updated_at": T},
            {"id": "d2", "message_id": "01M", "agent": "carol", "from": "alice", "state": "read",
             "attempt": 0, "verification": null, "reason": null, "channel": "hook",
             "read_at": "2026-01-01T00:00:06.000Z", "created_at": T, "updated_at": T},
            {"id": "d3", "message_id": "01M", "agent": "dan", "from": "alice", "state": "unverified",
             "attempt": 1, "verification": "timeout_fallback", "reason": "no echo",
             "channel": "pty", "read_at": null, "created_at": T, "updated_at": T},
            {"id": "d4", "message_id": "01M", "agent": "erin", "from": "alice", "state": "queued",
             "attempt": 0, "channel": null, "read_at": null, "created_at": T, "updated_at": T},
            {"id": "d5", "message_id": "01M", "agent": "fay", "from": "alice", "state": "dropped",
             "attempt": 0, "reason": "queue_full", "created_at": T, "updated_at": T},
        ],
        "read_by": ["bob", "carol"],
    }))
    .unwrap();
    assert_eq!(
        message_status(&status),
        "msg 01M from alice to #ops | 2026-01-01T00:00:00.000Z\n\
         \"please review PR 12…\"\n\
         Read by 2 of 5: bob, carol.\n\
         - bob: read at 2026-01-01T00:00:05.000Z, after it was typed into the terminal (verification: echo)\n\
         - carol: read at 2026-01-01T00:00:06.000Z, handed over by read_inbox or a hook, never typed into the terminal\n\
         - dan: not read yet; typed into its terminal but never seen on its screen (verification: timeout_fallback, reason: no echo); 1 attempt failed before\n\
         - erin: not read yet; queued, waiting for it to be ready (or held by its manual mode)\n\
         - fay: dropped: never delivered (reason: queue_full)"
    );
}

#[test]
fn message_status_of_an_unread_or_unaddressed_message() {
    let mut status = MessageStatus {
        message: from(json!({
            "id": "01N", "from": "bob", "to": "alice", "body": "hi", "created_at": T,
        })),
        deliveries: vec![delivery("alice", "verified")],
        read_by: vec![],
        replies: vec![],
    };
    let text = message_status(&status);
    assert!(
        text.contains("\n\"hi\"\nNobody has read it yet (1 recipient)."),
        "{text}"
    );
    assert!(
        text.ends_with("- alice: not read yet; typed into its terminal and seen on its screen"),
        "{text}"
    );
    status.deliveries.clear();
    assert!(message_status(&status).ends_with("It had no recipients."));
}

#[test]
fn message_status_shows_each_reply() {
    let status = MessageStatus {
        message: from(json!({
            "id": "01N", "from": "bob", "to": "alice", "body": "hi", "created_at": T,
        })),
        deliveries: vec![delivery("alice", "verified")],
        read_by: vec![],
        replies: vec![
            from(json!({
                "reply_to": "01N", "from": "alice", "via": "protocol",
                "text": "echo: hi", "created_at": T,
            })),
            from(json!({
                "reply_to": "01N", "from": "alice", "via": "message",
                "text": "and more", "message_id": "01R", "created_at": T,
            })),
        ],
    };
    let text = message_status(&status);
    assert!(
        text.contains("\nReply from alice (its final answer, 2026-"),
        "{text}"
    );
    assert!(text.contains("\"echo: hi\""), "{text}");
    assert!(text.ends_with("\"and more\""), "{text}");
    assert!(text.contains("Reply from alice (msg 01R, "), "{text}");
}

#[test]
fn a_hostile_body_is_shown_without_escapes() {
    let view = crate::inbox::assemble(
        Inbox {
            agent: "bob".into(),
            deliveries: vec![item(
                "07",
                "read",
                "a\x1b]52;c;aGk=\x07b\u{9b}2J\u{202e}c\u{200b}",
            )],
        },
        Inbox {
            agent: "bob".into(),
            deliveries: vec![],
        },
    );
    let text = shown(&inbox_read(&view));
    assert!(
        !text
            .chars()
            .any(|c| c == '\x1b' || ('\u{80}'..='\u{9f}').contains(&c)),
        "{text:?}"
    );
    assert!(
        text.contains("a^[]52;c;aGk=^Gb<U+009B>2J\\u{202e}c\\u{200b}"),
        "{text}"
    );
}
