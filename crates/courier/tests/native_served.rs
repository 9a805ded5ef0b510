//! Codex with its TUI kept (issue 21, item 2): a preset with `served` runs
//! the app server and the TUI joined to it in the agent's terminal
//! (`courier served-tui`), and the broker is a second client of the same
//! server. Here the fake agent plays both (`--listen unix://…` and
//! `--remote unix://…`): a message is verified by the protocol and shows in
//! the TUI; `immediate` steers into a turn the person started; when the
//! server goes away, deliveries are typed into the TUI (`agent_channel`);
//! a TUI that does not show the message is recorded beside the protocol's
//! proof (`delivery_on_screen`); a broker killed mid-turn leaves the agent
//! to the next one, and every message arrives once; a hostile body reaches
//! the server and the TUI as visible text.

mod common;

use std::path::{Path, PathBuf};

use common::headless::{courier, message_id, wait_settled};
use common::{Broker, EXE, count_in_transcript, wait_for};
use serde_json::{Value, json};

/// A broker with preset `fakecodex`: the fake agent as Codex's app server
/// (`--think-ms` `think`) served on a socket, and its TUI joined to it;
/// agent `cx` spawned from it and ready. Returns the broker and the
/// server's and the TUI's transcripts.
fn served_codex(tmp: &Path, think_ms: u64) -> (Broker, PathBuf, PathBuf) {
    served_codex_with(tmp, think_ms, "done: {input}", "")
}

/// [`served_codex`] with the server's `--reply` `reply`, and `tui_args`
/// (a TOML list's items) after the TUI's `--remote`.
fn served_codex_with(
    tmp: &Path,
    think_ms: u64,
    reply: &str,
    tui_args: &str,
) -> (Broker, PathBuf, PathBuf) {
    let server_transcript = tmp.join("server.jsonl");
    let tui_transcript = tmp.join("tui.jsonl");
    let presets = tmp.join("presets.toml");
    std::fs::write(
        &presets,
        format!(
            "[presets.fakecodex]\ncommand = \"{EXE}\"\nargs = [\"fake-agent\"]\n\
             headless_args = [\"--protocol\", \"codex-app-server\"]\n\
             headless_protocol = \"codex-app-server\"\ndelivery = \"native\"\n\
             [presets.fakecodex.served]\n\
             server_args = [\"--listen\", \"unix://{{socket}}\", \"--think-ms\", \"{think_ms}\", \
             \"--reply\", \"{reply}\", \"--transcript\", \"{}\"]\n\
             remote_args = [\"--remote\", \"unix://{{socket}}\"{tui_args}]\n\
             [presets.fakecodex.mcp]\nstyle = \"none\"\n",
            server_transcript.display()
        ),
    )
    .expect("write presets");
    let presets = presets.display().to_string();
    let broker = Broker::start_with_env(
        tmp,
        &["--typing-hold-ms", "0"],
        &[("COURIER_PRESETS", &presets)],
    );
    let workdir = tmp.join("work");
    std::fs::create_dir_all(&workdir).expect("workdir");
    let tui = format!("--transcript={}", tui_transcript.display());
    let workdir = workdir.display().to_string();
    courier(
        &broker,
        &[
            "spawn",
            "fakecodex",
            "--name",
            "cx",
            "--cwd",
            &workdir,
            "--arg",
            &tui,
        ],
    );
    broker.wait_ready("cx");
    broker.wait_event("the broker joined the app server", |e| {
        e["type"] == "agent_channel" && e["channel"] == "native"
    });
    (broker, server_transcript, tui_transcript)
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn a_message_to_codex_with_its_tui_goes_through_its_app_server_and_shows_in_the_tui() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (broker, server, tui) = served_codex(tmp.path(), 0);
    let listed = broker.get_ok("/v1/agents/cx");
    assert_eq!(listed["delivery"], json!("native"), "{listed}");

    let id = message_id(&broker.send("alice", "cx", "check the served path"));
    let ds = broker.wait_verified(&id);
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    assert_eq!(ds[0]["channel"], json!("native"), "{ds:?}");
    // The server took it once, as a turn of its own; the TUI typed nothing.
    assert_eq!(count_in_transcript(&server, &id), 1);
    assert_eq!(count_in_transcript(&tui, &id), 0);
    let taken = lines(&server);
    assert_eq!(taken[0]["via"], json!("turn/start"), "{taken:?}");
    // The person watching the TUI sees it in the transcript: the second
    // witness, recorded beside the protocol's proof.
    let on_screen = broker.wait_event("the TUI's screen witness", |e| {
        e["type"] == "delivery_on_screen" && e["message_id"] == json!(id)
    });
    assert_eq!(on_screen["shown"], json!(true), "{on_screen}");
    assert!(broker.screen("cx").contains("check the served path"));
    // The turn's answer is the message's reply.
    let message = broker.get_ok(&format!("/v1/messages/{id}"));
    let reply = message["replies"][0]["text"].as_str().unwrap_or_default();
    assert!(reply.contains("check the served path"), "{message}");
}

