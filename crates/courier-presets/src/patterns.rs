//! Compiling and validating a preset's screen patterns.

use regex::Regex;

use crate::error::PresetError;
use crate::preset::{DialogPattern, Preset};

/// A preset's patterns, compiled, for the terminal layer.
#[derive(Debug, Clone)]
pub struct ScreenPatterns {
    /// Any match means the input prompt is on screen.
    pub prompt: Vec<Regex>,
    /// Any match means a dialog is on screen and the agent is not ready.
    pub dialogs: Vec<(Regex, DialogPattern)>,
    /// Any match counts as the echo of a long paste.
    pub collapsed_paste: Vec<Regex>,
}

impl ScreenPatterns {
    /// The first known dialog on `screen`, if any.
    pub fn dialog_on<'a>(&'a self, screen: &str) -> Option<&'a DialogPattern> {
        self.dialogs
            .iter()
            .find(|(re, _)| re.is_match(screen))
            .map(|(_, d)| d)
    }

    /// Whether a prompt pattern matches `screen`.
    pub fn prompt_on(&self, screen: &str) -> bool {
        self.prompt.iter().any(|re| re.is_match(screen))
    }

    /// Whether a collapsed-paste placeholder is on `screen`.
    pub fn collapsed_paste_on(&self, screen: &str) -> bool {
        self.collapsed_paste.iter().any(|re| re.is_match(screen))
    }
}

fn compile(preset: &str, field: String, pattern: &str) -> Result<Regex, PresetError> {
    Regex::new(pattern).map_err(|e| PresetError::BadRegex {
        preset: preset.to_owned(),
        field,
        pattern: pattern.to_owned(),
        message: e.to_string(),
    })
}

/// Compiles every pattern of `preset`; the error names the preset, the field and the pattern.
pub fn compile_patterns(preset: &Preset) -> Result<ScreenPatterns, PresetError> {
    // Checked with the patterns: both are what a preset file gets wrong.
    preset
        .submit
        .check()
        .map_err(|message| PresetError::Invalid {
            preset: preset.name.clone(),
            field: "submit".to_owned(),
            message,
        })?;
    compile_parts(
        &preset.name,
        &preset.prompt_patterns,
        &preset.dialog_patterns,
        &preset.collapsed_paste_patterns,
    )
}

pub(crate) fn compile_parts(
    name: &str,
    prompt: &[String],
    dialogs: &[DialogPattern],
    collapsed: &[String],
) -> Result<ScreenPatterns, PresetError> {
    let prompt = prompt
        .iter()
        .enumerate()
        .map(|(i, p)| compile(name, format!("prompt_patterns[{i}]"), p))
        .collect::<Result<_, _>>()?;
    let dialogs = dialogs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            compile(name, format!("dialog_patterns[{i}].pattern"), &d.pattern)
                .map(|re| (re, d.clone()))
        })
        .collect::<Result<_, _>>()?;
    let collapsed_paste = collapsed
        .iter()
        .enumerate()
        .map(|(i, p)| compile(name, format!("collapsed_paste_patterns[{i}]"), p))
        .collect::<Result<_, _>>()?;
    Ok(ScreenPatterns {
        prompt,
        dialogs,
        collapsed_paste,
    })
}
