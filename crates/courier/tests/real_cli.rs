//! The real agent CLIs, headless and offline (issue 21): what they answer
//! without network or keys. Each test is skipped, saying so, when its CLI
//! is not on `PATH` (`COURIER_REAL_CLI_PATH` adds directories, e.g. an
//! `npm install --prefix DIR @openai/codex`'s `DIR/node_modules/.bin`).
//!
//! Codex 0.171.0's app server, offline: `initialize` and `thread/start`
//! answer, `turn/start` answers with the turn and shows the input as a
//! `userMessage` item at once, then the turn retries the network and does
//! not end. So a delivery to it stays `injected` (never `verified`: the turn
//! did not complete), the CLI's own session file holds the message, and
//! `courier interrupt` ends it `turn_cancelled` through `turn/interrupt`.
//!
//! Gemini CLI 0.61.0's ACP, offline: `initialize` answers; `session/new`
//! needs a key (any: `GEMINI_API_KEY` is set to a dummy), then
//! `session/prompt` retries the network and does not answer until
//! `session/cancel`, which it answers `stopReason: "cancelled"`.
//!
//! Claude Code over stream-json, offline with no login: the `initialize`
//! control request answers; a user line is echoed (`isReplay`) and its turn
//! ends with an error `result` (no credentials): the CLI took the input and
//! said why the turn failed, so the delivery ends `turn_refused` with the
//! CLI's words, never `verified`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::headless::{
    courier, interrupt_ends_cancelled, message_id, never_verified, settled_unverified,
};
use common::{Broker, wait_for_within};
use serde_json::json;

/// `PATH` with `COURIER_REAL_CLI_PATH`'s directories first.
fn search_path() -> String {
    let extra = std::env::var("COURIER_REAL_CLI_PATH").unwrap_or_default();
    let path = std::env::var("PATH").unwrap_or_default();
    [extra, path]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(":")
}

/// The CLI `name` on the search path, if installed.
/// The real CLI `name` and the PATH that finds it; `None` after saying
/// the test is skipped and how to install it (`install`).
fn real_cli(name: &str, install: &str) -> Option<(PathBuf, String)> {
    let path = search_path();
    let Some(cli) = installed(name, &path) else {
        eprintln!(
            "SKIPPED: `{name}` is not installed ({install}, or set COURIER_REAL_CLI_PATH to a \
             directory holding it)"
        );
        return None;
    };
    eprintln!("real {name}: {}", cli.display());
    Some((cli, path))
}

fn installed(name: &str, path: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Every file under `dir` whose text contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                files_containing(&path, needle)
            } else if std::fs::read_to_string(&path).is_ok_and(|t| t.contains(needle)) {
                vec![path]
            } else {
                Vec::new()
            }
        })
        .collect()
}

/// A broker whose agents find the real CLIs and have their own home (no
/// login, no user config, their session files here), with `env` added.
fn offline_broker(tmp: &Path, path: &str, env: &[(&str, &str)]) -> (Broker, PathBuf, String) {
    let home = tmp.join("home");
    let workdir = tmp.join("work");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&workdir).expect("workdir");
    let home_str = home.display().to_string();
    let mut all = vec![("PATH", path), ("HOME", home_str.as_str())];
    all.extend_from_slice(env);
    let broker = Broker::start_with_env(tmp, &[], &all);
    (broker, home, workdir.display().to_string())
}

/// Spawns preset `preset` headless as `name`; waits for its handshake.
fn spawn_headless(broker: &Broker, preset: &str, name: &str, workdir: &str) {
    courier(
        broker,
        &[
            "spawn",
            preset,
            "--name",
            name,
            "--headless",
            "--cwd",
            workdir,
        ],
    );
    broker.wait_ready(name);
    let ready = broker.wait_event("agent_ready", |e| e["type"] == "agent_ready");
    assert_eq!(ready["ready_by"], json!("protocol"), "{ready}");
}

