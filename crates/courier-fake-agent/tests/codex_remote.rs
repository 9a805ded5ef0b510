//! `--remote unix://PATH`: the fake TUI in a real PTY as a client of a `--listen` fake app server
//! (both real processes on a real socket), with a second WebSocket client in the broker's place:
//! the broker's turn shows in the TUI (`› <text>`, the Working line, the reply), a message typed
//! into the TUI becomes a turn on the server, Esc interrupts, and when the server dies the TUI
//! says so and goes on as a local TUI.

mod common;
mod proto;
mod ws;

use std::time::{Duration, Instant};

use common::{Agent, TIMEOUT, wait_file};
use serde_json::{Value, json};
use ws::{Listener, Ws};

const WORKING: &str = "esc to interrupt)";

/// The broker's client, joined, and the TUI's thread once the server lists it.
fn join(path: &std::path::Path) -> (Ws, String) {
    let mut broker = Ws::connect(path);
    broker.initialize(1, "courier");
    let deadline = Instant::now() + TIMEOUT;
    let mut id = 100;
    loop {
        id += 1;
        if let Some(thread) = broker.loaded(id).pop() {
            return (broker, thread);
        }
        assert!(Instant::now() < deadline, "the TUI never started a thread");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    proto::transcript(path)
}

#[test]
fn the_tui_shows_the_brokers_turn_sends_its_own_and_falls_back_when_the_server_dies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("app.sock");
    let server_t = dir.path().join("server.jsonl");
    let tui_t = dir.path().join("tui.jsonl");
    let server = Listener::start(
        &sock,
        &[
            "--think-ms",
            ws::FOREVER,
            "--transcript",
            server_t.to_str().expect("utf-8"),
        ],
    );
    let mut tui = Agent::start(&[
        "--remote",
        &server.url(),
        "--transcript",
        tui_t.to_str().expect("utf-8"),
    ]);
    let (mut broker, thread) = join(&sock);

    // The broker's turn: the user message, the Working line, then the reply.
    broker.turn_start(1, &thread, "hello from courier\nsecond line");
    assert_eq!(broker.response(1)["result"]["turn"]["status"], "inProgress");
    let screen = tui.wait_screen("the broker's message and the Working line", |c| {
        c.contains("› hello from courier") && c.contains("Working (") && c.contains(WORKING)
    });
    assert!(screen.contains("\n  second line"), "{screen}");
    assert!(
        screen.contains("Working (0s • esc to interrupt)"),
        "{screen}"
    );
    server.signal(libc::SIGUSR1);
    let screen = tui.wait_screen("the reply, and no Working line", |c| {
        c.contains("• echo: hello from courier") && !c.contains(WORKING)
    });
    eprintln!("--- after the broker's turn ---\n{screen}\n---");
    broker.notification("turn/completed");
    assert!(
        lines(&tui_t).is_empty(),
        "the TUI records only what it submitted itself"
    );

    // Typed into the TUI: a turn on the server, shown from the server's user message.
    tui.send(b"typed by hand");
    tui.wait_screen("the typed text in the box", |c| {
        c.contains("> typed by hand")
    });
    tui.send(b"\r");
    let user = broker.until("the typed message", |m| {
        m["method"] == "item/completed" && m["params"]["item"]["type"] == "userMessage"
    });
    assert_eq!(
        user["params"]["item"]["content"][0]["text"],
        "typed by hand"
    );
    assert_eq!(user["params"]["threadId"], thread.as_str());
    tui.wait_screen("the typed message from the server, working", |c| {
        c.contains("› typed by hand") && c.contains(WORKING)
    });
    let server_lines = wait_file(&server_t, |s| s.lines().count() == 2);
    let last: Value =
        serde_json::from_str(server_lines.lines().last().expect("line")).expect("json");
    assert_eq!(
        (last["text"].clone(), last["via"].clone()),
        (json!("typed by hand"), json!("turn/start"))
    );
    assert_eq!(
        lines(&tui_t),
        [json!({ "n": 1, "text": "typed by hand", "via": "turn/start" })]
    );

    // Esc interrupts the running turn.
    tui.send(b"\x1b");
    let done = broker.notification("turn/completed");
    assert_eq!(done["params"]["turn"]["status"], "interrupted");
    tui.wait_screen("no Working line", |c| !c.contains(WORKING));

    // The server dies: the TUI says so and is a local TUI from then on.
    drop(server);
    tui.wait_screen("the disconnect", |c| c.contains("app server disconnected"));
    tui.send(b"after the server\r");
    tui.wait_screen("the local echo", |c| c.contains("you: after the server"));
    assert_eq!(
        lines(&tui_t)[1],
        json!({ "n": 2, "text": "after the server" })
    );
    tui.send(b"\x04");
    assert_eq!(tui.wait_exit(), 0);
}

#[test]
fn the_tui_waits_for_a_server_that_starts_later_and_holds_what_is_typed_meanwhile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("late.sock");
    let url = format!("unix://{}", sock.display());
    let mut tui = Agent::start(&["--remote", &url]);
    tui.wait_screen("the box", |c| c.contains("> "));
    tui.send(b"early bird\r");
    tui.wait_screen("the message waiting", |c| c.contains("queued: early bird"));
    std::thread::sleep(Duration::from_millis(300));
    let server = Listener::start(&sock, &["--think-ms", "0"]);
    let (_broker, _thread) = join(&sock);
    tui.wait_screen("the held message sent and answered", |c| {
        c.contains("› early bird") && c.contains("• echo: early bird") && !c.contains("queued:")
    });
    drop(server);
}
