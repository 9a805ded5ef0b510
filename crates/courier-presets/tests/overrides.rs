//! User override files, validation errors, resume errors and the missing-CLI error.

mod common;

use common::ctx;
use courier_presets::{McpInjection, PresetCatalog, PresetError, Resume, check_installed};

fn builtin() -> PresetCatalog {
    PresetCatalog::builtin().expect("built-in presets load")
}

#[test]
fn user_fields_win_per_field_and_env_merges_per_variable() {
    let user = r#"
        [presets.claude]
        args = ["--model", "opus"]
        [presets.claude.env]
        MY_VAR = "1"
    "#;
    let catalog = builtin().with_overrides(user, "user.toml").expect("merges");
    let claude = catalog.get("claude").expect("claude");
    assert_eq!(claude.args, ["--model", "opus"]);
    assert_eq!(claude.env.get("MY_VAR").map(String::as_str), Some("1"));
    assert_eq!(
        claude.env.get("DISABLE_AUTOUPDATER").map(String::as_str),
        Some("1"),
        "built-in env kept"
    );
    assert_eq!(
        claude.command, "claude",
        "fields not set keep the built-in value"
    );
    assert!(matches!(claude.mcp, McpInjection::FlagJson { .. }));
}

#[test]
fn replace_true_replaces_the_whole_preset() {
    let user = r#"
        [presets.claude]
        replace = true
        command = "/opt/claude-wrapper"
    "#;
    let catalog = builtin().with_overrides(user, "user.toml").expect("merges");
    let claude = catalog.get("claude").expect("claude");
    assert_eq!(claude.command, "/opt/claude-wrapper");
    assert!(claude.env.is_empty());
    assert_eq!(claude.mcp, McpInjection::None);
}

#[test]
fn a_new_user_preset_needs_a_command_and_can_use_a_project_file() {
    let user = r#"
        [presets.mycli]
        command = "mycli"
        args = ["--agent", "{agent_name}"]
        [presets.mycli.mcp]
        style = "project_file"
        path = "opencode.json"
        format = "json"
        key = "mcp"
        entry = "opencode"
    "#;
    let catalog = builtin().with_overrides(user, "user.toml").expect("merges");
    let plan = catalog
        .get("mycli")
        .expect("mycli")
        .launch(&ctx())
        .expect("plans");
    assert_eq!(plan.args, ["--agent", "alice"]);
    insta::assert_snapshot!(plan.files[0].content);

    let err = builtin()
        .with_overrides("[presets.other]\nargs = []\n", "user.toml")
        .expect_err("no command");
    assert!(err.to_string().contains("`other`"), "{err}");
    assert!(err.to_string().contains("command"), "{err}");
}

#[test]
fn load_reads_the_user_file_and_tolerates_a_missing_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("presets.toml");
    let missing = PresetCatalog::load(Some(&path)).expect("missing file is fine");
    assert_eq!(missing, builtin());
    std::fs::write(&path, "[presets.shell]\ncommand = \"zsh\"\n").expect("write");
    let loaded = PresetCatalog::load(Some(&path)).expect("loads");
    assert_eq!(loaded.get("shell").expect("shell").command, "zsh");
}

#[test]
fn bad_regex_names_preset_and_field() {
    let user = r#"
        [presets.codex]
        dialog_patterns = [{ pattern = "ok", reason = "fine" }, { pattern = "(unclosed", reason = "bad" }]
    "#;
    let err = builtin()
        .with_overrides(user, "user.toml")
        .expect_err("bad regex");
    match &err {
        PresetError::BadRegex {
            preset,
            field,
            pattern,
            ..
        } => {
            assert_eq!(preset, "codex");
            assert_eq!(field, "dialog_patterns[1].pattern");
            assert_eq!(pattern, "(unclosed");
        }
        other => panic!("expected BadRegex, got {other:?}"),
    }
    assert!(err.to_string().contains("preset `codex`"), "{err}");
}

