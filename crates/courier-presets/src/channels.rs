//! Which delivery channels a preset's installed CLI supports, from the
//! preset and from what the CLI says of itself (`courier doctor`). Pure:
//! the caller runs the CLI and hands its `--help` text in.
//!
//! - `keystrokes`: every preset (its CLI runs in a PTY).
//! - `hooks`: a preset that wires its CLI's lifecycle hook.
//! - `native`: a preset with a headless mode, when the installed CLI still
//!   offers it: a subcommand (`codex app-server`) answers its own `--help`;
//!   flags (`gemini --acp`, `claude --input-format …`) are each named in
//!   the CLI's `--help`.

use serde::Serialize;

use crate::Preset;

/// What to ask the CLI to learn whether its headless mode exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeQuestion {
    /// The arguments to run the CLI with (ending in `--help`).
    pub args: Vec<String>,
    /// The flags its answer must name.
    pub flags: Vec<String>,
}

/// One channel and whether this CLI supports it, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelSupport {
    pub channel: &'static str,
    pub supported: bool,
    pub why: String,
}

/// The question for `preset`'s headless mode; `None` when it has none.
pub fn native_question(preset: &Preset) -> Option<NativeQuestion> {
    let first = preset.headless_args.first()?;
    if !first.starts_with('-') {
        return Some(NativeQuestion {
            args: vec![first.clone(), "--help".into()],
            flags: Vec::new(),
        });
    }
    let flags = preset
        .headless_args
        .iter()
        .filter(|a| a.starts_with("--"))
        .map(|a| a.split('=').next().unwrap_or(a).to_string())
        .collect();
    Some(NativeQuestion {
        args: vec!["--help".into()],
        flags,
    })
}

/// Every channel of `preset`, given the CLI's answer to its native
/// question (`None`: it gave none, or failed).
pub fn channel_support(preset: &Preset, answer: Option<&str>) -> Vec<ChannelSupport> {
    let mut out = vec![ChannelSupport {
        channel: "keystrokes",
        supported: true,
        why: "typed into its terminal".into(),
    }];
    out.push(match &preset.hooks {
        Some(hooks) => ChannelSupport {
            channel: "hooks",
            supported: true,
            why: format!("{} in {}", hooks.events.join(", "), hooks.path),
        },
        None => ChannelSupport {
            channel: "hooks",
            supported: false,
            why: "the preset wires no hook".into(),
        },
    });
    out.push(native_support(preset, answer));
    out
}

fn native_support(preset: &Preset, answer: Option<&str>) -> ChannelSupport {
    let protocol = preset.headless_protocol.as_str();
    let unsupported = |why: String| ChannelSupport {
        channel: "native",
        supported: false,
        why,
    };
    let Some(question) = native_question(preset) else {
        return unsupported("the preset has no headless mode".into());
    };
    let asked = format!("`{} {}`", preset.command, question.args.join(" "));
    let Some(answer) = answer else {
        return unsupported(format!("{asked} failed: this CLI has no such mode"));
    };
    let missing: Vec<&str> = question
        .flags
        .iter()
        .filter(|f| !names_flag(answer, f))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return unsupported(format!("{asked} does not list {}", missing.join(", ")));
    }
    ChannelSupport {
        channel: "native",
        supported: true,
        why: format!(
            "{protocol} via `{} {}` ({asked} answered)",
            preset.command,
            preset.headless_args.join(" ")
        ),
    }
}

/// Whether `help` names `flag` as a whole word (`--acp`, not `--acpx`).
fn names_flag(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        let next = help[i + flag.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PresetCatalog;

    fn preset(name: &str) -> Preset {
        let catalog = PresetCatalog::load(None).expect("built-in presets");
        catalog.get(name).expect("preset").clone()
    }

    fn native(preset: &Preset, answer: Option<&str>) -> ChannelSupport {
        channel_support(preset, answer)
            .pop()
            .expect("native is last")
    }

    #[test]
    fn a_subcommand_is_asked_for_its_own_help() {
        let codex = preset("codex");
        let q = native_question(&codex).expect("codex has a headless mode");
        assert_eq!(q.args, ["app-server", "--help"]);
        assert!(q.flags.is_empty());
        assert!(native(&codex, Some("Run the app server")).supported);
        let gone = native(&codex, None);
        assert!(
            !gone.supported && gone.why.contains("app-server --help"),
            "{gone:?}"
        );
    }

    #[test]
    fn flags_must_each_be_named_in_the_help() {
        let gemini = preset("gemini");
        let q = native_question(&gemini).expect("gemini has a headless mode");
        assert_eq!(q.flags, ["--acp"]);
        assert!(native(&gemini, Some("  --acp  Starts the agent in ACP mode")).supported);
        let old = native(&gemini, Some("  --acpx  something else"));
        assert!(!old.supported && old.why.contains("--acp"), "{old:?}");
        let claude = preset("claude");
        let q = native_question(&claude).expect("claude has a headless mode");
        assert!(
            q.flags.contains(&"--replay-user-messages".to_string()),
            "{q:?}"
        );
    }

    #[test]
    fn hooks_and_keystrokes_come_from_the_preset() {
        let claude = channel_support(&preset("claude"), Some(""));
        assert!(claude[0].supported && claude[1].supported, "{claude:?}");
        let shell = channel_support(&preset("shell"), None);
        assert!(!shell[1].supported && !shell[2].supported, "{shell:?}");
        assert!(shell[2].why.contains("no headless mode"), "{shell:?}");
    }
}
