//! The dashboard in a real browser: a real `courier up` with three fake
//! agents, and crates/courier/tests/dashboard/e2e.py driving Debian's
//! Chromium through Playwright (both installed by scripts/test.sh; the
//! script never downloads a browser). The script logs in with
//! `courier open --no-browser --json`, sees the agents, sends from the send
//! box and follows the delivery to verified, makes and replays a dead letter,
//! types into a terminal, checks a read-only viewer cannot, checks that each
//! agent's state label is the API's `state` (idle, held by a draft, dead),
//! and checks the security rules (no token in any URL, CSRF header,
//! WebSocket Origin, CSP). This test then checks what the script reports
//! against the broker's own record.
//!
//! A second test does the same for a headless agent's conversation pane
//! (crates/courier/tests/dashboard/conversation.py): a terminal agent and a
//! headless one (`courier fake-agent --protocol acp`), a message to the
//! headless one from the send box, and the pane showing its prompt, its tool
//! call (a hostile title shown escaped) and the agent's reply, live, with no
//! xterm made for it.
//!
//! Skipped, saying so, only when `COURIER_TEST_PYTHON` is unset (a plain
//! local `cargo test`); scripts/test.sh and CI always set it, and then a
//! missing browser or package fails the test.
//!
//! The README's screenshot (docs/dashboard.png) is made by
//! scripts/screenshot.sh from a demo team, not by this test.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Broker, EXE};
use serde_json::{Value, json};

/// The whole script, browser start included, must end within this.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(240);

fn chromium() -> String {
    let browser = std::env::var("COURIER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&browser).exists(),
        "no browser at {browser}: scripts/test.sh installs Debian's chromium \
         (apt-get install -y chromium), or set COURIER_CHROMIUM"
    );
    browser
}

/// The Python that runs the scripts (with playwright), or `None` (the
/// test says it is skipped) when `COURIER_TEST_PYTHON` is unset.
fn test_python() -> Option<String> {
    let Some(python) = std::env::var_os("COURIER_TEST_PYTHON").filter(|p| !p.is_empty()) else {
        eprintln!(
            "SKIPPED: the dashboard's browser test needs COURIER_TEST_PYTHON (a Python with \
             playwright) and Debian's chromium; scripts/test.sh installs both and sets it"
        );
        return None;
    };
    Some(python.to_string_lossy().into_owned())
}

/// Runs `tests/dashboard/{name}` to its end (or kills it at the deadline);
/// returns its exit success, stdout and stderr.
fn run_script(python: &str, name: &str, broker: &Broker) -> (bool, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/dashboard/{name}"));
    let mut child = Command::new(python)
        .arg(&script)
        .env("COURIER_EXE", EXE)
        .env("COURIER_STATE_DIR", &broker.state_dir)
        .env("COURIER_CHROMIUM", chromium())
        .env_remove("COURIER_URL")
        .env_remove("COURIER_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} {}: {e}", script.display()));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the script") {
            break Some(status);
        }
        if start.elapsed() > SCRIPT_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    let err = match status {
        None => format!("{err}\n(killed after {SCRIPT_DEADLINE:?})"),
        Some(_) => err,
    };
    (status.is_some_and(|s| s.success()), out, err)
}

/// The script's JSON report line, once it passed (else the test fails with
/// its output and the broker's log).
fn passed((success, out, err): (bool, String, String), broker: &Broker) -> Value {
    eprintln!("{out}{err}");
    assert!(
        success,
        "the browser test failed:\n{out}\n{err}\n--- broker log ---\n{}",
        broker.stderr()
    );
    out.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("the script's JSON report line")
}