#[test]
fn unknown_fields_and_escaping_paths_are_rejected() {
    let err = builtin()
        .with_overrides("[presets.claude]\ncomand = \"x\"\n", "user.toml")
        .expect_err("typo");
    assert!(err.to_string().contains("user.toml"), "{err}");
    assert!(err.to_string().contains("comand"), "{err}");

    let user = r#"
        [presets.gemini.mcp]
        style = "settings_file"
        path = "../outside.json"
        format = "json"
        key = "mcpServers"
        entry = "standard"
    "#;
    let err = builtin()
        .with_overrides(user, "user.toml")
        .expect_err("escapes");
    assert!(err.to_string().contains("mcp.path"), "{err}");
}

#[test]
fn unknown_preset_lists_known_ones() {
    let err = builtin().get("cursor").expect_err("unknown");
    assert!(err.to_string().contains("cursor"), "{err}");
    assert!(err.to_string().contains("claude, codex"), "{err}");
}

#[test]
fn resume_unsupported_is_an_error() {
    let mut c = ctx();
    c.resume = Some(Resume::Session("x".to_owned()));
    let err = builtin()
        .get("aider")
        .expect("aider")
        .launch(&c)
        .expect_err("no resume by id");
    assert!(
        matches!(err, PresetError::ResumeUnsupported { .. }),
        "{err}"
    );
    c.resume = Some(Resume::Last);
    let plan = builtin()
        .get("aider")
        .expect("aider")
        .launch(&c)
        .expect("last works");
    assert_eq!(plan.args[0], "--restore-chat-history");
}

#[test]
fn missing_cli_names_it_and_says_how_to_install() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = builtin()
        .get("claude")
        .expect("claude")
        .launch(&ctx())
        .expect("plans");
    let err = check_installed(&plan, Some(dir.path().as_os_str())).expect_err("not installed");
    match &err {
        PresetError::CliNotInstalled { cli, preset, hint } => {
            assert_eq!(cli, "claude");
            assert_eq!(preset, "claude");
            assert!(
                hint.contains("npm install -g @anthropic-ai/claude-code"),
                "{hint}"
            );
        }
        other => panic!("expected CliNotInstalled, got {other:?}"),
    }
    insta::assert_snapshot!(err.to_string());
}

#[cfg(unix)]
#[test]
fn an_executable_on_path_is_found() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("codex");
    std::fs::write(&exe, "#!/bin/sh\n").expect("write");
    let plan = builtin()
        .get("codex")
        .expect("codex")
        .launch(&ctx())
        .expect("plans");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(
        check_installed(&plan, Some(dir.path().as_os_str())).is_err(),
        "not executable"
    );
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let found = check_installed(&plan, Some(dir.path().as_os_str())).expect("found");
    assert_eq!(found, exe);
}

#[test]
fn interrupt_keys_and_context_low_patterns_are_checked_and_overridable() {
    let catalog = builtin();
    assert_eq!(
        catalog.get("claude").expect("claude").interrupt_keys,
        "\u{1b}"
    );
    assert_eq!(catalog.get("shell").expect("shell").interrupt_keys, "\u{3}");
    let user = r#"
        [presets.mine]
        command = "/bin/sh"
        context_low_patterns = ['context: \d+% left']
    "#;
    let catalog = builtin().with_overrides(user, "user.toml").expect("merges");
    let mine = catalog.get("mine").expect("mine");
    assert_eq!(
        mine.interrupt_keys, "\u{3}",
        "Ctrl-C unless the preset says"
    );
    let plan = mine.launch(&ctx()).expect("plans");
    assert_eq!(plan.context_low_patterns, [r"context: \d+% left"]);
    assert!(!plan.can_continue);

    let bad_regex = "[presets.claude]\ncontext_low_patterns = ['(']\n";
    let err = builtin()
        .with_overrides(bad_regex, "user.toml")
        .expect_err("bad regex");
    assert!(err.to_string().contains("context_low_patterns[0]"), "{err}");
    let bad_keys = "[presets.claude]\ninterrupt_keys = \"\"\n";
    let err = builtin()
        .with_overrides(bad_keys, "user.toml")
        .expect_err("empty keys");
    assert!(err.to_string().contains("interrupt_keys"), "{err}");
}
