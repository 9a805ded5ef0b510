//! How to start an agent; persisted so a restarted broker spawns it again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use courier_core::ChannelPolicy;
use courier_presets::SubmitSettings;
use courier_terminal::SpawnSpec;
use serde::{Deserialize, Serialize};

use super::limits::{
    COLS, MAX_ARGS, MAX_CHANNELS, MAX_ENV, MAX_PATTERN_LEN, MAX_PATTERNS, ROWS, SpecLimit, at_most,
    limit, no_nul, within,
};
use super::resume::ResumeSpec;

fn default_rows() -> u16 {
    40
}

fn default_cols() -> u16 {
    120
}

// A misspelled field (`channel` for `channels`) is refused with its name
// rather than ignored; stored specs are written from this struct, so they
// hold only its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Run headless: pipes and no PTY, the Agent Client Protocol on its
    /// stdio, delivering through channel `native` (persisted).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headless: bool,
    /// The protocol a headless agent's CLI speaks (`acp`,
    /// `claude-stream-json`, `codex-app-server`). Default: the preset's,
    /// else `acp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<courier_core::NativeProtocol>,
    /// How its composer wants a message submitted (least paste-to-Enter
    /// gap, submit keys). Default: the preset's, else Enter as soon as the
    /// screen settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit: Option<SubmitSettings>,
    /// The comment put before each line of a message so a program that
    /// runs its input (a shell, a REPL) runs nothing (`"# "`); `""` for
    /// none. Default: the preset's, else by the program (known shells and
    /// REPLs), else none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inert_prefix: Option<String>,
    /// How a message is framed: `"auto"` (default: from the program that
    /// reads its terminal at each delivery), `"none"`, or an interpreter's
    /// name (`"sh"`, `"bash"`, `"zsh"`, `"fish"`, `"python"`, `"node"`,
    /// `"ruby"`, …). Wins over `inert_prefix` and the preset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<String>,
    /// What happens when its program ends: `never` (default), `on-failure`
    /// or `always` restarted, with a backoff and a limit within a window
    /// past which the agent is `dead`. Persisted with the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<courier_core::RestartPolicy>,
    /// A first message for the agent, committed with the spawn and
    /// delivered once it is ready (never persisted in the spec: it is a
    /// message in the store).
    #[serde(default, skip_serializing)]
    pub task: Option<String>,
    /// Resume one of the CLI's sessions at spawn (a preset with resume
    /// arguments only): `{"session": ID}` or `{"last": true}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeSpec>,
    /// The keys `courier interrupt` sends. Default: the preset's, else Ctrl-C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt_keys: Option<String>,
    /// Regexes that show the context window running low on the screen,
    /// added to the preset's (one `agent_context_low` per episode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_low_patterns: Vec<String>,
    /// Regexes of the program's working status line ("esc to interrupt"):
    /// while one is on screen the agent is busy and `idle` mode types
    /// nothing. Added to the preset's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub busy_patterns: Vec<String>,
    /// Regexes of what ends a turn: a busy line with one of these below it
    /// is history. Added to the preset's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub idle_patterns: Vec<String>,
}

