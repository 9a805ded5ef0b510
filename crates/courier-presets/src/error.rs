//! Errors of this crate: each names the preset, the field or file, and the input that failed.

use std::path::PathBuf;

/// Everything that can go wrong loading a preset file or planning a launch.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// A preset file (built-in or the user's) is not valid TOML or does not fit the schema.
    #[error("cannot parse preset file {source_name}: {message}")]
    Parse {
        /// `built-in presets.toml` or the user file's path.
        source_name: String,
        /// The parser's message (line and column included).
        message: String,
    },

    /// The user override file could not be read.
    #[error("cannot read preset file {}: {source}", path.display())]
    Read {
        /// The path that was given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A pattern field holds a regular expression that does not compile.
    #[error("preset `{preset}`: {field} pattern {pattern:?} is not a valid regex: {message}")]
    BadRegex {
        /// The preset holding the pattern.
        preset: String,
        /// The field: `prompt_patterns[0]`, `dialog_patterns[2].pattern`, ...
        field: String,
        /// The pattern as written.
        pattern: String,
        /// The regex compiler's message.
        message: String,
    },

    /// A preset misses something it needs or holds a value that cannot work.
    #[error("preset `{preset}`: {field}: {message}")]
    Invalid {
        /// The preset.
        preset: String,
        /// The field at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },

    /// No preset has this name.
    #[error("no preset named `{name}` (known presets: {known})")]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// The known names, comma separated.
        known: String,
    },

    /// A resume was asked of a preset whose CLI cannot resume (or not that way).
    #[error("preset `{preset}` cannot resume {what}: its CLI documents no such option")]
    ResumeUnsupported {
        /// The preset.
        preset: String,
        /// `a session by id` or `the last session`.
        what: &'static str,
    },

    /// The preset's CLI is not on PATH.
    #[error("`{cli}` (needed by preset `{preset}`) was not found on PATH; {hint}")]
    CliNotInstalled {
        /// The program that was looked for.
        cli: String,
        /// The preset that needs it.
        preset: String,
        /// How to install it.
        hint: String,
    },

    /// Rendering the MCP configuration failed (a value JSON or TOML cannot hold).
    #[error("preset `{preset}`: cannot render the MCP configuration: {message}")]
    Render {
        /// The preset.
        preset: String,
        /// What failed.
        message: String,
    },
}
