//! The terminal stream (`GET /v1/agents/{name}/terminal`) end to end: a real
//! broker, agents in real PTYs under session hosts, real WebSockets on
//! 127.0.0.1. The first frames paint what `/screen` shows, live bytes follow,
//! input and resizes reach the agent, read-only viewers and agents' own
//! tokens only watch, several viewers watch at once, a viewer that stops
//! reading is resynchronised without slowing the agent, and the agent's
//! exit ends the stream.

mod common;

use std::time::Duration;

use common::viewer::{Frame, Viewer, open, parser};
use common::*;
use serde_json::{Value, json};

fn screen_json(broker: &Broker, name: &str) -> Value {
    broker.get_ok(&format!("/v1/agents/{name}/screen"))
}

fn type_in(broker: &Broker, name: &str, text: &str) {
    let (status, v) = broker.post(&format!("/v1/agents/{name}/input"), &json!({"text": text}));
    assert_eq!(status, 204, "input to {name}: {v}");
}

/// A shell agent that prints its terminal size for every line it reads.
fn spawn_size_printer(broker: &Broker, name: &str) -> Agent {
    broker.spawn_command(
        name,
        vec![
            "sh".into(),
            "-c".into(),
            "stty size; while read x; do stty size; done".into(),
        ],
        &[],
        broker.transcript_path(name),
    )
}

#[test]
fn the_first_frames_paint_what_the_screen_shows_then_live_bytes_follow() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    broker.spawn_fake("bob", &["--border", "--prompt", "❯"], &[]);
    broker.wait_ready("bob");
    let mut viewer = Viewer::owner(&broker, "bob", "");
    let screen = screen_json(&broker, "bob");
    assert_eq!(viewer.hello["agent"], "bob");
    assert_eq!(viewer.hello["writable"], true);
    assert_eq!(
        json!([viewer.hello["rows"], viewer.hello["cols"]]),
        screen["size"]
    );
    assert_eq!(json!(viewer.rows()), screen["rows"], "painted rows");
    let (row, col) = viewer.term.screen().cursor_position();
    assert_eq!(json!([row, col]), screen["cursor"]);
    assert!(
        viewer
            .term
            .screen()
            .contents()
            .contains("courier-fake-agent")
    );
    assert!(
        viewer.term.screen().alternate_screen(),
        "the fake TUI's mode too"
    );

    // Live: typed elsewhere, painted here from the agent's own bytes.
    type_in(&broker, "bob", "héllo live ✓");
    viewer.until_contains("héllo live ✓");
    wait_for("the same rows on /screen", || {
        (screen_json(&broker, "bob")["rows"] == json!(viewer.rows())).then_some(())
    });
    broker.stop_and_check();
}

#[test]
fn input_frames_reach_the_agent_and_a_resize_changes_its_size() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let bob = broker.spawn_fake("bob", &["--mode", "line"], &[]);
    spawn_size_printer(&broker, "sizes");
    broker.wait_ready("bob");
    broker.wait_ready("sizes");

    let mut viewer = Viewer::owner(&broker, "bob", "");
    viewer.send_binary("from a binary frame ✓\r".as_bytes());
    viewer.send_json(&json!({"type": "input", "data": "from a text frame\r"}));
    wait_for("both inputs in bob's transcript", || {
        let t = transcript(&bob.transcript);
        (t == ["from a binary frame ✓", "from a text frame"]).then_some(())
    });
    viewer.until_contains("you: from a text frame");

    let mut viewer = Viewer::owner(&broker, "sizes", "");
    viewer.until_contains("40 120");
    viewer.send_json(&json!({"type": "resize", "rows": 30, "cols": 100}));
    wait_for("the new size on /screen", || {
        (screen_json(&broker, "sizes")["size"] == json!([30, 100])).then_some(())
    });
    viewer.send_binary(b"\r");
    viewer.until_contains("30 100");
    for bad in [
        json!({"type": "resize", "rows": 0, "cols": 100}),
        json!({"type": "resize", "rows": 30, "cols": 1001}),
    ] {
        viewer.send_json(&bad);
        let refused = viewer.until_text("error");
        assert_eq!(refused["code"], "invalid_size", "{refused}");
    }
    viewer.send_json(&json!({"type": "paste", "data": "x"}));
    assert_eq!(viewer.until_text("error")["code"], "bad_frame");
    assert_eq!(screen_json(&broker, "sizes")["size"], json!([30, 100]));
    broker.stop_and_check();
}