impl AgentSpec {
    /// Refuses sizes and counts a client could use to exhaust the broker;
    /// called on every spawn request before anything is started.
    // Long: one check per field of the request, in the order of the fields.
    pub fn check_limits(&self) -> Result<(), SpecLimit> {
        within("rows", &ROWS, self.rows)?;
        within("cols", &COLS, self.cols)?;
        at_most("command", &self.command, MAX_ARGS)?;
        at_most("args", &self.args, MAX_ARGS)?;
        at_most("channels", &self.channels, MAX_CHANNELS)?;
        at_most("dialog_patterns", &self.dialog_patterns, MAX_PATTERNS)?;
        at_most(
            "collapsed_paste_patterns",
            &self.collapsed_paste_patterns,
            MAX_PATTERNS,
        )?;
        if self.env.len() > MAX_ENV {
            return Err(limit(
                "env",
                format!("at most {MAX_ENV} variables (got {})", self.env.len()),
            ));
        }
        if let Some(key) = self.env.keys().find(|k| k.is_empty() || k.contains('=')) {
            return Err(limit(
                "env",
                format!("variable name {key:?} must be non-empty and without '='"),
            ));
        }
        if let Some(prefix) = &self.inert_prefix
            && (prefix.len() > 8 || prefix.chars().any(|c| c.is_control()))
        {
            return Err(limit(
                "inert_prefix",
                "at most 8 bytes, no control characters",
            ));
        }
        if let Some(framing) = &self.framing
            && framing.len() > 32
        {
            return Err(limit("framing", "at most 32 bytes"));
        }
        if let Some(submit) = &self.submit {
            submit.check().map_err(|problem| limit("submit", problem))?;
        }
        self.check_extras()?;
        no_nul("command", self.command.iter().map(String::as_str))?;
        no_nul("args", self.args.iter().map(String::as_str))?;
        no_nul(
            "env",
            self.env.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]),
        )?;
        if let Some(cwd) = &self.cwd {
            no_nul("cwd", cwd.to_str().into_iter())?;
        }
        let patterns = self.prompt_pattern.iter().chain(&self.dialog_patterns);
        if let Some(p) = patterns
            .chain(&self.collapsed_paste_patterns)
            .chain(&self.context_low_patterns)
            .chain(&self.busy_patterns)
            .chain(&self.idle_patterns)
            .find(|p| p.len() > MAX_PATTERN_LEN)
        {
            return Err(limit(
                "patterns",
                format!(
                    "a pattern may be at most {MAX_PATTERN_LEN} bytes (got {})",
                    p.len()
                ),
            ));
        }
        Ok(())
    }

    /// The checks of what a spawn asks beyond starting a program: restart
    /// policy, interrupt keys, context-low and busy/idle patterns, resume.
    fn check_extras(&self) -> Result<(), SpecLimit> {
        if let Some(policy) = &self.restart {
            policy.check().map_err(|p| limit("restart", p))?;
        }
        if let Some(keys) = &self.interrupt_keys {
            courier_presets::check_interrupt_keys(keys).map_err(|p| limit("interrupt_keys", p))?;
        }
        // Whether they compile is the launch's check (a 400 naming the field).
        at_most(
            "context_low_patterns",
            &self.context_low_patterns,
            MAX_PATTERNS,
        )?;
        at_most("busy_patterns", &self.busy_patterns, MAX_PATTERNS)?;
        at_most("idle_patterns", &self.idle_patterns, MAX_PATTERNS)?;
        if let Some(resume) = &self.resume {
            resume.check(self.preset.is_some())?;
        }
        Ok(())
    }

    /// The resume to launch with: on a restart, the preset's "continue the
    /// last session" when it has one and the policy allows; else the spawn's.
    pub fn resume_for(&self, restart: bool, can_continue: bool) -> Option<ResumeSpec> {
        let continue_last = self.restart.as_ref().is_none_or(|p| p.resume);
        if restart && can_continue && continue_last {
            return Some(ResumeSpec::last());
        }
        self.resume.clone()
    }

    pub fn spawn_spec(&self, extra_env: &[(String, String)]) -> SpawnSpec {
        let (program, args) = match self.command.split_first() {
            Some((program, args)) => (program.clone(), args.to_vec()),
            None => (String::new(), Vec::new()),
        };
        let mut spec = SpawnSpec::new(&self.name, program)
            .args(args)
            // Clamped as well as checked at the API: a spec persisted before
            // the check existed must not abort the broker on restart.
            .size(
                self.rows.clamp(*ROWS.start(), *ROWS.end()),
                self.cols.clamp(*COLS.start(), *COLS.end()),
            );
        for (k, v) in self.env.iter().chain(extra_env.iter().map(|(k, v)| (k, v))) {
            spec = spec.env(k.clone(), v.clone());
        }
        if let Some(cwd) = &self.cwd {
            spec = spec.cwd(cwd.clone());
        }
        spec
    }
}

