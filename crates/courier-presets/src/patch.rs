//! The on-disk form of a preset file and how a user's entry merges over a built-in preset.
//!
//! Merge rule (documented in `PRESETS.md`): **per field**. A field the user file sets replaces
//! the built-in value whole (lists included), except `env`, which merges per variable with the
//! user's value winning. `replace = true` replaces the whole built-in preset instead. A name that
//! is not built in defines a new preset, which must at least give `command`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::PresetError;
use courier_core::{ChannelPolicy, NativeProtocol};

use crate::preset::{
    DialogPattern, HookSettings, McpInjection, Preset, ResumeTemplate, ServedSettings,
    SubmitSettings,
};

/// A whole preset file: `[presets.NAME]` tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PresetFile {
    #[serde(default)]
    pub(crate) presets: BTreeMap<String, PresetPatch>,
}

/// One `[presets.NAME]` table: every field optional, so it can patch a built-in preset.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PresetPatch {
    #[serde(default)]
    replace: bool,
    description: Option<String>,
    command: Option<String>,
    args: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    prompt_patterns: Option<Vec<String>>,
    dialog_patterns: Option<Vec<DialogPattern>>,
    collapsed_paste_patterns: Option<Vec<String>>,
    mcp: Option<McpInjection>,
    resume: Option<ResumeTemplate>,
    install_hint: Option<String>,
    source: Option<String>,
    cli_version: Option<String>,
    delivery: Option<ChannelPolicy>,
    headless_args: Option<Vec<String>>,
    headless_protocol: Option<NativeProtocol>,
    served: Option<ServedSettings>,
    hooks: Option<HookSettings>,
    submit: Option<SubmitSettings>,
    inert_prefix: Option<String>,
    framing: Option<String>,
    interrupt_keys: Option<String>,
    context_low_patterns: Option<Vec<String>>,
    busy_patterns: Option<Vec<String>>,
    idle_patterns: Option<Vec<String>>,
}

impl PresetFile {
    /// Parses a preset file's text; `source_name` names it in errors.
    pub(crate) fn parse(text: &str, source_name: &str) -> Result<Self, PresetError> {
        toml::from_str(text).map_err(|e| PresetError::Parse {
            source_name: source_name.to_owned(),
            message: e.to_string(),
        })
    }
}

impl PresetPatch {
    /// Builds a complete preset from a built-in entry, which must set every field.
    pub(crate) fn into_builtin(self, name: &str) -> Result<Preset, PresetError> {
        let missing = |field: &str| PresetError::Invalid {
            preset: name.to_owned(),
            field: field.to_owned(),
            message: "a built-in preset must set this field".to_owned(),
        };
        Ok(Preset {
            name: name.to_owned(),
            description: self.description.ok_or_else(|| missing("description"))?,
            command: self.command.ok_or_else(|| missing("command"))?,
            args: self.args.unwrap_or_default(),
            env: self.env.unwrap_or_default(),
            prompt_patterns: self.prompt_patterns.unwrap_or_default(),
            dialog_patterns: self.dialog_patterns.unwrap_or_default(),
            collapsed_paste_patterns: self.collapsed_paste_patterns.unwrap_or_default(),
            mcp: self.mcp.ok_or_else(|| missing("mcp"))?,
            resume: self.resume,
            install_hint: self.install_hint.ok_or_else(|| missing("install_hint"))?,
            source: self.source.ok_or_else(|| missing("source"))?,
            cli_version: self.cli_version.ok_or_else(|| missing("cli_version"))?,
            delivery: self.delivery.unwrap_or_default(),
            headless_args: self.headless_args.unwrap_or_default(),
            headless_protocol: self.headless_protocol.unwrap_or_default(),
            served: self.served,
            hooks: self.hooks,
            submit: self.submit.unwrap_or_default(),
            inert_prefix: self.inert_prefix,
            framing: self.framing,
            interrupt_keys: self
                .interrupt_keys
                .unwrap_or_else(crate::preset::default_interrupt_keys),
            context_low_patterns: self.context_low_patterns.unwrap_or_default(),
            busy_patterns: self.busy_patterns.unwrap_or_default(),
            idle_patterns: self.idle_patterns.unwrap_or_default(),
        })
    }

