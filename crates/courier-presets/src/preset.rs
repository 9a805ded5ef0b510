//! The preset data model: what one agent CLI needs to be started, recognised and wired to Courier.

use std::collections::BTreeMap;

use courier_core::{ChannelPolicy, NativeProtocol};
use serde::{Deserialize, Serialize};

/// One agent CLI, as data. See `PRESETS.md` for the built-in ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    /// The preset's name (`claude`, `codex`, ...): the key of its `[presets.NAME]` table.
    pub name: String,
    /// One line for `courier presets` listings.
    pub description: String,
    /// The program to run, looked up on PATH unless it holds a `/`.
    pub command: String,
    /// Default arguments, before the caller's extra arguments. Templates allowed (see [`crate::template`]).
    pub args: Vec<String>,
    /// Environment set for the CLI (auto-update off, ...). Templates allowed in values.
    pub env: BTreeMap<String, String>,
    /// Regexes that, matched on the rendered screen, show the input prompt is ready.
    pub prompt_patterns: Vec<String>,
    /// Regexes of dialogs that take keystrokes as menu choices; while one matches, the agent is not ready.
    pub dialog_patterns: Vec<DialogPattern>,
    /// Regexes of the placeholder a TUI shows in place of a long paste; a match counts as the echo.
    pub collapsed_paste_patterns: Vec<String>,
    /// How the Courier MCP server is handed to the CLI.
    pub mcp: McpInjection,
    /// How to resume an earlier session, if the CLI can.
    pub resume: Option<ResumeTemplate>,
    /// What to tell a person whose machine lacks the CLI.
    pub install_hint: String,
    /// Where the flags, files and patterns were taken from (URL of the CLI's docs or source).
    pub source: String,
    /// The CLI version the preset was written for.
    pub cli_version: String,
    /// Which channels deliver messages: `keystrokes` (typed into the terminal), `hooks` (the
    /// CLI's lifecycle hook runs `courier hook EVENT` and gets them as context) or `both`.
    #[serde(default)]
    pub delivery: ChannelPolicy,
    /// The arguments that make the CLI a headless agent speaking the Agent
    /// Client Protocol (or another `headless_protocol`) on its stdio (`courier spawn --headless`, channel
    /// `native`), e.g. gemini's `--acp`. Empty: the CLI has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headless_args: Vec<String>,
    /// The protocol its headless mode speaks: `acp` (the default),
    /// `claude-stream-json` or `codex-app-server`.
    #[serde(default, skip_serializing_if = "NativeProtocol::is_default")]
    pub headless_protocol: NativeProtocol,
    /// Native delivery with the TUI kept: its headless mode served on a
    /// socket (`server_args` after `headless_args`) and its TUI joined to
    /// it (`remote_args`), both in the agent's terminal; Courier is a
    /// second client of the server. Unset: the CLI's TUI cannot share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served: Option<ServedSettings>,
    /// The CLI's hook settings file, when it has documented lifecycle hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<HookSettings>,
    /// How its composer wants a pasted message submitted.
    #[serde(default, skip_serializing_if = "SubmitSettings::is_default")]
    pub submit: SubmitSettings,
    /// For a CLI that executes what is typed (a shell, a REPL): the comment
    /// put before each line of a message so it runs nothing (`"# "`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inert_prefix: Option<String>,
    /// How a message to it is framed: `"auto"` (from what reads its
    /// terminal at each delivery), `"none"`, or an interpreter's name
    /// (`"sh"`, `"zsh"`, `"python"`, `"node"`, …; see
    /// [`crate::FramingChoice`]). Unset: `inert_prefix`, else auto.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<String>,
    /// The keys that interrupt the CLI's current turn without quitting it
    /// (`courier interrupt`): Esc for TUIs that document it, else Ctrl-C.
    #[serde(default = "default_interrupt_keys")]
    pub interrupt_keys: String,
    /// Regexes that, matched on the rendered screen, show the CLI's context
    /// window is running low (one `agent_context_low` event per episode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_low_patterns: Vec<String>,
    /// Regexes of the CLI's working status line ("esc to interrupt" beside
    /// a spinner): while one matches a row of the rendered screen the agent
    /// is busy, however long the screen has been quiet, and `idle` mode
    /// types nothing (see PRESETS.md, "Busy and idle from the screen").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub busy_patterns: Vec<String>,
    /// Regexes of what the CLI draws when a turn has ended. A busy match
    /// counts only when no idle pattern matches a row below it (a status
    /// line quoted in the transcript above a fresh idle footer is history).
    /// Not required to be visible for the agent to be idle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub idle_patterns: Vec<String>,
}