#[test]
fn a_read_only_viewer_and_an_agents_own_token_only_watch() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let bob = broker.spawn_fake("bob", &["--mode", "line"], &[]);
    let carol = broker.spawn_fake("carol", &["--mode", "line"], &[]);
    broker.wait_ready("bob");
    broker.wait_ready("carol");
    let before = screen_json(&broker, "bob")["size"].clone();

    let mut watcher = Viewer::owner(&broker, "bob", "?read_only=1");
    assert_eq!(watcher.hello["writable"], false);
    watcher.send_binary(b"typed by a watcher\r");
    let refused = watcher.until_text("error");
    assert_eq!(refused["code"], "read_only", "{refused}");
    watcher.send_json(&json!({"type": "input", "data": "also refused\r"}));
    assert_eq!(watcher.until_text("error")["code"], "read_only");
    watcher.send_json(&json!({"type": "resize", "rows": 10, "cols": 10}));
    assert_eq!(watcher.until_text("error")["code"], "read_only");

    // bob's own token, in the query as a browser would send it: watch only.
    let bob_token = environ_var(bob.pid, "COURIER_TOKEN").expect("bob's token");
    let ws = open(&broker, "bob", None, &format!("?token={bob_token}")).expect("own terminal");
    let mut own = Viewer::start(ws);
    assert_eq!(own.hello["writable"], false, "an agent's token never types");
    own.send_binary(b"typed with bob's token\r");
    assert_eq!(own.until_text("error")["code"], "read_only");

    // Nothing of that was typed: a later input arrives alone.
    type_in(&broker, "bob", "marker\r");
    wait_for("the marker in bob's transcript", || {
        (!transcript(&bob.transcript).is_empty()).then_some(())
    });
    assert_eq!(transcript(&bob.transcript), ["marker"]);
    watcher.until_contains("you: marker");
    own.until_contains("you: marker");
    assert_eq!(screen_json(&broker, "bob")["size"], before);

    // Another agent's terminal: refused before the upgrade, as JSON.
    let carol_token = environ_var(carol.pid, "COURIER_TOKEN").expect("carol's token");
    let (status, body) = open(&broker, "bob", Some(&carol_token), "").expect_err("refused");
    assert_eq!(
        (status, error_code(&body)),
        (403, "not_your_terminal"),
        "{body}"
    );
    let (status, body) = open(&broker, "nobody", Some(&broker.token), "").expect_err("refused");
    assert_eq!(
        (status, error_code(&body)),
        (404, "unknown_agent"),
        "{body}"
    );
    let (status, body) = open(&broker, "bob", None, "").expect_err("refused");
    assert_eq!((status, error_code(&body)), (401, "unauthorized"), "{body}");
    let (status, body) =
        open(&broker, "bob", Some(&broker.token), "?read_only=maybe").expect_err("refused");
    assert_eq!((status, error_code(&body)), (400, "bad_query"), "{body}");
    // Not a WebSocket request at all: a JSON error too.
    let (status, body) = broker.get("/v1/agents/bob/terminal");
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body["error"]["code"].is_string(), "{body}");
    broker.stop_and_check();
}

#[test]
fn two_viewers_watch_at_once() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    broker.spawn_fake("bob", &[], &[]);
    broker.wait_ready("bob");
    let mut first = Viewer::owner(&broker, "bob", "");
    let mut second = Viewer::owner(&broker, "bob", "?read_only=1");
    first.send_binary("seen by both ✓".as_bytes());
    first.until_contains("seen by both ✓");
    second.until_contains("seen by both ✓");
    assert_eq!(first.rows(), second.rows());
    broker.stop_and_check();
}

