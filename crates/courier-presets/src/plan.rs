//! `Preset::launch`: from a preset and a context to the exact program, arguments, environment
//! and files. Pure: files are returned, never written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use courier_core::ChannelPolicy;
use serde::Serialize;
use serde_json::Value;

use crate::error::PresetError;
use crate::mcp::{self, McpServer};
use crate::patterns::{ScreenPatterns, compile_parts};
use crate::preset::{DialogPattern, FileFormat, Preset};
use crate::template::Vars;

/// Environment variable naming the broker's URL, for the MCP server and `courier send`.
pub const ENV_URL: &str = "COURIER_URL";
/// Environment variable naming the agent.
pub const ENV_AGENT: &str = "COURIER_AGENT";
/// Environment variable holding the agent's token.
pub const ENV_TOKEN: &str = "COURIER_TOKEN";

/// Which earlier session to resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// A session by the CLI's own id.
    Session(String),
    /// The most recent session in the workdir.
    Last,
}

/// What a launch needs to know about the agent and the broker.
#[derive(Debug, Clone)]
pub struct LaunchContext {
    /// The agent's name (`alice`).
    pub agent_name: String,
    /// The broker's URL (`http://127.0.0.1:7777`).
    pub courier_url: String,
    /// The agent's token.
    pub token: String,
    /// Path of the courier binary; the MCP server is `<courier_exe> mcp`.
    pub courier_exe: PathBuf,
    /// The agent's working directory; planned files are relative to it.
    pub workdir: PathBuf,
    /// Arguments the person added, passed after the preset's own.
    pub extra_args: Vec<String>,
    /// Resume an earlier session instead of starting a new one.
    pub resume: Option<Resume>,
}

/// A config file the launch needs, relative to the workdir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFile {
    /// Path relative to the workdir.
    pub path: PathBuf,
    /// The file's format.
    pub format: FileFormat,
    /// The top-level key holding MCP servers in it.
    pub mcp_key: String,
    /// The exact content to write when no file exists.
    pub content: String,
}

/// Everything needed to start one agent CLI and recognise its screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchPlan {
    /// The preset it came from.
    pub preset: String,
    /// The program to run (looked up on PATH unless it holds a `/`).
    pub program: String,
    /// Arguments: resume args, preset args, the caller's extra args, then the MCP injection
    /// last (Claude's `--mcp-config` takes several values, so nothing positional may follow it).
    pub args: Vec<String>,
    /// Environment to add to the inherited one, sorted.
    pub env: BTreeMap<String, String>,
    /// Config files to write (or merge into) in the workdir before starting.
    pub files: Vec<PlannedFile>,
    /// Prompt regexes (see [`crate::Preset::prompt_patterns`]).
    pub prompt_patterns: Vec<String>,
    /// Dialog regexes.
    pub dialog_patterns: Vec<DialogPattern>,
    /// Collapsed-paste regexes.
    pub collapsed_paste_patterns: Vec<String>,
    /// Whether the agent has Courier's MCP tools (otherwise it must use `courier send`).
    pub has_mcp: bool,
    /// How to install the CLI, for [`crate::check_installed`].
    pub install_hint: String,
    /// Which channels deliver messages (see [`crate::Preset::delivery`]).
    pub delivery: ChannelPolicy,
    /// How its composer wants a message submitted.
    pub submit: crate::SubmitSettings,
    /// The comment put before each line of a message (see
    /// [`crate::Preset::inert_prefix`]).
    pub inert_prefix: Option<String>,
    /// How a message is framed (see [`crate::Preset::framing`]).
    pub framing: Option<String>,
    /// The keys that interrupt the CLI's turn (see [`crate::Preset::interrupt_keys`]).
    pub interrupt_keys: String,
    /// Context-low regexes (see [`crate::Preset::context_low_patterns`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_low_patterns: Vec<String>,
    /// Busy regexes (see [`crate::Preset::busy_patterns`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub busy_patterns: Vec<String>,
    /// Idle regexes (see [`crate::Preset::idle_patterns`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub idle_patterns: Vec<String>,
    /// Whether the preset can continue the last session (`resume.last`),
    /// which a restart uses.
    pub can_continue: bool,
}

impl LaunchPlan {
    /// The plan's patterns, compiled (they were validated when the preset was loaded).
    pub fn screen_patterns(&self) -> Result<ScreenPatterns, PresetError> {
        compile_parts(
            &self.preset,
            &self.prompt_patterns,
            &self.dialog_patterns,
            &self.collapsed_paste_patterns,
        )
    }
}

