//! What Courier calls verified is exactly what happened, end to end: a real
//! broker, real PTYs, the fake agent's composer quirks and real bash,
//! python3 and cat. For every delivery, `verified` holds if and only if the
//! program received that message as one submission of its own, and no
//! submission ever holds two messages or one message twice.
//!
//! Each program has an oracle of what it really received: the fake agent's
//! transcript, bash's history split at each prompt, python3's readline
//! history read at each prompt, the lines cat wrote to a file. (bash and
//! python3 get each line as a comment, so a message runs nothing.)

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const FINAL: &[&str] = &["verified", "unverified", "dead", "dropped", "read"];

/// How a program records what it received, one entry per submission.
#[derive(Debug, Clone)]
enum Oracle {
    /// The fake agent's `--transcript`: each entry is the exact text.
    Transcript(PathBuf),
    /// bash's history file, with `#prompt` after each prompt.
    BashHistory(PathBuf),
    /// python3's history, logged at each prompt: one entry per line read.
    PythonHistory(PathBuf),
    /// cat's output: each line is one submitted line.
    CatLines(PathBuf),
}

impl Oracle {
    fn submissions(&self) -> Vec<String> {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        match self {
            Oracle::Transcript(p) => transcript(p),
            Oracle::BashHistory(p) => read(p)
                .split("#prompt\n")
                .map(|group| group.trim_end_matches('\n').to_string())
                .filter(|group| !group.trim().is_empty())
                .collect(),
            Oracle::PythonHistory(p) | Oracle::CatLines(p) => {
                read(p).lines().map(str::to_string).collect()
            }
        }
    }

    /// Whether `submission` is exactly message `id` (framed as `text`),
    /// typed as a paste or, to a program without bracketed paste, as one
    /// line (`a ⏎ b`).
    /// A shell or REPL gets every line as a comment (`# `).
    fn is_exactly(&self, submission: &str, id: &str, text: &str) -> bool {
        let commented = text
            .lines()
            .map(|l| format!("# {l}"))
            .collect::<Vec<_>>()
            .join("\n");
        let forms = [text.to_string(), commented];
        let one_line = |t: &str| t.replace('\n', " ⏎ ");
        let is = |s: &str| forms.iter().any(|f| s == f || s == one_line(f));
        match self {
            Oracle::Transcript(_) | Oracle::BashHistory(_) | Oracle::CatLines(_) => is(submission),
            // Logged as a Python repr of the line read.
            Oracle::PythonHistory(_) => {
                ids_in(submission) == [id.to_string()] && is(submission.trim_matches('\''))
            }
        }
    }
}

/// Every message id named in a submission (`| msg <id>`).
fn ids_in(submission: &str) -> Vec<String> {
    submission
        .split("| msg ")
        .skip(1)
        .filter_map(|rest| {
            let id: String = rest
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            (!id.is_empty()).then_some(id)
        })
        .collect()
}

struct Case {
    name: String,
    oracle: Oracle,
    /// Messages sent to it: (id, framed text).
    sent: Vec<(String, String)>,
}

fn fake(broker: &Broker, name: &str, args: &[&str], extra: Value) -> Case {
    let transcript = broker.transcript_path(name);
    let mut command = vec![
        json!(EXE),
        json!("fake-agent"),
        json!("--transcript"),
        json!(transcript.display().to_string()),
    ];
    command.extend(args.iter().map(|a| json!(a)));
    let mut body = json!({"name": name, "command": command});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    broker.spawn_request(&body, transcript.clone());
    Case {
        name: name.into(),
        oracle: Oracle::Transcript(transcript),
        sent: Vec::new(),
    }
}

fn program(broker: &Broker, name: &str, command: &[&str], env: Value, oracle: Oracle) -> Case {
    let body = json!({"name": name, "command": command, "env": env});
    broker.spawn_request(&body, broker.transcript_path(name));
    Case {
        name: name.into(),
        oracle,
        sent: Vec::new(),
    }
}

fn bash(broker: &Broker) -> Case {
    let hist = broker.root.join("bash.hist");
    let env = json!({
        "PS1": "$ ",
        "HISTFILE": hist.display().to_string(),
        "PROMPT_COMMAND": "history -a; echo '#prompt' >> \"$HISTFILE\"",
    });
    let cmd = ["bash", "--norc", "--noprofile", "-i"];
    program(broker, "bash", &cmd, env, Oracle::BashHistory(hist))
}

