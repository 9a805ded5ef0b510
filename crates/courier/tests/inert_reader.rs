//! A message is framed for the program that reads the agent's terminal at
//! the moment it is typed, not for the command it was spawned with: node
//! ends a `//` comment at U+2028, zsh without `interactive_comments` runs
//! what follows `#`, `bash --rcfile F` and `env bash` are interactive
//! shells however they were started, and a bash agent in which node runs
//! is a node agent until node exits.
//!
//! No test waits for time to pass: after each message a sentinel command
//! is typed into the same program, and once the sentinel's file exists the
//! program has read (and would have run) everything typed before it.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};

/// A fresh broker and an empty work directory for the agents.
fn setup() -> (tempfile::TempDir, Broker, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let dir = root.path().join("work");
    std::fs::create_dir_all(&dir).unwrap();
    (root, broker, dir)
}

fn spawn(broker: &Broker, dir: &Path, name: &str, command: &[&str], extra: Value) {
    // HOME elsewhere: the REPLs' history files are not the messages' doing.
    let home = dir.with_file_name("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut body = json!({"name": name, "command": command, "cwd": dir.display().to_string(),
                          "env": {"PS1": "$ ", "HOME": home.display().to_string()}});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    broker.spawn_request(&body, broker.transcript_path(name));
    broker.wait_ready(name);
}

/// Keys typed as a person would (`POST /input`).
fn type_keys(broker: &Broker, name: &str, text: &str) {
    let (status, v) = broker.post(&format!("/v1/agents/{name}/input"), &json!({"text": text}));
    assert_eq!(status, 204, "input to {name}: {v}");
}

