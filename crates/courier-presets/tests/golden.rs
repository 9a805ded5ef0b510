//! Golden snapshots of the exact launch plan (program, args, sorted env, files) of every
//! built-in preset for a fixed context.

mod common;

use common::ctx;
use courier_presets::{LaunchPlan, PresetCatalog, Resume};

fn plan(name: &str) -> LaunchPlan {
    let catalog = PresetCatalog::builtin().expect("built-in presets load");
    catalog
        .get(name)
        .expect("preset exists")
        .launch(&ctx())
        .expect("launch plans")
}

#[test]
fn builtin_names() {
    let catalog = PresetCatalog::builtin().expect("built-in presets load");
    let names: Vec<_> = catalog.names().collect();
    assert_eq!(
        names,
        ["aider", "claude", "codex", "gemini", "opencode", "shell"]
    );
    for preset in catalog.iter() {
        assert!(!preset.source.is_empty(), "{} has a source", preset.name);
        assert!(
            !preset.cli_version.is_empty(),
            "{} has a version",
            preset.name
        );
    }
}

#[test]
fn claude() {
    insta::assert_json_snapshot!(plan("claude"));
}

#[test]
fn codex() {
    insta::assert_json_snapshot!(plan("codex"));
}

#[test]
fn gemini() {
    insta::assert_json_snapshot!(plan("gemini"));
}

#[test]
fn opencode() {
    insta::assert_json_snapshot!(plan("opencode"));
}

#[test]
fn aider() {
    insta::assert_json_snapshot!(plan("aider"));
}

#[test]
fn shell() {
    insta::assert_json_snapshot!(plan("shell"));
}

#[test]
fn gemini_settings_file_content() {
    let plan = plan("gemini");
    assert_eq!(plan.files.len(), 1);
    insta::assert_snapshot!(plan.files[0].content);
}

#[test]
fn codex_resume_goes_first_and_extra_args_before_mcp() {
    let catalog = PresetCatalog::builtin().expect("built-in presets load");
    let mut c = ctx();
    c.resume = Some(Resume::Session("0199-abc".to_owned()));
    c.extra_args = vec!["--model".to_owned(), "o3".to_owned()];
    let plan = catalog
        .get("codex")
        .expect("codex")
        .launch(&c)
        .expect("plans");
    insta::assert_json_snapshot!(plan.args);
}

#[test]
fn claude_resume_last() {
    let catalog = PresetCatalog::builtin().expect("built-in presets load");
    let mut c = ctx();
    c.resume = Some(Resume::Last);
    let plan = catalog
        .get("claude")
        .expect("claude")
        .launch(&c)
        .expect("plans");
    assert_eq!(plan.args[0], "--continue");
    assert_eq!(plan.args[1], "--mcp-config");
}

#[test]
fn claude_mcp_json_is_valid_and_names_courier_mcp() {
    let plan = plan("claude");
    let json: serde_json::Value = serde_json::from_str(&plan.args[1]).expect("valid JSON");
    let server = &json["mcpServers"]["courier"];
    assert_eq!(server["command"], "/usr/local/bin/courier");
    assert_eq!(server["args"], serde_json::json!(["mcp"]));
    assert_eq!(server["env"]["COURIER_AGENT"], "alice");
}

#[test]
fn codex_overrides_parse_as_toml() {
    let plan = plan("codex");
    for pair in plan.args.chunks(2).filter(|p| p[0] == "-c") {
        let doc = format!("{}\n", pair[1]);
        let parsed: Result<toml::Table, _> = toml::from_str(&doc);
        assert!(parsed.is_ok(), "`{}` is TOML: {parsed:?}", pair[1]);
    }
}

/// The exact `.claude/settings.json` hooks entry, in the shape Claude Code documents
/// (https://docs.anthropic.com/en/docs/claude-code/hooks).
#[test]
fn claude_hook_settings_file_content() {
    let plan = plan("claude");
    let file = plan
        .files
        .iter()
        .find(|f| f.path == std::path::Path::new(".claude/settings.json"))
        .expect("claude plans its hook settings");
    insta::assert_snapshot!(file.content);
    let existing = r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "mine"}]}]}, "model": "x"}"#;
    let merged: serde_json::Value =
        serde_json::from_str(&file.merged_with(existing).unwrap()).unwrap();
    assert_eq!(merged["model"], "x", "a person's settings survive");
    assert_eq!(merged["hooks"]["Stop"][0]["hooks"][0]["command"], "mine");
    assert_eq!(
        merged["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"],
        "/usr/local/bin/courier hook UserPromptSubmit"
    );
    // A person's own hook at the same event is kept, and spawning again adds ours once.
    let theirs =
        r#"{"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "mine"}]}]}}"#;
    let once = file.merged_with(theirs).unwrap();
    let twice: serde_json::Value = serde_json::from_str(&file.merged_with(&once).unwrap()).unwrap();
    let entries = twice["hooks"]["UserPromptSubmit"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{twice}");
    assert_eq!(entries[0]["hooks"][0]["command"], "mine");
    assert_eq!(
        entries[1]["hooks"][0]["command"],
        "/usr/local/bin/courier hook UserPromptSubmit"
    );
}

#[test]
fn headless_modes_name_their_protocol() {
    use courier_core::NativeProtocol;
    let catalog = PresetCatalog::builtin().expect("built-in presets load");
    let gemini = catalog.get("gemini").expect("gemini");
    assert_eq!(gemini.headless_args, ["--acp"]);
    assert_eq!(gemini.headless_protocol, NativeProtocol::Acp);
    let claude = catalog.get("claude").expect("claude");
    assert_eq!(claude.headless_protocol, NativeProtocol::ClaudeStreamJson);
    // Without the replay a stream-json input has no acknowledgement: the
    // preset asks for it so its deliveries can be proven.
    for arg in [
        "-p",
        "--input-format",
        "--output-format",
        "--verbose",
        "--replay-user-messages",
    ] {
        assert!(
            claude.headless_args.iter().any(|a| a == arg),
            "{arg}: {:?}",
            claude.headless_args
        );
    }
}