    /// Builds a new preset that only the user file defines; `command` is required, the rest
    /// defaults to empty, no MCP, no resume.
    pub(crate) fn into_new(self, name: &str, source_name: &str) -> Result<Preset, PresetError> {
        let command = self.command.ok_or_else(|| PresetError::Invalid {
            preset: name.to_owned(),
            field: "command".to_owned(),
            message: format!(
                "`{name}` is not a built-in preset, so {source_name} must set `command`"
            ),
        })?;
        Ok(Preset {
            name: name.to_owned(),
            description: self
                .description
                .unwrap_or_else(|| format!("user preset `{name}`")),
            install_hint: self.install_hint.unwrap_or_else(|| {
                format!("install `{command}` or fix `command` in {source_name}")
            }),
            command,
            args: self.args.unwrap_or_default(),
            env: self.env.unwrap_or_default(),
            prompt_patterns: self.prompt_patterns.unwrap_or_default(),
            dialog_patterns: self.dialog_patterns.unwrap_or_default(),
            collapsed_paste_patterns: self.collapsed_paste_patterns.unwrap_or_default(),
            mcp: self.mcp.unwrap_or(McpInjection::None),
            resume: self.resume,
            source: self.source.unwrap_or_else(|| source_name.to_owned()),
            cli_version: self.cli_version.unwrap_or_else(|| "unspecified".to_owned()),
            delivery: self.delivery.unwrap_or_default(),
            headless_args: self.headless_args.unwrap_or_default(),
            headless_protocol: self.headless_protocol.unwrap_or_default(),
            served: self.served,
            hooks: self.hooks,
            submit: self.submit.unwrap_or_default(),
            inert_prefix: self.inert_prefix,
            framing: self.framing,
            interrupt_keys: self
                .interrupt_keys
                .unwrap_or_else(crate::preset::default_interrupt_keys),
            context_low_patterns: self.context_low_patterns.unwrap_or_default(),
            busy_patterns: self.busy_patterns.unwrap_or_default(),
            idle_patterns: self.idle_patterns.unwrap_or_default(),
        })
    }

    /// Applies this user entry over `base` (see the module docs for the rule).
    pub(crate) fn apply_to(self, base: Preset, source_name: &str) -> Result<Preset, PresetError> {
        if self.replace {
            let name = base.name.clone();
            return self.into_new(&name, source_name);
        }
        let mut env = base.env;
        env.extend(self.env.unwrap_or_default());
        Ok(Preset {
            name: base.name,
            description: self.description.unwrap_or(base.description),
            command: self.command.unwrap_or(base.command),
            args: self.args.unwrap_or(base.args),
            env,
            prompt_patterns: self.prompt_patterns.unwrap_or(base.prompt_patterns),
            dialog_patterns: self.dialog_patterns.unwrap_or(base.dialog_patterns),
            collapsed_paste_patterns: self
                .collapsed_paste_patterns
                .unwrap_or(base.collapsed_paste_patterns),
            mcp: self.mcp.unwrap_or(base.mcp),
            resume: self.resume.or(base.resume),
            install_hint: self.install_hint.unwrap_or(base.install_hint),
            source: self.source.unwrap_or(base.source),
            cli_version: self.cli_version.unwrap_or(base.cli_version),
            delivery: self.delivery.unwrap_or(base.delivery),
            headless_args: self.headless_args.unwrap_or(base.headless_args),
            headless_protocol: self.headless_protocol.unwrap_or(base.headless_protocol),
            served: self.served.or(base.served),
            hooks: self.hooks.or(base.hooks),
            submit: self.submit.unwrap_or(base.submit),
            inert_prefix: self.inert_prefix.or(base.inert_prefix),
            framing: self.framing.or(base.framing),
            interrupt_keys: self.interrupt_keys.unwrap_or(base.interrupt_keys),
            context_low_patterns: self
                .context_low_patterns
                .unwrap_or(base.context_low_patterns),
            busy_patterns: self.busy_patterns.unwrap_or(base.busy_patterns),
            idle_patterns: self.idle_patterns.unwrap_or(base.idle_patterns),
        })
    }
}
