//! End-to-end tests of presets through the daemon: an agent started from a
//! preset gets its identity, talks back with `courier send` from its own
//! shell, and a preset whose CLI is missing is refused with its name.

mod common;

use common::{Broker, wait_for};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}
use serde_json::{Value, json};

/// A user preset file shared by this file's tests. The environment is per
/// process and the tests run in parallel, so the file is written once, to a
/// directory that outlives every test (a test's own temp dir would vanish
/// under a broker of another test that read the same variable).
fn user_presets() {
    static ONCE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    ONCE.get_or_init(write_user_presets);
}

fn write_user_presets() {
    let path = tempdir().keep().join("presets.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[presets.ghost]
description = "A CLI that is not installed"
command = "definitely-not-installed-courier-cli"
args = []
install_hint = "there is nothing to install; this is a test"
source = "test"
cli_version = "0"
prompt_patterns = []
collapsed_paste_patterns = []
dialog_patterns = []

[presets.ghost.mcp]
style = "none"

[presets.trusting]
description = "The fake agent behind a trust dialog the preset may answer"
command = "{exe}"
args = ["fake-agent", "--trust-dialog"]
install_hint = "built with courier"
source = "test"
cli_version = "0"
prompt_patterns = []
collapsed_paste_patterns = []
dialog_patterns = [
  {{ pattern = 'Do you trust the files in this folder\?', reason = "workspace trust", answer = "\r" }},
]

[presets.trusting.mcp]
style = "none"
"#,
            exe = env!("CARGO_BIN_EXE_courier"),
        ),
    )
    .expect("write presets");
    // SAFETY: set once, under the OnceLock, before any broker of this test
    // binary starts; every test here wants the same value.
    unsafe { std::env::set_var("COURIER_PRESETS", &path) };
}

#[test]
fn a_shell_preset_agent_sends_as_itself_from_its_own_shell() {
    let tmp = tempdir();
    user_presets();
    let broker = Broker::start(tmp.path(), &[]);
    for name in ["sh1", "sh2"] {
        // The shell preset types each line of a message as a comment; this
        // test needs the body run as a command line, so it opts out.
        let (status, body) = broker.post(
            "/v1/agents",
            &json!({"name": name, "preset": "shell", "inert_prefix": ""}),
        );
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["preset"], "shell");
        broker.wait_ready(name);
    }
    // A message to a shell is not a command (it arrives as a comment); the
    // owner types the command line as raw input instead: sh1's shell runs it
    // with sh1's own COURIER_URL / COURIER_TOKEN, so the reply is from sh1
    // without flags.
    let exe = env!("CARGO_BIN_EXE_courier");
    let command = format!("{exe} send sh2 'reply from sh1 shell'\r");
    let (status, body) = broker.post("/v1/agents/sh1/input", &json!({"text": command}));
    assert_eq!(status, 204, "{body}");
    let accepted: Value = wait_for("sh1's own message to be accepted", || {
        broker
            .events()
            .into_iter()
            .find(|e| e["type"] == "message_accepted" && e["from"] == "sh1")
    });
    assert_eq!(accepted["to"], "sh2");
    let id = accepted["message_id"].as_str().expect("id").to_string();
    broker.wait_verified(&id);
    wait_for("the reply on sh2's screen", || {
        broker
            .screen("sh2")
            .contains("reply from sh1 shell")
            .then_some(())
    });
    broker.stop_and_check();
}

#[test]
fn a_preset_whose_cli_is_missing_is_refused_naming_it() {
    let tmp = tempdir();
    user_presets();
    let broker = Broker::start(tmp.path(), &[]);
    let (status, body) = broker.post("/v1/agents", &json!({"name": "g", "preset": "ghost"}));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "cli_not_installed");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("definitely-not-installed-courier-cli"),
        "{message}"
    );
    // Not persisted: nothing to respawn, no agent listed.
    assert!(broker.agents().is_empty());
    let (status, body) = broker.post(
        "/v1/agents",
        &json!({"name": "u", "preset": "no-such-preset"}),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no-such-preset"),
        "{body}"
    );
    let (status, _) = broker.post(
        "/v1/agents",
        &json!({"name": "both", "preset": "shell", "command": ["bash"]}),
    );
    assert_eq!(status, 400);
    broker.stop_and_check();
}

#[test]
fn a_preset_answers_its_own_trust_dialog_so_spawning_needs_nothing_more() {
    let tmp = tempdir();
    user_presets();
    let broker = Broker::start(tmp.path(), &[]);
    let (status, body) = broker.post("/v1/agents", &json!({"name": "t", "preset": "trusting"}));
    assert_eq!(status, 201, "{body}");
    // No one touches the dialog: the broker answers it with the preset's
    // safe default, then the agent is ready and the message is typed.
    broker.wait_ready("t");
    let sent = broker.send("human", "t", "after the dialog");
    broker.wait_verified(sent["message_id"].as_str().expect("id"));
    broker.stop_and_check();
}