/// python3 with prompts that log every new readline history entry (each
/// line the REPL read) when they are drawn.
fn python(broker: &Broker) -> Case {
    let log = broker.root.join("python.log");
    let startup = broker.root.join("startup.py");
    std::fs::write(
        &startup,
        PYTHON_STARTUP.replace("LOG", &format!("{:?}", log.display().to_string())),
    )
    .expect("write the python startup file");
    let env = json!({"PYTHONSTARTUP": startup.display().to_string()});
    let cmd = ["python3", "-i", "-q"];
    program(broker, "python", &cmd, env, Oracle::PythonHistory(log))
}

const PYTHON_STARTUP: &str = r#"import sys, readline
_log = open(LOG, "a", buffering=1)
_seen = [readline.get_current_history_length()]
class _Prompt:
    def __init__(self, text):
        self.text = text
    def __str__(self):
        n = readline.get_current_history_length()
        while _seen[0] < n:
            _seen[0] += 1
            _log.write(repr(readline.get_history_item(_seen[0])) + "\n")
        return self.text
sys.ps1 = _Prompt(">>> ")
sys.ps2 = _Prompt("... ")
"#;

fn cat(broker: &Broker) -> Case {
    let out = broker.root.join("cat.txt");
    let script = format!("cat >> '{}'; exit", out.display());
    let cmd = ["bash", "-c", script.as_str()];
    program(broker, "cat", &cmd, json!({}), Oracle::CatLines(out))
}

/// Sends `n` messages to the case's agent, back to back, from `sender`.
fn send_all(broker: &Broker, case: &mut Case, n: usize) {
    for i in 0..n {
        let body = format!("{} message {i}\nits second line {i}", case.name);
        let v = broker.send("sender", &case.name, &body);
        let id = v["message_id"].as_str().expect("message_id").to_string();
        let text = format!("[courier] from sender to you (direct) | msg {id}\n{body}");
        case.sent.push((id, text));
    }
}

/// Waits until every delivery of every case has ended; their states by id.
fn final_states(broker: &Broker, cases: &[Case]) -> BTreeMap<String, String> {
    let limit = std::time::Duration::from_secs(90);
    wait_for_within(limit, "every delivery to end", || {
        let mut states = BTreeMap::new();
        for (id, _) in cases.iter().flat_map(|c| &c.sent) {
            let ds = broker.deliveries(id);
            let state = ds.first()?["state"].as_str()?.to_string();
            if !FINAL.contains(&state.as_str()) {
                return None;
            }
            states.insert(id.clone(), state);
        }
        Some(states)
    })
}

/// Checks the invariant for one case; returns a line per violation.
fn violations(case: &Case, states: &BTreeMap<String, String>) -> Vec<String> {
    let subs = case.oracle.submissions();
    let mut out = Vec::new();
    for sub in &subs {
        if ids_in(sub).len() > 1 {
            out.push(format!("{}: merged submission {sub:?}", case.name));
        }
    }
    for (id, text) in &case.sent {
        let mentions = subs.iter().filter(|s| ids_in(s).contains(id)).count();
        if mentions > 1 {
            out.push(format!("{}: {id} submitted {mentions} times", case.name));
        }
        let alone = mentions == 1 && subs.iter().any(|s| case.oracle.is_exactly(s, id, text));
        let verified = states.get(id).map(String::as_str) == Some("verified");
        if verified != alone {
            out.push(format!(
                "{}: {id} is {:?} but submitted alone: {alone}; submissions: {subs:?}",
                case.name,
                states.get(id)
            ));
        }
    }
    out
}

