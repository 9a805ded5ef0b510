//! Federation end to end (issue #14): real `courier up` brokers of one
//! workspace joined through a real nats-server, real fake agents in real
//! PTYs. What is typed is read from the agents' transcripts; what the
//! sender knows, from its own API and event log.
//!
//! Needs a nats-server: scripts/test.sh provides it (COURIER_NATS_SERVER).

mod common;

use common::federation::{Federation, assert_in_order};
use common::{Broker, count_in_transcript, error_code};
use serde_json::{Value, json};

fn message_id(v: &Value) -> String {
    v["message_id"].as_str().expect("message_id").to_string()
}

#[test]
fn a_direct_message_to_an_agent_of_another_host_is_typed_there_once_and_verified_at_the_sender() {
    let fed = Federation::start(&["h1", "h2"]);
    let (h1, h2) = (fed.host("h1"), fed.host("h2"));
    let bob = h2.spawn_fake("bob", &[], &[]);
    h2.wait_ready("bob");
    h1.wait_remote_agent("bob", "h2", "active");

    let id = message_id(&h1.send("alice", "bob", "hello from the other host"));
    let at_sender = h1.wait_verified(&id);
    assert_eq!(at_sender.len(), 1, "{at_sender:?}");
    let delivery = &at_sender[0];
    assert_eq!(delivery["agent"], "bob", "{delivery}");
    assert_eq!(delivery["forwarded_to"], "h2", "{delivery}");
    assert_eq!(delivery["verification"], "echo", "{delivery}");
    let delivery_id = delivery["id"].as_str().expect("delivery id").to_string();
    // Verified at the sender means it was submitted on h2's screen.
    assert_eq!(count_in_transcript(&bob.transcript, &id), 1);

    // The sender's log: forwarded to h2, then h2's own lifecycle, re-emitted
    // under the same delivery id.
    let sent = h1.delivery_events(&delivery_id);
    assert_in_order(
        &sent,
        &[
            "delivery_forwarded",
            "delivery_injecting",
            "delivery_injected",
            "delivery_verified",
        ],
    );
    let forwarded = sent
        .iter()
        .find(|e| e["type"] == "delivery_forwarded")
        .expect("delivery_forwarded");
    assert_eq!(
        (
            &forwarded["host"],
            &forwarded["agent"],
            &forwarded["message_id"]
        ),
        (&json!("h2"), &json!("bob"), &json!(id)),
        "{forwarded}"
    );

    // The receiver's log: the same delivery id, received from h1 first.
    let received = h2.delivery_events(&delivery_id);
    assert_eq!(
        received.first().map(|e| &e["type"]),
        Some(&json!("delivery_received")),
        "h2's events of {delivery_id}: {received:?}"
    );
    assert_eq!(received[0]["from_host"], "h1", "{}", received[0]);
    assert_eq!(received[0]["agent"], "bob", "{}", received[0]);
    assert_eq!(received[0]["message_id"], json!(id), "{}", received[0]);
    assert_in_order(
        &received,
        &[
            "delivery_received",
            "delivery_injecting",
            "delivery_injected",
            "delivery_verified",
        ],
    );
    // Typed exactly once, on h2 only.
    assert_eq!(count_in_transcript(&bob.transcript, &id), 1);
}

#[test]
fn a_delivery_committed_by_the_receiving_host_shows_forwarded_at_the_sender_until_it_ends_there() {
    let fed = Federation::start(&["h1", "h2"]);
    let (h1, h2) = (fed.host("h1"), fed.host("h2"));
    // Behind its trust dialog tess takes nothing: h2 keeps the delivery queued.
    let tess = h2.spawn_fake("tess", &["--trust-dialog"], &[]);
    h1.wait_remote_agent("tess", "h2", "active");

    let id = message_id(&h1.send("alice", "tess", "waiting for you"));
    let forwarded = common::wait_for("the delivery to be forwarded to h2", || {
        let d = h1.delivery_to(&id, "tess");
        (d["state"] == "forwarded").then_some(d)
    });
    assert_eq!(forwarded["forwarded_to"], "h2", "{forwarded}");
    let delivery_id = forwarded["id"].as_str().expect("delivery id").to_string();
    // h2 has committed it: nothing is left for h1 to forward.
    common::wait_for("h1 to have nothing left to forward", || {
        (h1.federation()["pending_forwards"] == 0).then_some(())
    });
    let received = h2.delivery_events(&delivery_id);
    assert_eq!(
        received.first().map(|e| &e["type"]),
        Some(&json!("delivery_received")),
        "{received:?}"
    );
    assert_eq!(count_in_transcript(&tess.transcript, &id), 0);

    // Once the agent takes it, the sender's copy follows to verified.
    h2.accept_trust_dialog("tess");
    let done = h1.wait_verified(&id);
    assert_eq!(done[0]["forwarded_to"], "h2", "{:?}", done);
    assert_eq!(count_in_transcript(&tess.transcript, &id), 1);
}

