//! Courier's agent CLI presets, as data.
//!
//! The built-in presets (`claude`, `codex`, `gemini`, `opencode`, `aider`, `shell`) live in an
//! embedded TOML file ([`BUILTIN_PRESETS`]); a user file of the same shape overrides them
//! ([`PresetCatalog::load`]). [`Preset::launch`] turns a preset and a [`LaunchContext`] into a
//! [`LaunchPlan`]: program, arguments (with the Courier MCP server injected the way the CLI
//! documents), environment, config files to write, and the screen patterns the terminal layer
//! needs. [`check_installed`] says clearly when the CLI is missing.
//!
//! Pure: nothing here starts a process or writes a file. See `PRESETS.md` for each preset's
//! source, CLI version, MCP wiring and limits.

mod catalog;
mod channels;
mod error;
mod installed;
mod interpreter;
mod mcp;
mod patch;
mod patterns;
mod plan;
mod preset;
mod template;

pub use catalog::{BUILTIN_PRESETS, PresetCatalog};
pub use channels::{ChannelSupport, NativeQuestion, channel_support, native_question};
pub use error::PresetError;
pub use installed::{check_installed, find_cli};
pub use interpreter::{FramingChoice, Identified, Interpreter, identify};
pub use mcp::SERVER_NAME;
pub use patterns::{ScreenPatterns, compile_patterns};
pub use plan::{ENV_AGENT, ENV_TOKEN, ENV_URL, LaunchContext, LaunchPlan, PlannedFile, Resume};
pub use preset::{
    CTRL_C, DialogPattern, ESC, EntryShape, FileFormat, HookSettings, MAX_ENTER_GAP_MS,
    MAX_INTERRUPT_KEYS, MAX_SUBMIT_KEYS, McpInjection, Preset, ResumeTemplate, SOCKET_VAR,
    ServedSettings, SubmitSettings, check_interrupt_keys, describe_keys,
};