#[test]
fn real_gemini_acp_takes_a_prompt_offline_and_cancels_it() {
    let Some((_, path)) = real_cli("gemini", "npm install -g @google/gemini-cli") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let key = [("GEMINI_API_KEY", "courier-offline-test")];
    let (broker, _, workdir) = offline_broker(tmp.path(), &path, &key);
    spawn_headless(&broker, "gemini", "gem", &workdir);
    let id = message_id(&broker.send("alice", "gem", "hello from courier, offline"));
    wait_for_within(Duration::from_secs(30), "the prompt written", || {
        let d = broker.deliveries(&id);
        (d[0]["state"] == json!("injected")).then_some(())
    });
    interrupt_ends_cancelled(&broker, "gem", &id, "session/cancel");
}

#[test]
fn real_claude_stream_json_takes_a_message_offline_and_says_why_the_turn_failed() {
    let Some((_, path)) = real_cli("claude", "npm install -g @anthropic-ai/claude-code") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let (broker, _, workdir) = offline_broker(tmp.path(), &path, &[]);
    spawn_headless(&broker, "claude", "cc", &workdir);
    let id = message_id(&broker.send("alice", "cc", "hello from courier, offline"));
    let reason = settled_unverified(&broker, &id, "turn_refused");
    eprintln!("claude offline: {reason}");
    never_verified(&broker, &id);
}

#[test]
fn real_codex_app_server_takes_a_message_offline_and_is_interrupted() {
    let Some((_, path)) = real_cli("codex", "npm install -g @openai/codex") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let (broker, home, workdir) = offline_broker(tmp.path(), &path, &[]);
    spawn_headless(&broker, "codex", "cx", &workdir);

    let id = message_id(&broker.send("alice", "cx", "hello from courier, offline"));
    // The CLI took it: its own session file (the rollout) holds the text.
    let sessions = home.join(".codex").join("sessions");
    wait_for_within(
        Duration::from_secs(60),
        "codex's session file to hold the message",
        || (!files_containing(&sessions, &id).is_empty()).then_some(()),
    );
    let d = broker.deliveries(&id);
    assert_eq!(d[0]["state"], json!("injected"), "{d:?}");

    interrupt_ends_cancelled(&broker, "cx", &id, "turn/interrupt");
}

#[test]
fn real_codex_with_its_tui_kept_shares_its_app_server_with_the_broker_offline() {
    let Some((codex, path)) = real_cli("codex", "npm install -g @openai/codex") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let (broker, home, workdir) = offline_broker(tmp.path(), &path, &[]);
    // The TUI stops at its sign-in screen without a login; any key will do
    // offline (nothing reaches the network).
    let mut login = std::process::Command::new(&codex)
        .args(["login", "--with-api-key"])
        .env("HOME", &home)
        .env("PATH", &path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("codex login");
    {
        use std::io::Write;
        let mut stdin = login.stdin.take().expect("stdin");
        stdin.write_all(b"sk-courier-offline-test\n").expect("key");
    }
    assert!(login.wait().expect("codex login").success(), "codex login");
    courier(
        &broker,
        &["spawn", "codex", "--name", "cx", "--cwd", &workdir],
    );
    let joined = wait_for_within(Duration::from_secs(60), "the broker to join", || {
        if broker.screen("cx").contains("Trust this folder") {
            broker.accept_trust_dialog("cx");
        }
        broker
            .events()
            .into_iter()
            .find(|e| e["type"] == "agent_channel" && e["name"] == "cx")
    });
    assert_eq!(joined["channel"], json!("native"), "{joined}");
    broker.wait_ready("cx");
    let id = message_id(&broker.send("alice", "cx", "hello from courier, served"));
    wait_for_within(Duration::from_secs(30), "the turn started", || {
        let d = broker.deliveries(&id);
        (d[0]["state"] == json!("injected") && d[0]["channel"] == json!("native")).then_some(())
    });
    wait_for_within(Duration::from_secs(30), "the message in the TUI", || {
        broker
            .screen("cx")
            .contains("hello from courier, served")
            .then_some(())
    });
    interrupt_ends_cancelled(&broker, "cx", &id, "turn/interrupt");
}
