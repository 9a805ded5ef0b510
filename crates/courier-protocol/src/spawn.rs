//! `POST /v1/agents`: how to start an agent. Either `command` (any program
//! and its arguments) or `preset` (a known agent CLI: its flags, MCP
//! wiring, screen patterns and submit settings), not both.
//!
//! The broker turns this into its persisted spec; the field order is the
//! one a refused unknown field lists as `expected`.

use std::collections::BTreeMap;

use courier_core::{ChannelPolicy, RestartPolicy};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The default terminal size of an agent.
pub const DEFAULT_ROWS: u16 = 40;
pub const DEFAULT_COLS: u16 = 120;

/// Either `command` (any program and its arguments) or `preset` (a known
/// agent CLI: its flags, MCP wiring, screen patterns and submit settings),
/// not both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpawnRequest {
    pub name: String,
    /// Program and arguments (empty when a preset is given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub command: Vec<String>,
    /// A preset name: claude, codex, gemini, opencode, aider, shell, or one
    /// of the user's presets file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Extra arguments for the preset's CLI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 256))]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default = "default_rows")]
    #[schemars(range(min = 1, max = 500))]
    pub rows: u16,
    #[serde(default = "default_cols")]
    #[schemars(range(min = 1, max = 1000))]
    pub cols: u16,
    /// Channels joined at spawn (without `#`), judged by the ACL's join rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub channels: Vec<String>,
    /// Regex of the program's ready prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub prompt_pattern: Option<String>,
    /// Regexes of dialogs that keep the agent not ready.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub dialog_patterns: Vec<String>,
    /// Regexes of collapsed-paste placeholders that count as an echo.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub collapsed_paste_patterns: Vec<String>,
    /// Which channels deliver to it: keystrokes, hooks, both, or native
    /// (the CLI's own protocol: a headless agent's, or the one a preset's
    /// TUI shares, `served` — codex; keystrokes while that is gone).
    /// Default: native for a headless agent, else the preset's (codex:
    /// native with its TUI kept), else keystrokes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<ChannelPolicy>,
    /// Run the CLI headless: pipes and no PTY, spoken to in its protocol on
    /// its stdio (a preset's headless arguments, e.g. `gemini --acp` or
    /// claude's stream-json, or a command speaking `protocol`), delivering
    /// through channel `native`. Its conversation is kept as events
    /// (`GET /v1/agents/{name}/transcript`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headless: bool,
    /// The protocol a headless command speaks on its stdio: `acp` (the
    /// default), `claude-stream-json` or `codex-app-server`. Default: the
    /// preset's headless
    /// protocol, else `acp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<courier_core::NativeProtocol>,
    /// How the program's composer wants a message submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit: Option<SubmitRequest>,
    /// Put before each line of a message so a program that runs its input
    /// (a shell, a REPL) runs nothing, e.g. "# "; empty for none. Default:
    /// the preset's, else by the program (bash, sh, zsh, python3, node, ...
    /// when interactive), else none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8), regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub inert_prefix: Option<String>,
    /// How a message is framed: "auto" (default: from the program that
    /// reads its terminal at each delivery), "none", or an interpreter's
    /// name (sh, bash, zsh, fish, python, node, ruby, ...). Wins over
    /// inert_prefix and the preset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<String>,
    /// What happens when its program ends. Past max_restarts restarts within
    /// window_s, one more exit makes the agent dead (agent_dead, /healthz
    /// degraded) and its pending deliveries dead letters. Persisted with
    /// the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    /// A first message for the agent, delivered once it is ready, exactly
    /// once even across a broker crash right after the spawn. At most the
    /// largest message body (413 otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub task: Option<String>,
    /// Resume one of the CLI's sessions at spawn, with the preset's resume
    /// templates. Presets only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeRequest>,
    /// The keys `POST /v1/agents/{name}/interrupt` sends. Default: the
    /// preset's (Esc for claude, codex, gemini, opencode; Ctrl-C for aider,
    /// shell), else Ctrl-C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 8), regex(pattern = r"^[\u0001-\u007f]+$"))]
    pub interrupt_keys: Option<String>,
    /// Regexes that show the context window running low on the rendered
    /// screen, added to the preset's: one agent_context_low event per episode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub context_low_patterns: Vec<String>,
    /// Regexes of the program's working status line (e.g. "esc to
    /// interrupt"), added to the preset's: while one matches, the agent is
    /// busy however quiet its screen, and idle mode neither claims nor
    /// types. A regex that does not compile is a 400 naming the field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub busy_patterns: Vec<String>,
    /// Regexes of what the program draws when a turn has ended, added to
    /// the preset's: a busy row with an idle row below it is history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub idle_patterns: Vec<String>,
}

fn default_rows() -> u16 {
    DEFAULT_ROWS
}

fn default_cols() -> u16 {
    DEFAULT_COLS
}

impl SpawnRequest {
    /// A spawn of `name` with every other field at its default.
    pub fn named(name: impl Into<String>) -> Self {
        SpawnRequest {
            name: name.into(),
            command: Vec::new(),
            preset: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
            rows: DEFAULT_ROWS,
            cols: DEFAULT_COLS,
            channels: Vec::new(),
            prompt_pattern: None,
            dialog_patterns: Vec::new(),
            collapsed_paste_patterns: Vec::new(),
            delivery: None,
            headless: false,
            protocol: None,
            submit: None,
            inert_prefix: None,
            framing: None,
            restart: None,
            task: None,
            resume: None,
            interrupt_keys: None,
            context_low_patterns: Vec::new(),
            busy_patterns: Vec::new(),
            idle_patterns: Vec::new(),
        }
    }
}

/// How the program's composer wants a message submitted: the least time
/// from the end of a paste to Enter, and the keys that submit when not
/// Enter (e.g. ESC+CR for editors that submit on Alt+Enter).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    #[serde(default)]
    #[schemars(range(max = 5000))]
    pub enter_gap_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 8), regex(pattern = r"^[\u001b\r\n -~]+$"))]
    pub keys: Option<String>,
}

/// Which CLI session to resume: `{"session": ID}` or `{"last": true}`
/// (continue the most recent session in the working directory).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 256),
        regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub last: bool,
}
