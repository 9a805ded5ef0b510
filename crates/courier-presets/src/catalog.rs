//! The set of presets: the built-in file, optionally overridden by a user file, validated.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::PresetError;
use crate::patch::PresetFile;
use crate::patterns::compile_patterns;
use crate::preset::{McpInjection, Preset};

/// The built-in preset file, embedded at build time.
pub const BUILTIN_PRESETS: &str = include_str!("presets.toml");
const BUILTIN_NAME: &str = "built-in presets.toml";

/// All known presets by name.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetCatalog {
    presets: BTreeMap<String, Preset>,
}

impl PresetCatalog {
    /// The built-in presets only.
    pub fn builtin() -> Result<Self, PresetError> {
        let file = PresetFile::parse(BUILTIN_PRESETS, BUILTIN_NAME)?;
        let presets = file
            .presets
            .into_iter()
            .map(|(name, patch)| patch.into_builtin(&name).map(|p| (name, p)))
            .collect::<Result<_, _>>()?;
        let catalog = Self { presets };
        catalog.validate()?;
        Ok(catalog)
    }

    /// The built-in presets overridden by the user file at `path`, if given and present.
    /// A missing file is not an error (the default location usually has none); an unreadable
    /// or invalid one is.
    pub fn load(user_file: Option<&Path>) -> Result<Self, PresetError> {
        let catalog = Self::builtin()?;
        let Some(path) = user_file else {
            return Ok(catalog);
        };
        match std::fs::read_to_string(path) {
            Ok(text) => catalog.with_overrides(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(catalog),
            Err(source) => Err(PresetError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Applies a user preset file's text (`source_name` names it in errors) over this catalog.
    pub fn with_overrides(mut self, text: &str, source_name: &str) -> Result<Self, PresetError> {
        let file = PresetFile::parse(text, source_name)?;
        for (name, patch) in file.presets {
            let preset = match self.presets.remove(&name) {
                Some(base) => patch.apply_to(base, source_name)?,
                None => patch.into_new(&name, source_name)?,
            };
            self.presets.insert(name, preset);
        }
        self.validate()?;
        Ok(self)
    }

    /// The preset called `name`.
    pub fn get(&self, name: &str) -> Result<&Preset, PresetError> {
        self.presets
            .get(name)
            .ok_or_else(|| PresetError::UnknownPreset {
                name: name.to_owned(),
                known: self.names().collect::<Vec<_>>().join(", "),
            })
    }

    /// Preset names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.presets.keys().map(String::as_str)
    }

    /// Presets, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Preset> {
        self.presets.values()
    }

    fn validate(&self) -> Result<(), PresetError> {
        self.presets.values().try_for_each(validate_preset)
    }
}

fn invalid(preset: &Preset, field: &str, message: &str) -> PresetError {
    PresetError::Invalid {
        preset: preset.name.clone(),
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

fn validate_relative(preset: &Preset, path: &str) -> Result<(), PresetError> {
    let p = Path::new(path);
    let escapes = p
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)));
    if path.is_empty() || escapes {
        return Err(invalid(
            preset,
            "mcp.path",
            "must be a relative path inside the workdir (no `/` prefix, no `..`)",
        ));
    }
    Ok(())
}

/// Checks what a preset must satisfy to be launched: a name of `[a-z0-9_-]`, a command,
/// compiling patterns, and an MCP injection with its fields filled.
fn validate_preset(preset: &Preset) -> Result<(), PresetError> {
    let name_ok = !preset.name.is_empty()
        && preset
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !name_ok {
        return Err(invalid(
            preset,
            "name",
            "use lowercase letters, digits, `-` and `_`",
        ));
    }
    if preset.command.trim().is_empty() {
        return Err(invalid(preset, "command", "must not be empty"));
    }
    compile_patterns(preset)?;
    if let Some(framing) = &preset.framing {
        crate::FramingChoice::parse(framing)
            .map_err(|message| invalid(preset, "framing", &message))?;
    }
    crate::preset::check_interrupt_keys(&preset.interrupt_keys)
        .map_err(|message| invalid(preset, "interrupt_keys", &message))?;
    for (field, patterns) in [
        ("context_low_patterns", &preset.context_low_patterns),
        ("busy_patterns", &preset.busy_patterns),
        ("idle_patterns", &preset.idle_patterns),
    ] {
        for (i, pattern) in patterns.iter().enumerate() {
            regex::Regex::new(pattern).map_err(|e| PresetError::BadRegex {
                preset: preset.name.clone(),
                field: format!("{field}[{i}]"),
                pattern: pattern.clone(),
                message: e.to_string(),
            })?;
        }
    }
    let empty = |field: &str| invalid(preset, field, "must not be empty");
    match &preset.mcp {
        McpInjection::None => Ok(()),
        McpInjection::FlagJson { flag } => (!flag.is_empty())
            .then_some(())
            .ok_or_else(|| empty("mcp.flag")),
        McpInjection::ConfigOverrides { flag, table } => {
            if flag.is_empty() {
                return Err(empty("mcp.flag"));
            }
            (!table.is_empty())
                .then_some(())
                .ok_or_else(|| empty("mcp.table"))
        }
        McpInjection::SettingsFile { path, key, .. }
        | McpInjection::ProjectFile { path, key, .. } => {
            validate_relative(preset, path)?;
            (!key.is_empty())
                .then_some(())
                .ok_or_else(|| empty("mcp.key"))
        }
        McpInjection::EnvJson { var, key, .. } => {
            if var.is_empty() {
                return Err(empty("mcp.var"));
            }
            (!key.is_empty())
                .then_some(())
                .ok_or_else(|| empty("mcp.key"))
        }
    }
}