/// How a CLI's TUI and a second client share its served protocol.
/// `{socket}` in either list is the Unix socket's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServedSettings {
    /// After the headless arguments: where the server listens
    /// (`["--listen", "unix://{socket}"]`).
    pub server_args: Vec<String>,
    /// After the TUI's arguments: how it joins the server
    /// (`["--remote", "unix://{socket}"]`).
    pub remote_args: Vec<String>,
}

/// The placeholder for the served socket's path in [`ServedSettings`].
pub const SOCKET_VAR: &str = "{socket}";

/// Ctrl-C: what interrupts a program that documents nothing else.
pub const CTRL_C: &str = "\u{3}";
/// Esc: what TUI agent CLIs document as "interrupt".
pub const ESC: &str = "\u{1b}";
/// The most bytes an interrupt key sequence may have.
pub const MAX_INTERRUPT_KEYS: usize = 8;

pub(crate) fn default_interrupt_keys() -> String {
    CTRL_C.to_owned()
}

/// Refuses interrupt keys that are empty, long, or hold NUL or anything
/// outside ASCII (a C1 control or an escape sequence's end could reach the
/// terminal otherwise).
pub fn check_interrupt_keys(keys: &str) -> Result<(), String> {
    if keys.is_empty()
        || keys.len() > MAX_INTERRUPT_KEYS
        || !keys.bytes().all(|b| (1..0x80).contains(&b))
    {
        return Err(format!(
            "interrupt keys must be 1 to {MAX_INTERRUPT_KEYS} ASCII bytes without NUL (got {keys:?})"
        ));
    }
    Ok(())
}

