use serde_json::json;

use super::*;
use crate::types::{AgentStatus, ChannelInfo, ExitInfo, MessageInfo};

fn delivery(agent: &str, state: &str) -> DeliveryInfo {
    DeliveryInfo {
        id: format!("d-{agent}"),
        message_id: "01MSG".into(),
        agent: agent.into(),
        from: "alice".into(),
        state: state.into(),
        ..DeliveryInfo::default()
    }
}

#[test]
fn a_send_names_the_message_and_its_recipients() {
    let receipt = SendReceipt {
        message_id: "01MSG".into(),
        duplicate: false,
        deliveries: vec![delivery("bob", "queued"), delivery("carol", "queued")],
        dropped: vec![],
    };
    let text = send_receipt("#ops", &receipt);
    assert!(text.starts_with("Sent msg 01MSG to #ops."), "{text}");
    assert!(text.contains("Recipients (2): bob, carol."), "{text}");
}

#[test]
fn a_send_to_nobody_says_so() {
    let receipt = SendReceipt {
        message_id: "01MSG".into(),
        ..SendReceipt::default()
    };
    assert!(send_receipt("#empty", &receipt).contains("Nobody received it"));
}

#[test]
fn a_duplicate_send_points_at_the_original() {
    let receipt = SendReceipt {
        message_id: "01ORIG".into(),
        duplicate: true,
        deliveries: vec![delivery("bob", "verified")],
        dropped: vec![],
    };
    let text = send_receipt("bob", &receipt);
    assert!(text.contains("nothing new was sent"), "{text}");
    assert!(text.contains("msg 01ORIG"), "{text}");
}

#[test]
fn drops_caused_by_a_send_are_reported() {
    let receipt = SendReceipt {
        message_id: "01NEW".into(),
        deliveries: vec![delivery("bob", "queued")],
        dropped: vec![DeliveryInfo {
            message_id: "01OLD".into(),
            from: "carol".into(),
            agent: "bob".into(),
            ..DeliveryInfo::default()
        }],
        ..SendReceipt::default()
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
         "queue_depth": 0, "status": {"ready": true, "busy": false, "delay_ms": 100}},
        {"name": "bob", "command": ["codex"], "channels": [], "pid": 2,
         "queue_depth": 2, "status": {"ready": true, "busy": true, "delay_ms": 100}},
        {"name": "carol", "command": ["sh"], "channels": ["ops", "dev"], "pid": 3,
         "queue_depth": 0, "status": {"ready": false, "not_ready": "dialog", "busy": false, "delay_ms": 100}},
    ]}))
    .unwrap();
    let text = agent_list("alice", &list);
    assert_eq!(
        text,
        "3 agents (ready = idle at its prompt, busy = working; messages wait until it is ready):\n\
         - alice (you): ready; #ops\n\
         - bob: busy, 2 messages waiting; no channels\n\
         - carol: not ready (dialog); #ops, #dev"
    );
}

#[test]
fn an_exited_agent_says_how() {
    let agent = AgentInfo {
        name: "dan".into(),
        status: AgentStatus {
            exited: Some(ExitInfo {
                code: None,
                signal: Some(9),
            }),
            ..AgentStatus::default()
        },
        ..AgentInfo::default()
    };
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
        agent_list("x", &AgentList::default()),
        "No agents are running."
    );
}

#[test]
fn channels_list_members_and_mark_mine() {
    let list = ChannelList {
        channels: vec![
            ChannelInfo {
                name: "#ops".into(),
                members: vec!["alice".into(), "bob".into()],
            },
            ChannelInfo {
                name: "#dev".into(),
                members: vec!["bob".into()],
            },
        ],
    };
    assert_eq!(
        channel_list("alice", &list),
        "2 channels:\n- #ops (you are a member): alice, bob\n- #dev: bob"
    );
    assert!(channel_list("alice", &ChannelList::default()).starts_with("No channels yet"));
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
         "created_at": "t", "updated_at": "t",
         "message": {"id": "02", "from": "alice", "to": "#ops", "body": "second\n",
                     "thread": "01", "created_at": "2026-01-01T00:00:01Z"}},
        {"id": "d1", "message_id": "01", "agent": "bob", "from": "carol", "state": "dropped",
         "attempt": 0, "reason": "queue_full", "created_at": "t", "updated_at": "t",
         "message": {"id": "01", "from": "carol", "to": "bob", "body": "first",
                     "created_at": "2026-01-01T00:00:00Z"}},
    ]}))
    .unwrap();
    let text = super::inbox(&inbox);
    assert_eq!(
        text,
        "2 most recent messages to you, newest first:\n\n\
         [courier] from alice to #ops | msg 02 | thread 01 | 2026-01-01T00:00:01Z\n\
         state: unverified: typed into your terminal but never seen on screen; you may have missed it (reason: no echo)\n\
         second\n\n\
         [courier] from carol to you (direct) | msg 01 | 2026-01-01T00:00:00Z\n\
         state: dropped: never reached your terminal (reason: queue_full)\n\
         first"
    );
}

#[test]
fn an_empty_inbox_and_a_broadcast() {
    assert!(super::inbox(&Inbox::default()).starts_with("Your inbox is empty"));
    let item = InboxItem {
        delivery: delivery("bob", "verified"),
        message: MessageInfo {
            id: "03".into(),
            from: "alice".into(),
            to: "*".into(),
            body: "all hands".into(),
            ..MessageInfo::default()
        },
    };
    let text = super::inbox(&Inbox {
        agent: "bob".into(),
        deliveries: vec![item],
    });
    assert!(text.starts_with("1 most recent message to you"), "{text}");
    assert!(
        text.contains("from alice to * (broadcast) | msg 03\nstate: verified: shown in your terminal\nall hands"),
        "{text}"
    );
}

#[test]
fn whoami_names_the_agent_or_warns_about_an_owner_token() {
    let me = Whoami {
        kind: "agent".into(),
        agent: Some("alice".into()),
    };
    let text = whoami(&me, "http://127.0.0.1:1");
    assert!(text.starts_with("You are agent \"alice\""), "{text}");
    let owner = Whoami {
        kind: "owner".into(),
        agent: None,
    };
    assert!(whoami(&owner, "u").contains("owner's token"));
}