/// A spawn request as the API takes it (`courier_protocol`'s type, which
/// the OpenAPI document describes) becomes the spec the broker starts and
/// persists. Every field is named, so a field added to the request does
/// not compile until it is carried here.
impl From<courier_protocol::spawn::SpawnRequest> for AgentSpec {
    // Long: one field per line, each named on both sides so a new request
    // field does not compile until it is carried; splitting it hides that.
    fn from(request: courier_protocol::spawn::SpawnRequest) -> Self {
        let courier_protocol::spawn::SpawnRequest {
            name,
            command,
            preset,
            args,
            env,
            cwd,
            rows,
            cols,
            channels,
            prompt_pattern,
            dialog_patterns,
            collapsed_paste_patterns,
            delivery,
            headless,
            protocol,
            submit,
            inert_prefix,
            framing,
            restart,
            task,
            resume,
            interrupt_keys,
            context_low_patterns,
            busy_patterns,
            idle_patterns,
        } = request;
        AgentSpec {
            name,
            command,
            preset,
            args,
            env,
            cwd: cwd.map(PathBuf::from),
            rows,
            cols,
            channels,
            prompt_pattern,
            dialog_patterns,
            collapsed_paste_patterns,
            delivery,
            headless,
            protocol,
            submit: submit.map(|s| SubmitSettings {
                enter_gap_ms: s.enter_gap_ms,
                keys: s.keys,
            }),
            inert_prefix,
            framing,
            restart,
            task,
            resume: resume.map(|r| ResumeSpec {
                session: r.session,
                last: r.last,
            }),
            interrupt_keys,
            context_low_patterns,
            busy_patterns,
            idle_patterns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AgentSpec {
        serde_json::from_value(serde_json::json!({"name": "a", "command": ["true"]})).unwrap()
    }

    #[test]
    fn defaults_are_within_limits() {
        assert_eq!(spec().check_limits(), Ok(()));
    }

    #[test]
    fn submit_keys_are_only_keys_that_cannot_smuggle_a_sequence() {
        let with = |keys: &str, gap| AgentSpec {
            submit: Some(SubmitSettings {
                enter_gap_ms: gap,
                keys: Some(keys.into()),
            }),
            ..spec()
        };
        assert_eq!(with("\u{1b}\r", 150).check_limits(), Ok(()));
        for (keys, gap) in [
            ("", 0),
            ("\u{1b}[201~\u{7}", 0),
            ("\r", 60_000),
            ("\u{9b}", 0),
        ] {
            let err = with(keys, gap).check_limits().unwrap_err();
            assert_eq!(err.field, "submit", "{keys:?} {gap}");
        }
    }

    #[test]
    fn sizes_outside_the_documented_range_name_their_field() {
        for (rows, cols, field) in [
            (0, 80, "rows"),
            (501, 80, "rows"),
            (40, 0, "cols"),
            (40, 1001, "cols"),
            (65535, 65535, "rows"),
        ] {
            let s = AgentSpec {
                rows,
                cols,
                ..spec()
            };
            assert_eq!(s.check_limits().unwrap_err().field, field, "{rows}x{cols}");
        }
        let s = AgentSpec {
            rows: 500,
            cols: 1000,
            ..spec()
        };
        assert_eq!(s.check_limits(), Ok(()));
    }

    #[test]
    fn an_old_oversized_spec_is_clamped_when_started() {
        let s = AgentSpec {
            rows: 65535,
            cols: 0,
            ..spec()
        };
        let spawn = s.spawn_spec(&[]);
        assert_eq!((spawn.rows, spawn.cols), (500, 1));
    }

    #[test]
    fn counts_and_exec_unsafe_strings_are_refused() {
        let env = (0..=MAX_ENV)
            .map(|i| (format!("V{i}"), String::new()))
            .collect();
        assert_eq!(
            AgentSpec { env, ..spec() }
                .check_limits()
                .unwrap_err()
                .field,
            "env"
        );
        let env = BTreeMap::from([("A=B".to_string(), String::new())]);
        assert_eq!(
            AgentSpec { env, ..spec() }
                .check_limits()
                .unwrap_err()
                .field,
            "env"
        );
        let command = vec!["tr\0ue".to_string()];
        assert_eq!(
            AgentSpec { command, ..spec() }
                .check_limits()
                .unwrap_err()
                .field,
            "command"
        );
        let dialog_patterns = vec!["x".to_string(); MAX_PATTERNS + 1];
        assert_eq!(
            AgentSpec {
                dialog_patterns,
                ..spec()
            }
            .check_limits()
            .unwrap_err()
            .field,
            "dialog_patterns"
        );
        let prompt_pattern = Some("x".repeat(MAX_PATTERN_LEN + 1));
        assert_eq!(
            AgentSpec {
                prompt_pattern,
                ..spec()
            }
            .check_limits()
            .unwrap_err()
            .field,
            "patterns"
        );
    }

    fn from(json: serde_json::Value) -> AgentSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn resume_needs_exactly_one_form_and_a_preset() {
        let ok =
            from(serde_json::json!({"name": "a", "preset": "claude", "resume": {"last": true}}));
        assert_eq!(ok.check_extras(), Ok(()));
        for bad in [
            serde_json::json!({"name": "a", "preset": "claude", "resume": {}}),
            serde_json::json!({"name": "a", "preset": "claude", "resume": {"session": "x", "last": true}}),
            serde_json::json!({"name": "a", "preset": "claude", "resume": {"session": ""}}),
            serde_json::json!({"name": "a", "command": ["sh"], "resume": {"session": "x"}}),
        ] {
            assert_eq!(
                from(bad.clone()).check_extras().unwrap_err().field,
                "resume",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_restart_continues_the_last_session_when_the_preset_can() {
        let s =
            from(serde_json::json!({"name": "a", "preset": "claude", "resume": {"session": "s1"}}));
        assert_eq!(s.resume_for(true, true), Some(ResumeSpec::last()));
        assert_eq!(s.resume_for(false, true), s.resume);
        assert_eq!(s.resume_for(true, false), s.resume);
        let no = from(serde_json::json!({"name": "a", "preset": "claude",
            "restart": {"policy": "always", "resume": false}}));
        assert_eq!(no.resume_for(true, true), None);
    }

    #[test]
    fn restart_and_interrupt_keys_are_checked() {
        let bad = from(serde_json::json!({"name": "a", "command": ["sh"],
            "restart": {"policy": "always", "window_s": 0}}));
        assert_eq!(bad.check_extras().unwrap_err().field, "restart");
        let bad = from(serde_json::json!({"name": "a", "command": ["sh"], "interrupt_keys": ""}));
        assert_eq!(bad.check_extras().unwrap_err().field, "interrupt_keys");
    }
}