impl PlannedFile {
    /// The content to write over an `existing` file of the same path: the existing settings
    /// kept, ours merged in (objects merged key by key, ours winning; lists of entries such
    /// as Claude Code's hook lists get ours added once), so a person's own settings, hooks and
    /// MCP servers survive. Fails if `existing` is not valid in the file's format.
    pub fn merged_with(&self, existing: &str) -> Result<String, PresetError> {
        let err = |message: String| PresetError::Render {
            preset: self.path.display().to_string(),
            message,
        };
        match self.format {
            FileFormat::Json => {
                let mut base: Value = if existing.trim().is_empty() {
                    Value::Object(Default::default())
                } else {
                    serde_json::from_str(existing).map_err(|e| err(e.to_string()))?
                };
                let ours: Value =
                    serde_json::from_str(&self.content).map_err(|e| err(e.to_string()))?;
                merge_keeping_entries(&mut base, ours);
                let mut text =
                    serde_json::to_string_pretty(&base).map_err(|e| err(e.to_string()))?;
                text.push('\n');
                Ok(text)
            }
            FileFormat::Toml => {
                let base: toml::Table = toml::from_str(existing).map_err(|e| err(e.to_string()))?;
                let mut base = serde_json::to_value(base).map_err(|e| err(e.to_string()))?;
                let ours: toml::Table =
                    toml::from_str(&self.content).map_err(|e| err(e.to_string()))?;
                let ours = serde_json::to_value(ours).map_err(|e| err(e.to_string()))?;
                merge_keeping_entries(&mut base, ours);
                toml::to_string(&base).map_err(|e| err(e.to_string()))
            }
        }
    }
}

/// Deep-merges `patch` into `base`: objects key by key, anything else replaced.
pub(crate) fn merge_json(base: &mut Value, patch: Value) {
    merge(base, patch, false);
}

/// Like [`merge_json`], for a file a person also edits: a list of objects (hook entries,
/// say) keeps the person's entries and gets each of ours once, where `merge_json` would
/// replace the list and lose theirs. Lists of plain values (a command's args) are replaced:
/// there, ours is the whole value.
fn merge_keeping_entries(base: &mut Value, patch: Value) {
    merge(base, patch, true);
}

fn merge(base: &mut Value, patch: Value, keep_entries: bool) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v, keep_entries),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(p))
            if keep_entries && b.iter().chain(&p).all(Value::is_object) =>
        {
            for entry in p {
                if !b.contains(&entry) {
                    b.push(entry);
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

impl Preset {
    /// Plans the launch of this preset for `ctx`.
    pub fn launch(&self, ctx: &LaunchContext) -> Result<LaunchPlan, PresetError> {
        let courier_exe = ctx.courier_exe.to_string_lossy();
        let workdir = ctx.workdir.to_string_lossy();
        let session_id = match &ctx.resume {
            Some(Resume::Session(id)) => Some(id.as_str()),
            _ => None,
        };
        let vars = Vars {
            agent_name: &ctx.agent_name,
            courier_url: &ctx.courier_url,
            token: &ctx.token,
            courier_exe: &courier_exe,
            workdir: &workdir,
            session_id,
        };

        let courier_env = BTreeMap::from([
            (ENV_URL.to_owned(), ctx.courier_url.clone()),
            (ENV_AGENT.to_owned(), ctx.agent_name.clone()),
            (ENV_TOKEN.to_owned(), ctx.token.clone()),
        ]);
        let server = McpServer {
            command: courier_exe.clone().into_owned(),
            args: vec!["mcp".to_owned()],
            env: courier_env.clone(),
        };
        let injected = mcp::inject(&self.name, &self.mcp, &server)?;

        let mut args = self.resume_args(ctx.resume.as_ref(), &vars)?;
        args.extend(self.args.iter().map(|a| vars.expand(a)));
        args.extend(ctx.extra_args.iter().cloned());
        args.extend(injected.args);

        let mut env: BTreeMap<String, String> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), vars.expand(v)))
            .collect();
        env.extend(injected.env);
        env.extend(courier_env);

        let mut files = injected.files;
        if let (Some(hooks), true) = (&self.hooks, self.delivery != ChannelPolicy::Keystrokes) {
            files.push(crate::mcp::hook_file(&self.name, hooks, &courier_exe)?);
        }

        Ok(LaunchPlan {
            preset: self.name.clone(),
            program: self.command.clone(),
            args,
            env,
            files,
            prompt_patterns: self.prompt_patterns.clone(),
            dialog_patterns: self.dialog_patterns.clone(),
            collapsed_paste_patterns: self.collapsed_paste_patterns.clone(),
            has_mcp: !matches!(self.mcp, crate::McpInjection::None),
            install_hint: self.install_hint.clone(),
            delivery: self.delivery,
            submit: self.submit.clone(),
            inert_prefix: self.inert_prefix.clone(),
            framing: self.framing.clone(),
            interrupt_keys: self.interrupt_keys.clone(),
            context_low_patterns: self.context_low_patterns.clone(),
            busy_patterns: self.busy_patterns.clone(),
            idle_patterns: self.idle_patterns.clone(),
            can_continue: self.resume.as_ref().is_some_and(|r| r.last.is_some()),
        })
    }

    fn resume_args(
        &self,
        resume: Option<&Resume>,
        vars: &Vars<'_>,
    ) -> Result<Vec<String>, PresetError> {
        let Some(resume) = resume else {
            return Ok(Vec::new());
        };
        let template = self.resume.as_ref();
        let (args, what) = match resume {
            Resume::Session(_) => (template.and_then(|t| t.session.as_ref()), "a session by id"),
            Resume::Last => (template.and_then(|t| t.last.as_ref()), "the last session"),
        };
        let args = args.ok_or_else(|| PresetError::ResumeUnsupported {
            preset: self.name.clone(),
            what,
        })?;
        Ok(args.iter().map(|a| vars.expand(a)).collect())
    }
}