#[test]
fn verified_means_submitted_alone_across_the_quirks_and_real_programs() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let gap = json!({"submit": {"enter_gap_ms": 200}});
    let none = json!({});
    let mut cases = vec![
        fake(&broker, "tui", &[], none.clone()),
        fake(
            &broker,
            "boxed",
            &["--border", "--width", "60"],
            none.clone(),
        ),
        fake(&broker, "line", &["--mode", "line"], none.clone()),
        fake(
            &broker,
            "newline",
            &["--enter-newline-ms", "150"],
            none.clone(),
        ),
        fake(
            &broker,
            "newline-gap",
            &["--enter-newline-ms", "150"],
            gap.clone(),
        ),
        fake(
            &broker,
            "dropped",
            &["--enter-drop-ms", "150"],
            none.clone(),
        ),
        fake(&broker, "dropped-gap", &["--enter-drop-ms", "150"], gap),
        fake(
            &broker,
            "editor",
            &["--multiline", "blank-line", "--mode", "line"],
            none.clone(),
        ),
        fake(
            &broker,
            "alt-enter",
            &["--multiline", "esc-enter"],
            json!({"submit": {"keys": "\u{1b}\r"}}),
        ),
        fake(
            &broker,
            "dots",
            &["--mode", "line", "--continuation", "... "],
            none.clone(),
        ),
        fake(
            &broker,
            "ipython",
            &["--mode", "line", "--continuation", "   ...: "],
            none.clone(),
        ),
        fake(&broker, "mute", &["--draw-nothing"], none.clone()),
        fake(
            &broker,
            "queue",
            &["--busy-ms", "300", "--busy-queue"],
            none,
        ),
        bash(&broker),
        python(&broker),
        cat(&broker),
    ];
    let (status, v) = broker.call(
        broker
            .req(Method::PUT, "/v1/agents/queue/mode")
            .json(&json!({"mode": "immediate"})),
    );
    assert_eq!(status, 200, "{v}");
    for case in &cases {
        broker.wait_ready(&case.name);
    }
    for case in &mut cases {
        send_all(&broker, case, 3);
    }
    let states = final_states(&broker, &cases);
    let mut all = Vec::new();
    for case in &cases {
        // The oracles may lag the screen by a moment: let them settle.
        let settle = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !violations(case, &states).is_empty() && std::time::Instant::now() < settle {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let found = violations(case, &states);
        if !found.is_empty() {
            all.push(format!(
                "{} screen:\n{}",
                case.name,
                broker.screen(&case.name)
            ));
        }
        all.extend(found);
    }
    let verified = states.values().filter(|s| *s == "verified").count();
    assert!(all.is_empty(), "{all:#?}\nstates: {states:#?}");
    // Every one of these programs takes every message: all are verified.
    assert_eq!(verified, states.len(), "{states:#?}");
}

#[test]
fn a_message_left_in_the_input_is_unverified_and_holds_the_next_until_a_person_submits_it() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &["--stuck-after-ms", "1000"]);
    // Enter only ever adds a line here (the submit keys are not set).
    let case = fake(&broker, "editor", &["--multiline", "esc-enter"], json!({}));
    broker.wait_ready("editor");
    let first = broker.send("sender", "editor", "first, stays in the editor");
    let first = first["message_id"].as_str().unwrap().to_string();
    let unverified = broker.wait_event("the first delivery to end unverified", |e| {
        e["type"] == "delivery_verified" && e["message_id"] == first.as_str()
    });
    assert_eq!(
        unverified["verification"], "timeout_fallback",
        "{unverified}"
    );
    let reason = unverified["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("not_submitted"), "{unverified}");
    let rows = unverified["screen"].as_array().cloned().unwrap_or_default();
    assert!(
        rows.iter().any(|r| r
            .as_str()
            .is_some_and(|r| r.contains("stays in the editor"))),
        "the event shows the input: {unverified}"
    );
    // The next message waits: nothing is typed into the left-over text.
    let second = broker.send("sender", "editor", "second, after a person looked");
    let second = second["message_id"].as_str().unwrap().to_string();
    let held = wait_for("the agent to be held", || {
        let v = broker.get_ok("/v1/agents/editor");
        v["status"]["held"].as_str().map(str::to_string)
    });
    assert!(held.contains("never submitted"), "{held}");
    let stuck = broker.wait_event("the held delivery to be reported", |e| {
        e["type"] == "delivery_stuck" && e["message_id"] == second.as_str()
    });
    assert_eq!(stuck["reason"], "agent_not_ready", "{stuck}");
    assert!(!broker.screen("editor").contains("after a person looked"));
    assert_eq!(broker.deliveries(&second)[0]["state"], "queued");
    // A person submits the left-over with the editor's own keys.
    let (status, v) = broker.post("/v1/agents/editor/input", &json!({"text": "\u{1b}\r"}));
    assert_eq!(status, 204, "{v}");
    wait_for("the first message in the transcript", || {
        (transcript(&case_path(&case)).len() == 1).then_some(())
    });
    // The second then goes in; its own Enter only adds a line, so it too
    // ends not_submitted, never glued to the first.
    broker.wait_event("the second delivery to end", |e| {
        e["type"] == "delivery_verified" && e["message_id"] == second.as_str()
    });
    let t = transcript(&case_path(&case));
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(ids_in(&t[0]), [first]);
}