#[test]
fn a_tui_that_does_not_show_the_message_is_recorded_beside_the_protocols_proof() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (broker, server, _) = served_codex_with(
        tmp.path(),
        0,
        "all done",
        ", \"--remote-hides-user-messages\"",
    );
    let id = message_id(&broker.send("alice", "cx", "a message the TUI leaves out"));
    let ds = broker.wait_verified(&id);
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    assert_eq!(count_in_transcript(&server, &id), 1);
    // The protocol's proof stands; the screen's witness says it did not
    // show the message, with the rows it showed instead (the reply, which
    // does not quote it here).
    let on_screen = broker.wait_event("the TUI's screen witness", |e| {
        e["type"] == "delivery_on_screen" && e["message_id"] == json!(id)
    });
    assert_eq!(on_screen["shown"], json!(false), "{on_screen}");
    let rows = on_screen["screen"].as_array().expect("the screen's rows");
    assert!(
        rows.iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("all done"))),
        "{on_screen}"
    );
    let ds = broker.get_ok(&format!("/v1/messages/{id}"))["deliveries"].clone();
    assert_eq!(ds[0]["state"], json!("verified"), "{ds}");
}

#[test]
fn immediate_steers_into_the_turn_a_person_started_in_the_tui() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (broker, server, _) = served_codex(tmp.path(), 4000);
    // The person starts a turn in the TUI.
    let (status, v) = broker.post(
        "/v1/agents/cx/input",
        &json!({"text": "a long task from the person\r"}),
    );
    assert!(status < 300, "{status} {v}");
    wait_for("the person's turn", || {
        lines(&server)
            .iter()
            .any(|l| l["text"] == "a long task from the person")
            .then_some(())
    });
    broker.set_mode("cx", "immediate");
    let id = message_id(&broker.send("alice", "cx", "also look at the tests"));
    let ds = broker.wait_verified(&id);
    assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    let taken = lines(&server);
    let steered = taken
        .iter()
        .find(|l| l["text"].as_str().is_some_and(|t| t.contains(&id)))
        .expect("the message in the server's transcript");
    assert_eq!(steered["via"], json!("turn/steer"), "{taken:?}");
    // Into the person's turn, not a turn of its own.
    assert_eq!(steered["turn"], taken[0]["turn"], "{taken:?}");
    assert_eq!(count_in_transcript(&server, &id), 1);
}