/// A person's name for interrupt keys (`esc`, `ctrl-c`, `ctrl-c ctrl-c`, …).
pub fn describe_keys(keys: &str) -> String {
    keys.bytes()
        .map(|b| match b {
            0x1b => "esc".to_owned(),
            b'\r' => "enter".to_owned(),
            1..=26 => format!("ctrl-{}", char::from(b'a' + b - 1)),
            b if b.is_ascii_graphic() => char::from(b).to_string(),
            b => format!("0x{b:02x}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a composer wants a pasted message submitted. Some composers turn an
/// Enter that follows a paste too closely into a newline, or drop it; some
/// multi-line editors submit on Esc+Enter, not Enter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitSettings {
    /// Least milliseconds from the end of a paste to Enter (default 0: as
    /// soon as the screen settled).
    #[serde(default)]
    pub enter_gap_ms: u64,
    /// The keys that submit, when not Enter (`"\r"`), e.g. `"\u001b\r"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
}

/// The longest paste-to-Enter gap accepted: longer would only slow every
/// delivery to the agent.
pub const MAX_ENTER_GAP_MS: u64 = 5_000;
/// The most bytes a submit key sequence may have.
pub const MAX_SUBMIT_KEYS: usize = 8;

impl SubmitSettings {
    pub fn is_default(&self) -> bool {
        *self == SubmitSettings::default()
    }

    /// Refuses a gap past [`MAX_ENTER_GAP_MS`] and keys that are empty,
    /// long, or hold anything but ESC, CR, LF or printable ASCII (the
    /// submit keys are the one thing typed that the sanitizer does not see).
    pub fn check(&self) -> Result<(), String> {
        if self.enter_gap_ms > MAX_ENTER_GAP_MS {
            return Err(format!(
                "enter_gap_ms must be at most {MAX_ENTER_GAP_MS} (got {})",
                self.enter_gap_ms
            ));
        }
        if let Some(keys) = &self.keys {
            let allowed = |b: u8| matches!(b, 0x1b | b'\r' | b'\n') || (0x20..0x7f).contains(&b);
            if keys.is_empty() || keys.len() > MAX_SUBMIT_KEYS || !keys.bytes().all(allowed) {
                return Err(format!(
                    "keys must be 1 to {MAX_SUBMIT_KEYS} bytes of ESC, CR, LF or printable ASCII (got {keys:?})"
                ));
            }
        }
        Ok(())
    }
}

/// Where a CLI reads its lifecycle hooks and which events run `courier hook`.
///
/// Claude Code: `.claude/settings.json`, `{"hooks": {"UserPromptSubmit": [{"hooks":
/// [{"type": "command", "command": "..."}]}]}}`
/// (<https://docs.anthropic.com/en/docs/claude-code/hooks>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSettings {
    /// Settings file relative to the workdir.
    pub path: String,
    /// Hook events that run `<courier_exe> hook EVENT`.
    pub events: Vec<String>,
}

/// A dialog a preset knows how to recognise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogPattern {
    /// Regex matched on the rendered screen.
    pub pattern: String,
    /// What the dialog is, for the person (`workspace trust`, `login`, ...).
    pub reason: String,
    /// Keys that accept the dialog's safe default, if the broker is allowed to answer it
    /// (e.g. `"\r"` for a trust dialog whose first choice is pre-selected). Absent: a person
    /// must answer. Answering is the terminal layer's decision, never this crate's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// How a CLI takes the Courier MCP server configuration, as that CLI documents it.
///
/// The server is always `<courier_exe> mcp` with `COURIER_URL`, `COURIER_AGENT` and
/// `COURIER_TOKEN` in its environment, and is named `courier`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum McpInjection {
    /// A flag followed by an inline JSON document `{"mcpServers": {"courier": {...}}}`
    /// (Claude Code's `--mcp-config`).
    FlagJson {
        /// The flag, e.g. `--mcp-config`.
        flag: String,
    },
    /// One `flag key=value` pair per setting, values as TOML (Codex's `-c`).
    ConfigOverrides {
        /// The flag, e.g. `-c`.
        flag: String,
        /// The table holding servers, e.g. `mcp_servers`.
        table: String,
    },
    /// A settings file under the workdir that the CLI reads (Gemini's `.gemini/settings.json`),
    /// returned as a file to write (merged into an existing one by [`crate::PlannedFile::merged_with`]).
    SettingsFile {
        /// Path relative to the workdir.
        path: String,
        /// The file's format.
        format: FileFormat,
        /// The top-level key holding servers, e.g. `mcpServers`.
        key: String,
        /// The shape of one server entry.
        entry: EntryShape,
        /// Other settings put in the same file (e.g. auto-update off).
        #[serde(default)]
        extra: toml::Table,
    },
    /// The CLI's project config file in the workdir (opencode's `opencode.json`).
    ProjectFile {
        /// Path relative to the workdir.
        path: String,
        /// The file's format.
        format: FileFormat,
        /// The top-level key holding servers, e.g. `mcp`.
        key: String,
        /// The shape of one server entry.
        entry: EntryShape,
        /// Other settings put in the same file.
        #[serde(default)]
        extra: toml::Table,
    },
    /// An environment variable holding an inline JSON config that the CLI merges over its
    /// other config files (opencode's `OPENCODE_CONFIG_CONTENT`): nothing is written.
    EnvJson {
        /// The variable, e.g. `OPENCODE_CONFIG_CONTENT`.
        var: String,
        /// The top-level key holding servers.
        key: String,
        /// The shape of one server entry.
        entry: EntryShape,
        /// Other settings put in the same document.
        #[serde(default)]
        extra: toml::Table,
    },
    /// The CLI has no MCP support: the agent talks back with `courier send` from its shell.
    None,
}

/// The shape of one MCP server entry in a JSON or TOML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryShape {
    /// `{"command": "...", "args": [...], "env": {...}}` (Claude, Gemini, Cursor and most clients).
    Standard,
    /// `{"type": "local", "command": [...], "environment": {...}, "enabled": true}` (opencode).
    Opencode,
}

/// The format of a planned config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// JSON, written pretty with a final newline.
    Json,
    /// TOML.
    Toml,
}

/// Arguments that resume an earlier session. They go first, before the preset's own arguments,
/// because some CLIs resume with a subcommand (`codex resume <id>`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeTemplate {
    /// Resume one session by id; `{session_id}` is replaced by the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Vec<String>>,
    /// Continue the most recent session in the workdir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Vec<String>>,
}
