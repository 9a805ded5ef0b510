//! `--protocol codex-app-server --listen unix://PATH` as a real child process on a real Unix
//! socket, with real WebSocket clients: clients share threads and see each other's turns, each
//! has its own ids and handshake, pings are answered, a client that leaves harms nobody, and the
//! process ends on SIGTERM and on `--crash-after`.

mod proto;
mod ws;

use std::process::Command;

use serde_json::json;
use ws::{Listener, Ws};

fn sock(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("app.sock")
}

#[test]
fn a_second_client_starts_a_turn_on_the_first_clients_thread_and_both_see_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.jsonl");
    let _server = Listener::start(
        &sock(&dir),
        &[
            "--think-ms",
            "20",
            "--transcript",
            t.to_str().expect("utf-8"),
        ],
    );
    let mut tui = Ws::connect(&sock(&dir));
    tui.initialize(1, "codex-tui");
    let thread = tui.thread_start(2);
    let started = tui.notification("thread/started");
    assert_eq!(started["params"]["thread"]["id"], thread.as_str());

    let mut broker = Ws::connect(&sock(&dir));
    broker.request(1, "thread/loaded/list", json!({}));
    assert_eq!(broker.response(1)["error"]["message"], "Not initialized");
    broker.initialize(2, "courier");
    assert_eq!(broker.loaded(3), vec![thread.as_str()]);

    // The same request id from both clients: each gets its own answer, and only its own.
    tui.request(7, "thread/loaded/list", json!({}));
    broker.turn_start(7, &thread, "hello from the broker");
    let mine = broker.response(7);
    assert_eq!(mine["result"]["turn"]["status"], "inProgress", "{mine}");
    let turn = mine["result"]["turn"]["id"].clone();
    let theirs = tui.response(7);
    assert_eq!(theirs["result"]["data"], json!([thread]), "{theirs}");

    // The TUI's client sees the whole turn it did not start.
    let ts = tui.notification("turn/started");
    assert_eq!(ts["params"]["turn"]["id"], turn);
    let user = tui.until("the user message", |m| {
        m["method"] == "item/completed" && m["params"]["item"]["type"] == "userMessage"
    });
    assert_eq!(
        user["params"]["item"]["content"][0]["text"],
        "hello from the broker"
    );
    let reply = tui.until("the reply", |m| {
        m["method"] == "item/completed" && m["params"]["item"]["type"] == "agentMessage"
    });
    assert_eq!(
        reply["params"]["item"]["text"],
        "echo: hello from the broker"
    );
    let done = tui.notification("turn/completed");
    assert_eq!(done["params"]["turn"]["status"], "completed");
    let done = broker.notification("turn/completed");
    assert_eq!(done["params"]["turn"]["id"], turn);

    // No client ever got a response to a request it did not send.
    for (who, seen) in [("tui", &tui.seen), ("broker", &broker.seen)] {
        let ids: Vec<_> = seen
            .iter()
            .filter(|m| m.get("method").is_none())
            .map(|m| m["id"].clone())
            .collect();
        let expected = if who == "tui" {
            json!([1, 2, 7])
        } else {
            json!([1, 2, 3, 7])
        };
        assert_eq!(json!(ids), expected, "{who}: {seen:#?}");
    }
    let lines = proto::transcript(&t);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["text"], "hello from the broker");
    assert_eq!(lines[0]["via"], "turn/start");
}

#[test]
fn pings_are_answered_and_a_client_that_leaves_harms_no_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Listener::start(&sock(&dir), &["--think-ms", ws::FOREVER]);
    let mut a = Ws::connect(&sock(&dir));
    assert!(a.ping(b"are you there"));
    a.initialize(1, "a");
    let thread = a.thread_start(2);
    let mut b = Ws::connect(&sock(&dir));
    b.initialize(1, "b");
    b.turn_start(2, &thread, "long one");
    assert_eq!(b.response(2)["result"]["turn"]["status"], "inProgress");
    // b goes away in the middle of its turn, one with a close frame, then one without.
    b.close();
    let mut c = Ws::connect(&sock(&dir));
    c.initialize(1, "c");
    drop(c);
    let turn = a.notification("turn/started")["params"]["turn"]["id"].clone();
    a.request(3, "thread/loaded/list", json!({}));
    assert_eq!(a.response(3)["result"]["data"], json!([thread]));
    a.request(
        4,
        "turn/interrupt",
        json!({ "threadId": thread, "turnId": turn }),
    );
    assert_eq!(a.response(4)["result"], json!({}));
    let done = a.notification("turn/completed");
    assert_eq!(done["params"]["turn"]["status"], "interrupted");
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait(), Some(0));
    assert!(a.closed(), "the connection closes with the process");
}

#[test]
fn crash_after_exits_and_closes_every_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Listener::start(&sock(&dir), &["--crash-after", "1"]);
    let mut a = Ws::connect(&sock(&dir));
    a.initialize(1, "a");
    let thread = a.thread_start(2);
    let mut b = Ws::connect(&sock(&dir));
    b.initialize(1, "b");
    a.turn_start(3, &thread, "boom");
    assert_eq!(server.wait(), Some(101));
    assert!(a.closed());
    assert!(b.closed());
}

#[test]
fn close_stdout_after_closes_every_connection_and_sighup_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Listener::start(&sock(&dir), &["--close-stdout-after", "1"]);
    let mut a = Ws::connect(&sock(&dir));
    a.initialize(1, "a");
    let thread = a.thread_start(2);
    a.turn_start(3, &thread, "one");
    assert_eq!(
        a.notification("turn/completed")["params"]["turn"]["status"],
        "completed"
    );
    assert!(a.closed());
    server.signal(libc::SIGHUP);
    assert_eq!(server.wait(), Some(0));
    assert!(
        !sock(&dir).exists(),
        "the socket file is removed on a signal"
    );
}

#[test]
fn listen_is_refused_with_other_protocols_and_other_urls() {
    for args in [
        &["--protocol", "acp", "--listen", "unix:///tmp/x.sock"][..],
        &["--listen", "unix:///tmp/x.sock"][..],
        &[
            "--protocol",
            "codex-app-server",
            "--listen",
            "ws://127.0.0.1:1",
        ][..],
        &[
            "--remote",
            "unix:///tmp/x.sock",
            "--protocol",
            "codex-app-server",
        ][..],
        &["--remote", "unix:///tmp/x.sock", "--mode", "line"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_courier-fake-agent"))
            .args(args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error:"), "{args:?}: {err}");
    }
}
