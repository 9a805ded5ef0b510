//! A message to a shell is not a command: whoever may message a bash or
//! python3 agent must not run code as its user. Each line of a message to a
//! known shell or REPL (the `shell` preset, a raw `bash -i`, `python3`)
//! arrives as a comment; hostile bodies create nothing, and the delivery is
//! still verified. A raw command of an unknown program gets plain text.

mod common;

use common::*;
use serde_json::json;

/// Bodies that would each create `marker` in the agent's directory if the
/// program ran them.
fn hostile(dir: &std::path::Path, marker: &str) -> Vec<String> {
    let f = dir.join(marker).display().to_string();
    vec![
        format!("z\ntouch {f}-1"),
        format!("x; touch {f}-2"),
        format!("$(touch {f}-3)"),
        format!("`touch {f}-4`"),
        format!("ok\\\ntouch {f}-5"),
        format!("z\nopen('{f}-6', 'w').close()"),
        format!("z\n__import__('os').system('touch {f}-7')"),
        format!("\"\"\"\nopen('{f}-8', 'w').close()\n\"\"\""),
    ]
}

fn spawn(broker: &Broker, body: serde_json::Value) {
    let name = body["name"].as_str().unwrap_or_default().to_string();
    broker.spawn_request(&body, broker.transcript_path(&name));
    broker.wait_ready(&name);
}

#[test]
fn hostile_bodies_to_shells_and_repls_run_nothing() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let dir = root.path().join("work");
    std::fs::create_dir_all(&dir).unwrap();
    let cwd = dir.display().to_string();
    spawn(
        &broker,
        json!({"name": "sh", "preset": "shell", "cwd": cwd, "command": []}),
    );
    spawn(
        &broker,
        json!({"name": "bash", "command": ["bash", "--norc", "--noprofile", "-i"], "cwd": cwd, "env": {"PS1": "$ "}}),
    );
    spawn(
        &broker,
        json!({"name": "py", "command": ["python3", "-i", "-q"], "cwd": cwd}),
    );
    let mut ids = Vec::new();
    for agent in ["sh", "bash", "py"] {
        for body in hostile(&dir, agent) {
            let v = broker.send("mallory", agent, &body);
            ids.push(v["message_id"].as_str().unwrap().to_string());
        }
    }
    for id in &ids {
        broker.wait_verified(id);
    }
    let created: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(created.is_empty(), "the messages ran: {created:?}");
    // Each reached the screen as a comment.
    let screen = broker.screen("bash");
    assert!(screen.contains("# [courier] from mallory"), "{screen}");
}

#[test]
fn an_unknown_program_gets_plain_text() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let agent = broker.spawn_fake("plain", &[], &[]);
    broker.wait_ready("plain");
    let v = broker.send("alice", "plain", "no comment here");
    broker.wait_verified(v["message_id"].as_str().unwrap());
    let t = transcript(&agent.transcript);
    assert!(t[0].starts_with("[courier] from alice"), "{t:?}");
}

/// The control: the same bodies do run when the framing is turned off
/// (`inert_prefix: ""`), so the test above proves something.
#[test]
fn without_the_comment_the_same_body_runs() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let dir = root.path().join("work");
    std::fs::create_dir_all(&dir).unwrap();
    spawn(
        &broker,
        json!({"name": "bare", "command": ["bash", "--norc", "--noprofile", "-i"],
               "cwd": dir.display().to_string(), "env": {"PS1": "$ "}, "inert_prefix": ""}),
    );
    let body = &hostile(&dir, "bare")[0];
    broker.send("mallory", "bare", body);
    wait_for("the body to run", || {
        dir.join("bare-1").exists().then_some(())
    });
}