fn case_path(case: &Case) -> PathBuf {
    match &case.oracle {
        Oracle::Transcript(p)
        | Oracle::BashHistory(p)
        | Oracle::PythonHistory(p)
        | Oracle::CatLines(p) => p.clone(),
    }
}

#[test]
fn a_draft_holds_deliveries_until_it_is_cleared() {
    let root = tempfile::tempdir().unwrap();
    // A short typing window: this is about the draft that typing leaves.
    let broker = Broker::start(root.path(), &["--typing-hold-ms", "200"]);
    let case = fake(&broker, "desk", &["--border"], json!({}));
    broker.wait_ready("desk");
    let (status, v) = broker.post("/v1/agents/desk/input", &json!({"text": "my draft"}));
    assert_eq!(status, 204, "{v}");
    wait_for("the draft on screen", || {
        broker.screen("desk").contains("my draft").then_some(())
    });
    let m = broker.send("sender", "desk", "not into the draft");
    let id = m["message_id"].as_str().unwrap().to_string();
    // Typing holds first (a person just typed), then the draft it left.
    let held = wait_for("the agent to be held for its draft", || {
        broker.get_ok("/v1/agents/desk")["status"]["held"]
            .as_str()
            .filter(|h| h.contains("draft"))
            .map(str::to_string)
    });
    assert!(held.starts_with("input_not_empty:"), "{held}");
    assert_eq!(broker.deliveries(&id)[0]["state"], "queued");
    // The person deletes the draft: the message goes in on its own.
    let erase = "\u{7f}".repeat("my draft".len());
    let (status, v) = broker.post("/v1/agents/desk/input", &json!({"text": erase}));
    assert_eq!(status, 204, "{v}");
    broker.wait_verified(&id);
    let t = transcript(&case_path(&case));
    assert_eq!(t.len(), 1, "{t:?}");
    assert!(t[0].ends_with("\nnot into the draft"), "{t:?}");
}

#[test]
fn a_program_that_prints_no_prompt_is_ready_from_the_kernel() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let mut case = cat(&broker);
    let ready = broker.wait_event("cat to be ready", |e| {
        e["type"] == "agent_ready" && e["name"] == "cat"
    });
    assert_eq!(ready["ready_by"], "reading_line", "{ready}");
    send_all(&broker, &mut case, 2);
    let states = final_states(&broker, std::slice::from_ref(&case));
    assert!(states.values().all(|s| s == "verified"), "{states:?}");
    assert_eq!(case.oracle.submissions().len(), 2);
}

#[test]
fn an_agent_busy_forever_is_reported_stuck_busy() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &["--busy-stuck-after-ms", "1000"]);
    fake(&broker, "spinner", &["--busy-forever"], json!({}));
    broker.wait_ready("spinner");
    let first = broker.send("sender", "spinner", "the last thing it takes");
    broker.wait_verified(first["message_id"].as_str().unwrap());
    let second = broker.send("sender", "spinner", "waits for an idle boundary");
    let id = second["message_id"].as_str().unwrap().to_string();
    let stuck = broker.wait_event("the busy agent's delivery to be reported", |e| {
        e["type"] == "delivery_stuck" && e["message_id"] == id.as_str()
    });
    assert_eq!(stuck["reason"], "agent_busy", "{stuck}");
    let rows = stuck["screen"].as_array().cloned().unwrap_or_default();
    assert!(
        rows.iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("thinking"))),
        "{stuck}"
    );
    let health = broker
        .req(Method::GET, "/healthz")
        .send()
        .expect("GET /healthz")
        .json::<Value>()
        .expect("healthz JSON");
    assert_eq!(health["status"], "degraded", "{health}");
}