#[test]
fn when_the_app_server_goes_away_messages_are_typed_into_the_tui() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (broker, server, tui) = served_codex(tmp.path(), 0);
    let first = message_id(&broker.send("alice", "cx", "through the server"));
    broker.wait_verified(&first);

    let socket = broker.state_dir.join("sessions/served/cx.sock");
    let killed = std::process::Command::new("pkill")
        .args(["-f", "--"])
        .arg(format!("--listen unix://{}", socket.display()))
        .status()
        .expect("pkill");
    assert!(killed.success(), "no app server to kill");
    let fell_back = broker.wait_event("the fallback to keystrokes", |e| {
        e["type"] == "agent_channel" && e["channel"] == "keystrokes"
    });
    assert!(
        fell_back["why"]
            .as_str()
            .unwrap_or_default()
            .contains("went away"),
        "{fell_back}"
    );
    wait_for("the TUI to say so", || {
        broker
            .screen("cx")
            .contains("app server disconnected")
            .then_some(())
    });

    let second = message_id(&broker.send("alice", "cx", "typed this time"));
    let ds = broker.wait_verified(&second);
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0]["channel"], json!("pty"), "{ds:?}");
    assert_eq!(count_in_transcript(&tui, &second), 1);
    assert_eq!(count_in_transcript(&server, &second), 0);
    assert_eq!(count_in_transcript(&server, &first), 1);
}

#[test]
fn a_broker_killed_mid_turn_leaves_the_served_agent_and_every_message_arrives_once() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (mut broker, server, tui) = served_codex(tmp.path(), 3000);
    let held = message_id(&broker.send("alice", "cx", "the turn in flight"));
    wait_for("the message's turn on the server", || {
        (count_in_transcript(&server, &held) == 1).then_some(())
    });
    wait_for("the message in the TUI's transcript", || {
        broker
            .screen("cx")
            .contains("the turn in flight")
            .then_some(())
    });
    let queued: Vec<String> = (1..=2)
        .map(|n| message_id(&broker.send("alice", "cx", &format!("queued {n}"))))
        .collect();
    // The TUI and its server live in the agent's session host: they
    // outlive the broker, and the next one joins the same socket.
    broker.crash();
    drop(broker);
    let presets = tmp.path().join("presets.toml").display().to_string();
    let broker = Broker::start_with_env(
        tmp.path(),
        &["--typing-hold-ms", "0"],
        &[("COURIER_PRESETS", &presets)],
    );
    broker.wait_ready("cx");
    // The protocol's proof of the turn in flight went with the killed
    // broker's connection; the surviving TUI shows the message in its
    // transcript, which settles it (as any resumed terminal agent's), and
    // it is never started again.
    let d = wait_settled(&broker, &held);
    assert_eq!(d["state"], json!("verified"), "{d}");
    assert_eq!(d["verification"], json!("echo"), "{d}");
    for id in &queued {
        let ds = broker.wait_verified(id);
        assert_eq!(ds[0]["verification"], json!("protocol"), "{ds:?}");
    }
    for id in queued.iter().chain([&held]) {
        assert_eq!(
            count_in_transcript(&server, id),
            1,
            "{id}: {:?}",
            lines(&server)
        );
        assert_eq!(count_in_transcript(&tui, id), 0, "{id} typed into the TUI");
    }
}

#[test]
fn a_hostile_body_reaches_the_server_and_the_tui_as_visible_text() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (broker, server, _) = served_codex(tmp.path(), 0);
    let body = "title \u{1b}]0;pwned\u{7} then \u{1b}[2J\u{1b}[201~ and \u{9b}31m end";
    let id = message_id(&broker.send("alice", "cx", body));
    broker.wait_verified(&id);
    let taken = lines(&server);
    let text = taken
        .iter()
        .find_map(|l| l["text"].as_str().filter(|t| t.contains(&id)))
        .expect("the message in the server's transcript");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "a control character reached the protocol: {text:?}"
    );
    assert!(text.contains("^[]0;pwned^G then ^[[2J^[[201~"), "{text:?}");
    broker.wait_event("the TUI's screen witness", |e| {
        e["type"] == "delivery_on_screen" && e["message_id"] == json!(id) && e["shown"] == true
    });
    let screen = broker.screen("cx");
    assert!(screen.contains("^[]0;pwned^G"), "{screen}");
}
