//! How to start an agent; persisted so a restarted broker spawns it again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use courier_core::ChannelPolicy;
use courier_terminal::SpawnSpec;
use serde::{Deserialize, Serialize};

fn default_rows() -> u16 {
    40
}

fn default_cols() -> u16 {
    120
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSpec {
    pub name: String,
    /// Program and arguments (empty when a preset is given).
    #[serde(default)]
    pub command: Vec<String>,
    /// A preset (`claude`, `codex`, `gemini`, `opencode`, `aider`, `shell`)
    /// instead of a command: the CLI, its flags, MCP wiring and patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Extra arguments for the preset's CLI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    #[serde(default = "default_rows")]
    pub rows: u16,
    #[serde(default = "default_cols")]
    pub cols: u16,
    /// Channels joined at spawn (without `#`).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Regex of the program's ready prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_pattern: Option<String>,
    /// Regexes of dialogs that keep the agent not ready.
    #[serde(default)]
    pub dialog_patterns: Vec<String>,
    /// Regexes of collapsed-paste placeholders that count as an echo.
    #[serde(default)]
    pub collapsed_paste_patterns: Vec<String>,
    /// Channels that deliver to it: `keystrokes` (default for a command),
    /// `hooks` (never typed in; its CLI's hook runs `courier hook`) or
    /// `both` (whichever claims a delivery first). Default: the preset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<ChannelPolicy>,
}

impl AgentSpec {
    pub fn spawn_spec(&self, extra_env: &[(String, String)]) -> SpawnSpec {
        let (program, args) = match self.command.split_first() {
            Some((program, args)) => (program.clone(), args.to_vec()),
            None => (String::new(), Vec::new()),
        };
        let mut spec = SpawnSpec::new(&self.name, program)
            .args(args)
            .size(self.rows, self.cols);
        for (k, v) in self.env.iter().chain(extra_env.iter().map(|(k, v)| (k, v))) {
            spec = spec.env(k.clone(), v.clone());
        }
        if let Some(cwd) = &self.cwd {
            spec = spec.cwd(cwd.clone());
        }
        spec
    }
}