#[test]
fn the_dashboard_works_in_a_real_browser() {
    let Some(python) = test_python() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &["--ephemeral", "--queue-cap", "2"]);
    // 80×24 terminals, so two panes side by side show whole screens.
    for (name, args, channels) in [
        ("alice", &["--mode", "line"][..], &["team"][..]),
        ("bob", &[], &["team"]),
        ("carol", &["--mode", "line", "--reply", "noted"], &[]),
    ] {
        let transcript = broker.transcript_path(name);
        let mut command = vec![
            EXE.to_string(),
            "fake-agent".to_string(),
            "--transcript".to_string(),
            transcript.display().to_string(),
        ];
        command.extend(args.iter().map(|a| a.to_string()));
        let spec =
            json!({"name": name, "command": command, "channels": channels, "rows": 24, "cols": 80});
        broker.spawn_request(&spec, transcript);
    }
    for name in ["alice", "bob", "carol"] {
        broker.wait_ready(name);
    }
    let started = Instant::now();
    let report = passed(run_script(&python, "e2e.py", &broker), &broker);
    eprintln!("browser test took {:.1} s", started.elapsed().as_secs_f64());

    // What the script saw, against the broker's own record.
    let sent = report["sent_message_id"].as_str().expect("sent message id");
    let verified = broker.wait_verified(sent);
    assert_eq!(verified[0]["agent"], "alice");
    let message = broker.get_ok(&format!("/v1/messages/{sent}"));
    assert_eq!(message["message"]["from"], "you", "{message}");
    let replayed = report["replayed_delivery_id"]
        .as_str()
        .expect("replayed id");
    let events = broker.events();
    let of = |kind: &str| {
        events
            .iter()
            .filter(|e| e["type"] == kind && e["delivery_id"] == replayed)
            .count()
    };
    assert_eq!(of("delivery_replayed"), 1, "replayed once");
    assert_eq!(of("delivery_verified"), 1, "then verified once");
    let dropped = events.iter().any(|e| {
        e["type"] == "delivery_dropped"
            && e["dropped"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d["delivery_id"] == replayed))
    });
    assert!(dropped, "the replayed delivery was a dead letter first");
    let carol = broker.get_ok("/v1/agents/carol");
    assert_eq!(
        carol["mode"], "idle",
        "the dashboard set carol back to idle"
    );
    if let Some(typed) = report["typed"].as_str() {
        let lines = common::transcript(&broker.transcript_path("alice"));
        assert!(
            lines.iter().any(|l| l == typed),
            "alice's transcript has what was typed in the browser: {lines:?}"
        );
    }
    let marked = report["marked_message_id"].as_str().expect("marked id");
    broker.wait_verified(marked);

    // The message held by bob's draft went in once the draft was cleared,
    // and never into the draft.
    let held = report["held_message_id"].as_str().expect("held id");
    broker.wait_verified(held);
    let body = report["held_body"].as_str().expect("held body");
    let draft = report["held_draft"].as_str().expect("held draft");
    let lines = common::transcript(&broker.transcript_path("bob"));
    assert!(
        lines.iter().any(|l| l.ends_with(body)),
        "bob's transcript has the held message: {lines:?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains(draft)),
        "nothing was submitted with the draft in it: {lines:?}"
    );
    broker.stop_and_check();
}

/// The headless agent's tool-call title (conversation.py's `TOOL_TITLE`): an
/// escape sequence and a bidi override the pane must show, not obey.
const TOOL_TITLE: &str = "ls -la \u{1b}[31m\u{202e}evil";

#[test]
fn a_headless_agent_shows_its_conversation_not_a_terminal() {
    let Some(python) = test_python() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &["--ephemeral"]);
    broker.spawn_fake("tom", &["--mode", "line"], &[]);
    let transcript = broker.transcript_path("gem");
    let command = [
        EXE,
        "fake-agent",
        "--protocol",
        "acp",
        "--transcript",
        &transcript.display().to_string(),
        "--tool-call",
        TOOL_TITLE,
    ]
    .map(String::from);
    let spec = json!({"name": "gem", "headless": true, "command": command});
    broker.spawn_request(&spec, transcript);
    for name in ["tom", "gem"] {
        broker.wait_ready(name);
    }
    let report = passed(run_script(&python, "conversation.py", &broker), &broker);

    // What the pane showed, against the broker's own record.
    let id = |key: &str| report[key].as_str().expect(key).to_string();
    let (sent, threaded, from_pane) = (
        id("sent_message_id"),
        id("threaded_message_id"),
        id("pane_message_id"),
    );
    for message in [&sent, &threaded, &from_pane] {
        let verified = broker.wait_verified(message);
        assert_eq!(verified[0]["verification"], "protocol", "{verified:?}");
    }
    let conversation = broker.get_ok("/v1/agents/gem/transcript")["events"].clone();
    let seen = |kind: &str, message: &str| {
        conversation
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["type"] == kind && e["message_id"] == message)
            .count()
    };
    for message in [&sent, &threaded, &from_pane] {
        assert_eq!(seen("conversation_prompt", message), 1, "{conversation}");
        assert_eq!(seen("conversation_reply", message), 1, "{conversation}");
        // The tool call's start and its completion: two events, one entry.
        assert_eq!(seen("conversation_tool_call", message), 2, "{conversation}");
    }
    let titled = conversation
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "conversation_tool_call" && e["title"] == TOOL_TITLE)
        .count();
    assert_eq!(
        titled, 3,
        "each turn's tool call, titled as sent: {conversation}"
    );
    let replies = broker.get_ok(&format!("/v1/messages/{sent}"))["replies"].clone();
    let vias: Vec<_> = replies
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["from"].clone(), r["via"].clone()))
        .collect();
    assert_eq!(
        vias,
        [
            (json!("gem"), json!("protocol")),
            (json!("tom"), json!("message"))
        ],
        "{replies}"
    );
    broker.stop_and_check();
}