/// Types `command` (which creates `sentinel`) and waits for the file: the
/// program has then read everything typed before it.
fn flush_with(broker: &Broker, name: &str, command: &str, sentinel: &Path) {
    type_keys(broker, name, &format!("{command}\r"));
    wait_for(&format!("{name} to run the sentinel"), || {
        sentinel.exists().then_some(())
    });
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The framing the agent's listing reports now: (name, why).
fn framing_of(broker: &Broker, name: &str) -> (String, String) {
    let v = broker.get_ok(&format!("/v1/agents/{name}"));
    let f = &v["status"]["framing"];
    (
        f["framing"].as_str().unwrap_or_default().to_string(),
        f["why"].as_str().unwrap_or_default().to_string(),
    )
}

fn send_verified(broker: &Broker, to: &str, body: &str) -> String {
    let v = broker.send("mallory", to, body);
    let id = v["message_id"].as_str().unwrap().to_string();
    broker.wait_verified(&id);
    id
}

#[test]
fn node_does_not_run_code_after_a_unicode_line_separator() {
    let (_root, broker, dir) = setup();
    spawn(&broker, &dir, "node", &["node"], json!({}));
    let pwn = dir.join("pwn");
    for sep in ['\u{2028}', '\u{2029}', '\u{85}', '\r'] {
        let body = format!(
            "hi{sep}require('fs').writeFileSync('{}','x')",
            pwn.display()
        );
        send_verified(&broker, "node", &body);
    }
    let sentinel = dir.join("sentinel");
    flush_with(
        &broker,
        "node",
        &format!("require('fs').writeFileSync('{}','x')", sentinel.display()),
        &sentinel,
    );
    assert_eq!(files_in(&dir), ["sentinel"], "a message ran in node");
    assert_eq!(framing_of(&broker, "node").0, "slash-comment");
}

#[test]
fn zsh_without_interactive_comments_runs_nothing() {
    let (_root, broker, dir) = setup();
    spawn(&broker, &dir, "zsh", &["zsh", "-f"], json!({}));
    let f = dir.join("F").display().to_string();
    for body in [
        format!("# x; touch {f}-1"),
        format!("x\n# y; touch {f}-2"),
        format!("it's; touch {f}-3 # '"),
        format!("!! ; touch {f}-4"),
        format!("$(touch {f}-5) `touch {f}-6`"),
        format!("trailing \\\ntouch {f}-7"),
        format!("'unclosed\ntouch {f}-8"),
    ] {
        send_verified(&broker, "zsh", &body);
    }
    let sentinel = dir.join("sentinel");
    flush_with(
        &broker,
        "zsh",
        &format!("touch {}", sentinel.display()),
        &sentinel,
    );
    assert_eq!(files_in(&dir), ["sentinel"], "a message ran in zsh -f");
    let (framing, why) = framing_of(&broker, "zsh");
    assert_eq!(framing, "zsh-quoted", "{why}");
    assert!(why.contains("zsh (pid"), "{why}");
}

#[test]
fn bash_started_with_an_rcfile_or_through_env_is_framed() {
    let (_root, broker, dir) = setup();
    let rc = dir.join("rc");
    std::fs::write(&rc, "PS1='$ '\n").unwrap();
    let rc = rc.display().to_string();
    spawn(
        &broker,
        &dir,
        "rcfile",
        &["bash", "--rcfile", &rc],
        json!({}),
    );
    spawn(&broker, &dir, "env", &["env", "bash", "--norc"], json!({}));
    for agent in ["rcfile", "env"] {
        let f = dir.join(agent).display().to_string();
        send_verified(&broker, agent, &format!("x; touch {f}-1"));
        send_verified(&broker, agent, &format!("z\ntouch {f}-2"));
        let sentinel = dir.join(format!("{agent}-sentinel"));
        flush_with(
            &broker,
            agent,
            &format!("touch {}", sentinel.display()),
            &sentinel,
        );
    }
    assert_eq!(
        files_in(&dir),
        ["env-sentinel", "rc", "rcfile-sentinel"],
        "a message ran in bash"
    );
    for agent in ["rcfile", "env"] {
        assert_eq!(framing_of(&broker, agent).0, "hash-comment");
    }
}

#[test]
fn a_node_started_in_a_bash_agent_reads_the_messages_until_it_exits() {
    let (_root, broker, dir) = setup();
    spawn(
        &broker,
        &dir,
        "sh",
        &["bash", "--norc", "--noprofile", "-i"],
        json!({}),
    );
    type_keys(&broker, "sh", "node\r");
    wait_for("node's welcome", || {
        broker
            .screen("sh")
            .contains("Welcome to Node.js")
            .then_some(())
    });
    broker.wait_ready("sh");
    let pwn = dir.join("pwn");
    let id = send_verified(
        &broker,
        "sh",
        &format!(
            "hi\u{2028}require('fs').writeFileSync('{}','x')",
            pwn.display()
        ),
    );
    let screen = broker.screen("sh");
    assert!(
        screen.contains(&format!(
            "// [courier] from mallory to you (direct) | msg {id}"
        )),
        "{screen}"
    );
    let (framing, why) = framing_of(&broker, "sh");
    assert_eq!(framing, "slash-comment", "{why}");
    assert!(
        why.contains("node (pid") && why.contains("via bash"),
        "{why}"
    );
    // node exits: bash reads the terminal again, and `# ` comes back.
    type_keys(&broker, "sh", ".exit\r");
    wait_for("bash to read its terminal again", || {
        (framing_of(&broker, "sh").0 == "hash-comment").then_some(())
    });
    broker.wait_ready("sh");
    let f = dir.join("after").display().to_string();
    let id = send_verified(&broker, "sh", &format!("x; touch {f}"));
    let screen = broker.screen("sh");
    assert!(
        screen.contains(&format!(
            "# [courier] from mallory to you (direct) | msg {id}"
        )),
        "{screen}"
    );
    let sentinel = dir.join("sentinel");
    flush_with(
        &broker,
        "sh",
        &format!("touch {}", sentinel.display()),
        &sentinel,
    );
    assert_eq!(files_in(&dir), ["sentinel"], "a message ran");
}

/// The control for every test here: with `"framing": "none"` the same
/// kind of body runs, so the tests above cannot pass by accident.
#[test]
fn framing_none_types_the_body_as_it_is() {
    let (_root, broker, dir) = setup();
    spawn(
        &broker,
        &dir,
        "bare",
        &["zsh", "-f"],
        json!({"framing": "none"}),
    );
    let f = dir.join("F").display().to_string();
    broker.send("mallory", "bare", &format!("# x; touch {f}"));
    wait_for("the body to run", || dir.join("F").exists().then_some(()));
    let (framing, why) = framing_of(&broker, "bare");
    assert_eq!(framing, "none");
    assert!(why.contains("framing"), "{why}");
}

#[test]
fn a_spawn_can_fix_the_framing_and_an_unknown_one_is_refused() {
    let (_root, broker, dir) = setup();
    // A fixed framing wins over what reads the terminal.
    spawn(
        &broker,
        &dir,
        "fixed",
        &["bash", "--norc"],
        json!({"framing": "zsh"}),
    );
    assert_eq!(framing_of(&broker, "fixed").0, "zsh-quoted");
    let (status, v) = broker.post(
        "/v1/agents",
        &json!({"name": "odd", "command": ["bash"], "framing": "cobol"}),
    );
    assert_eq!(status, 400, "{v}");
    assert!(v.to_string().contains("framing"), "{v}");
}

/// `script` runs its command in a terminal of its own: the reader is
/// found there, and `script` is named on the way.
#[test]
fn a_shell_inside_script_is_framed_for_its_own_grammar() {
    let (_root, broker, dir) = setup();
    spawn(
        &broker,
        &dir,
        "relay",
        &["script", "-qfc", "zsh -f", "/dev/null"],
        json!({}),
    );
    let f = dir.join("F").display().to_string();
    send_verified(&broker, "relay", &format!("# x; touch {f}"));
    let sentinel = dir.join("sentinel");
    flush_with(
        &broker,
        "relay",
        &format!("touch {}", sentinel.display()),
        &sentinel,
    );
    assert_eq!(
        files_in(&dir),
        ["sentinel"],
        "a message ran in zsh under script"
    );
    let (framing, why) = framing_of(&broker, "relay");
    assert_eq!(framing, "zsh-quoted", "{why}");
    assert!(why.contains("via script"), "{why}");
}

/// An enhanced REPL started as a script of python (`python3 …/bin/ipython`,
/// here through pyenv's shim) is known as itself.
#[test]
fn ipython_started_as_a_python_script_is_known() {
    let (_root, broker, dir) = setup();
    spawn(
        &broker,
        &dir,
        "ipy",
        &["ipython", "--no-banner", "--colors=NoColor"],
        json!({}),
    );
    let (framing, why) = wait_for("ipython to be the reader", || {
        let (framing, why) = framing_of(&broker, "ipy");
        why.contains("ipython (pid").then_some((framing, why))
    });
    assert_eq!(framing, "hash-comment", "{why}");
}

/// `courier agents` and `courier doctor` say which framing each agent
/// gets now and why; `courier spawn --framing` sets it.
#[test]
fn the_cli_shows_each_agents_framing() {
    let (_root, broker, dir) = setup();
    spawn(&broker, &dir, "z", &["zsh", "-f"], json!({}));
    let cli = |args: &[&str]| {
        let out = courier_command()
            .arg("--state-dir")
            .arg(&broker.state_dir)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let spawned = cli(&[
        "spawn",
        "--name",
        "n",
        "--framing",
        "node",
        "--cwd",
        &dir.display().to_string(),
        "--",
        "bash",
        "--norc",
    ]);
    assert!(spawned.contains("spawned n"), "{spawned}");
    let agents = cli(&["agents"]);
    assert!(agents.contains("FRAMING"), "{agents}");
    assert!(
        agents.contains("zsh-quoted (foreground: zsh (pid"),
        "{agents}"
    );
    assert!(
        agents.contains("slash-comment (framing = \"node\")"),
        "{agents}"
    );
    let doctor = cli(&["doctor"]);
    assert!(
        doctor
            .lines()
            .any(|l| l.contains("framing z") && l.contains("zsh-quoted — foreground: zsh")),
        "{doctor}"
    );
}
