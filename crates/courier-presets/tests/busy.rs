//! Busy and idle patterns: every agent CLI's working status line, as its
//! release draws it (PRESETS.md names the release and the source string),
//! is busy; its idle screen and prose that quotes the words are not; user
//! files override them per field and bad regexes are named.

mod common;

use common::ctx;
use courier_presets::PresetCatalog;
use regex::Regex;

fn builtin() -> PresetCatalog {
    PresetCatalog::builtin().expect("built-in presets load")
}

/// Whether any of `patterns` matches `row` (the terminal matches them row
/// by row on the rendered screen).
fn busy_row(patterns: &[String], row: &str) -> bool {
    patterns
        .iter()
        .any(|p| Regex::new(p).expect("compiles").is_match(row))
}

/// (preset, rows its release draws while working, rows that are not work).
const CASES: &[(&str, &[&str], &[&str])] = &[
    (
        "claude",
        &[
            "  esc to interrupt",
            "  ⏵⏵ accept edits on (shift+tab to cycle) · esc to interrupt",
        ],
        &[
            "  ? for shortcuts",
            "> you can press esc to interrupt a turn",
        ],
    ),
    (
        "codex",
        &[
            "• Working (5s • esc to interrupt)",
            "• Reconnecting... 2/5 (1m 05s • Esc to interrupt)",
        ],
        &["› Ask Codex to do anything", "  100% context left"],
    ),
    (
        "gemini",
        &[
            "⠋ Thinking... (esc to cancel, 12s)",
            "⠙ Reading files (esc to cancel, 1m 5s)",
        ],
        &["> Type your message or @path/to/file", "esc to cancel"],
    ),
    (
        "opencode",
        &["  ⬝⬝⬝■■  esc interrupt", "  ⬝⬝■■⬝  esc again to interrupt"],
        &["┃  Build  Claude Sonnet", "  ctrl+p commands"],
    ),
    (
        "aider",
        &[
            "░█        Waiting for anthropic/claude-sonnet-4",
            "Retrying in 0.5 seconds...",
        ],
        &["> ", "Tokens: 2.1k sent, 312 received."],
    ),
];

#[test]
fn every_cli_preset_sees_its_release_working_and_not_its_idle_screen() {
    let catalog = builtin();
    for (name, working, not_working) in CASES {
        let preset = catalog.get(name).expect("preset");
        assert!(!preset.busy_patterns.is_empty(), "{name} has busy patterns");
        for row in *working {
            assert!(busy_row(&preset.busy_patterns, row), "{name}: {row:?}");
        }
        for row in *not_working {
            assert!(!busy_row(&preset.busy_patterns, row), "{name}: {row:?}");
        }
    }
    let shell = catalog.get("shell").expect("shell");
    assert!(shell.busy_patterns.is_empty() && shell.idle_patterns.is_empty());
}

#[test]
fn aider_ends_a_turn_at_its_prompt() {
    let aider = builtin().get("aider").expect("aider").clone();
    let idle = |row: &str| {
        aider
            .idle_patterns
            .iter()
            .any(|p| Regex::new(p).expect("compiles").is_match(row))
    };
    assert!(idle("> "));
    assert!(idle("multi> "));
    assert!(idle("architect> "));
    assert!(idle("architect multi> "));
    assert!(!idle("Retrying in 0.5 seconds..."));
    assert!(!idle("> some draft"));
}

#[test]
fn the_plan_carries_the_patterns() {
    let plan = builtin()
        .get("aider")
        .expect("aider")
        .launch(&ctx())
        .expect("plans");
    assert_eq!(plan.busy_patterns.len(), 2);
    assert_eq!(plan.idle_patterns.len(), 1);
}

#[test]
fn busy_and_idle_patterns_are_overridable_and_checked() {
    let user = r#"
        [presets.claude]
        busy_patterns = ['✻ Working']
        [presets.mine]
        command = "/bin/sh"
        busy_patterns = ['building…']
        idle_patterns = ['^\$ $']
    "#;
    let catalog = builtin().with_overrides(user, "user.toml").expect("merges");
    let claude = catalog.get("claude").expect("claude");
    assert_eq!(claude.busy_patterns, ["✻ Working"], "replaced whole");
    assert!(!claude.context_low_patterns.is_empty(), "other fields kept");
    let plan = catalog
        .get("mine")
        .expect("mine")
        .launch(&ctx())
        .expect("plans");
    assert_eq!(plan.busy_patterns, ["building…"]);
    assert_eq!(plan.idle_patterns, [r"^\$ $"]);
    // A preset that does not name them has none.
    let plan = builtin()
        .with_overrides("[presets.bare]\ncommand = \"/bin/sh\"\n", "user.toml")
        .expect("merges")
        .get("bare")
        .expect("bare")
        .launch(&ctx())
        .expect("plans");
    assert!(plan.busy_patterns.is_empty() && plan.idle_patterns.is_empty());

    for field in ["busy_patterns", "idle_patterns"] {
        let bad = format!("[presets.codex]\n{field} = ['ok', '(']\n");
        let err = builtin()
            .with_overrides(&bad, "user.toml")
            .expect_err("bad regex");
        assert!(err.to_string().contains(&format!("{field}[1]")), "{err}");
    }
}