#[test]
fn a_viewer_that_stops_reading_is_resynchronised_and_never_slows_the_agent() {
    let root = tempfile::tempdir().unwrap();
    // A bound of 4 chunks. The flood (12 MB) is well over what the bound,
    // one batch and loopback socket buffers (tcp_wmem's 4 MB at most, the
    // receive window of a client that does not read) can hold, so this
    // viewer falls behind however fast its sender task is.
    let broker = Broker::start(root.path(), &["--stream-buffer-chunks", "4"]);
    broker.spawn_command(
        "flood",
        vec![
            "sh".into(),
            "-c".into(),
            "read go; head -c 12000000 /dev/zero | tr '\\0' 'x'; echo; echo FLOOD-DONE; read x"
                .into(),
        ],
        &[],
        broker.transcript_path("flood"),
    );
    broker.wait_ready("flood");
    let mut slow = Viewer::owner(&broker, "flood", "");
    type_in(&broker, "flood", "\r");
    // The agent wrote everything while this viewer read nothing. 12 MB
    // through a debug build's terminal parser takes seconds, more on a
    // busy 2-core runner: the deadline is generous, the check is the end.
    wait_for_within(
        Duration::from_secs(90),
        "the flood to end on the broker's screen",
        || {
            screen_json(&broker, "flood")["rows"]
                .as_array()?
                .iter()
                .any(|r| r == "FLOOD-DONE")
                .then_some(())
        },
    );
    // Reading again: the viewer gets resyncs (one whenever it had fallen
    // behind the bound), each followed by a screen frame that alone paints
    // the agent's screen on a fresh terminal, and never the whole flood.
    let rows = slow.hello["rows"].as_u64().unwrap() as u16;
    let cols = slow.hello["cols"].as_u64().unwrap() as u16;
    let (mut resyncs, mut bytes, mut after_resync) = (0, 0usize, false);
    while !slow.term.screen().contents().contains("FLOOD-DONE") {
        match slow.next() {
            Frame::Text(t) if t["type"] == "resync" => {
                resyncs += 1;
                after_resync = true;
            }
            Frame::Text(t) => panic!("unexpected {t}"),
            Frame::Binary(frame) => {
                if std::mem::take(&mut after_resync) {
                    assert!(frame.starts_with(b"\x1b[H\x1b[2J"));
                    let mut fresh = parser(rows, cols);
                    fresh.process(&frame);
                    assert!(fresh.screen().contents().contains("xxxxxxxx"));
                }
                bytes += frame.len();
                slow.term.process(&frame);
            }
            Frame::Closed => panic!("closed before the end of the flood"),
        }
    }
    assert!(resyncs >= 1, "a viewer that fell behind is resynchronised");
    assert!(
        bytes < 12_000_000,
        "it skipped what it missed ({bytes} bytes)"
    );
    // Then live again, and its screen is the agent's.
    wait_for("the same rows", || {
        (screen_json(&broker, "flood")["rows"] == json!(slow.rows())).then_some(())
    });
    broker.stop_and_check();
}

#[test]
fn the_agents_exit_ends_the_stream_with_its_code() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    broker.spawn_command(
        "short",
        vec!["sh".into(), "-c".into(), "read x; echo bye; exit 3".into()],
        &[],
        broker.transcript_path("short"),
    );
    broker.wait_ready("short");
    let mut viewer = Viewer::owner(&broker, "short", "");
    viewer.send_binary(b"\r");
    let exit = viewer.until_text("exit");
    assert_eq!(exit, json!({"type": "exit", "code": 3, "signal": null}));
    assert!(viewer.term.screen().contents().contains("bye"));
    assert!(matches!(viewer.next(), Frame::Closed));
    broker.stop_and_check();
}