#[test]
fn channel_and_broadcast_reach_every_agent_of_every_host_once_and_never_the_sender() {
    let fed = Federation::start(&["h1", "h2", "h3"]);
    let (h1, h2, h3) = (fed.host("h1"), fed.host("h2"), fed.host("h3"));
    // #team has members on every host; dave and frank are in no channel.
    let alice = h1.spawn_fake("alice", &[], &["team"]);
    let amy = h1.spawn_fake("amy", &[], &["team"]);
    let bob = h2.spawn_fake("bob", &[], &["team"]);
    let dave = h2.spawn_fake("dave", &[], &[]);
    let erin = h3.spawn_fake("erin", &[], &["team"]);
    let frank = h3.spawn_fake("frank", &[], &[]);
    for (host, agent) in [
        (h1, &alice),
        (h1, &amy),
        (h2, &bob),
        (h2, &dave),
        (h3, &erin),
        (h3, &frank),
    ] {
        host.wait_ready(&agent.name);
    }
    let team: &[&str] = &["team"];
    let none: &[&str] = &[];
    fed.wait_agents_everywhere(&[
        ("h1", &alice, team),
        ("h1", &amy, team),
        ("h2", &bob, team),
        ("h2", &dave, none),
        ("h3", &erin, team),
        ("h3", &frank, none),
    ]);

    let to_team = message_id(&h1.send("alice", "#team", "standup in five"));
    let to_all = message_id(&h1.send("alice", "*", "release is out"));
    // Broadcast from an agent of another host: the sender is left out there too.
    let from_bob = message_id(&h2.send("bob", "*", "thanks everyone"));

    let recipients = |broker: &Broker, id: &str| -> Vec<String> {
        let mut names: Vec<String> = broker
            .wait_verified(id)
            .iter()
            .map(|d| d["agent"].as_str().unwrap_or_default().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(recipients(h1, &to_team), ["amy", "bob", "erin"]);
    assert_eq!(
        recipients(h1, &to_all),
        ["amy", "bob", "dave", "erin", "frank"]
    );
    assert_eq!(
        recipients(h2, &from_bob),
        ["alice", "amy", "dave", "erin", "frank"]
    );

    let everyone = [&alice, &amy, &bob, &dave, &erin, &frank];
    for (id, sender, members) in [
        (&to_team, "alice", vec!["amy", "bob", "erin"]),
        (
            &to_all,
            "alice",
            vec!["amy", "bob", "dave", "erin", "frank"],
        ),
        (
            &from_bob,
            "bob",
            vec!["alice", "amy", "dave", "erin", "frank"],
        ),
    ] {
        for agent in everyone {
            let want = usize::from(members.contains(&agent.name.as_str()));
            assert_eq!(
                count_in_transcript(&agent.transcript, id),
                want,
                "message {id} from {sender} typed into {} (members {members:?})",
                agent.name
            );
        }
    }
}

#[test]
fn names_are_unique_across_hosts_and_each_host_lists_the_others_agents() {
    let fed = Federation::start(&["h1", "h2"]);
    let (h1, h2) = (fed.host("h1"), fed.host("h2"));
    h1.spawn_fake("alice", &[], &[]);
    h2.spawn_fake("bob", &[], &["ops"]);

    let bob_on_h1 = h1.wait_remote_agent("bob", "h2", "active");
    assert_eq!(bob_on_h1["channels"], json!(["ops"]), "{bob_on_h1}");
    let alice_on_h2 = h2.wait_remote_agent("alice", "h1", "active");
    assert_eq!(alice_on_h2["channels"], json!([]), "{alice_on_h2}");
    // Its own agents: with the host, and not remote.
    let alice_on_h1 = h1.listed("alice").expect("alice on h1");
    assert_eq!(alice_on_h1["host"], "h1", "{alice_on_h1}");
    assert_ne!(alice_on_h1["remote"], json!(true), "{alice_on_h1}");

    // bob lives on h2: nobody may take the name on h1.
    let spawn_bob = json!({"name": "bob", "command": [common::EXE, "fake-agent"]});
    let (status, v) = h1.post("/v1/agents", &spawn_bob);
    assert_eq!((status, error_code(&v)), (409, "name_taken"), "{v}");
    // Nor alice's on h2.
    let spawn_alice = json!({"name": "alice", "command": [common::EXE, "fake-agent"]});
    let (status, v) = h2.post("/v1/agents", &spawn_alice);
    assert_eq!((status, error_code(&v)), (409, "name_taken"), "{v}");
    // The refusals changed nothing: still one bob, on h2.
    let bobs: Vec<Value> = h1
        .agents()
        .into_iter()
        .filter(|a| a["name"] == "bob")
        .collect();
    assert_eq!(bobs.len(), 1, "{bobs:?}");
    assert_eq!(bobs[0]["host"], "h2", "{bobs:?}");

    for (host, peer) in [(h1, "h2"), (h2, "h1")] {
        let f = host.federation();
        assert_eq!(f["enabled"], json!(true), "{f}");
        assert_eq!(f["workspace"], "w", "{f}");
        assert_eq!(f["host"], json!(host.id), "{f}");
        assert_eq!(f["connected"], json!(true), "{f}");
        let peers = f["peers"].as_array().expect("peers");
        assert_eq!(peers.len(), 1, "{f}");
        assert_eq!(
            (&peers[0]["host"], &peers[0]["presence"]),
            (&json!(peer), &json!("active")),
            "{f}"
        );
    }

    // Released on h2: gone from h1's listing, and the name is free again.
    let (status, v) = h2.delete("/v1/agents/bob");
    assert!((200..300).contains(&status), "release bob: {status} {v}");
    common::wait_for("h1 to stop listing bob", || {
        h1.listed("bob").is_none().then_some(())
    });
    h1.spawn_fake("bob", &[], &[]);
    let bob_on_h2 = h2.wait_remote_agent("bob", "h1", "active");
    assert_eq!(bob_on_h2["host"], "h1", "{bob_on_h2}");

    // nats-server syncs every write (the harness's config), and the broker
    // checked it on the monitoring port at join.
    common::wait_for("h1 to log the JetStream sync check", || {
        common::strip_ansi(&h1.stderr())
            .contains("JetStream syncs every write")
            .then_some(())
    });

    // A broker started without --nats is not federated, and says so.
    let alone = tempfile::tempdir().expect("temp dir");
    let plain = Broker::start(alone.path(), &[]);
    let f = plain.get_ok("/v1/federation");
    assert_eq!(f["enabled"], json!(false), "{f}");
    plain.stop_and_check();
}

#[test]
fn a_name_is_taken_on_every_host_as_soon_as_its_spawn_answers() {
    let fed = Federation::start(&["h1", "h2"]);
    let (h1, h2) = (fed.host("h1"), fed.host("h2"));
    // No waiting for the listing: the 201 of the first spawn means the name
    // is claimed in the workspace, so a spawn elsewhere right after it must
    // find it taken (else two hosts each run a "bob").
    h2.spawn_fake("bob", &[], &[]);
    let spawn_bob = json!({"name": "bob", "command": [common::EXE, "fake-agent"]});
    let (status, v) = h1.post("/v1/agents", &spawn_bob);
    if status == 201 {
        // Remember the second bob's pid so the test ends it.
        h1.agents();
    }
    assert_eq!(
        (status, error_code(&v)),
        (409, "name_taken"),
        "a second bob started on h1 right after h2's: {v}"
    );
    let bobs: Vec<Value> = h2
        .agents()
        .into_iter()
        .filter(|a| a["name"] == "bob")
        .collect();
    assert_eq!(bobs.len(), 1, "{bobs:?}");
}
