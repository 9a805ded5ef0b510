//! Turning an agent spec into what to run: a raw command as given, or a
//! preset (claude, codex, …) resolved with this agent's identity, its MCP
//! wiring and screen patterns, and its config files written.

use std::path::Path;

use courier_core::{ChannelPolicy, NativeProtocol};
use courier_presets::{LaunchContext, PresetCatalog, SubmitSettings, check_installed};
use courier_terminal::{DeliverOptions, ReadinessConfig, SpawnSpec, TerminalError};

use super::framing_policy::{FramingPolicy, Overrides};
use super::served::{self, Served};
use crate::error::BrokerError;
use crate::spec::AgentSpec;

/// What the broker starts for one agent.
pub struct Launch {
    pub spawn: SpawnSpec,
    pub options: DeliverOptions,
    pub command_line: String,
    /// Which channels deliver to it: the spec's `delivery`, else the
    /// preset's, else keystrokes only.
    pub channels: ChannelPolicy,
    /// Dialogs the preset may answer with their safe default:
    /// (pattern, keys), e.g. a folder-trust prompt in the directory the
    /// person chose.
    pub dialog_answers: Vec<(regex::Regex, String)>,
    /// How each message is framed: fixed by the spawn or the preset, or
    /// decided per delivery from what reads the terminal.
    pub framing: FramingPolicy,
    /// The keys `courier interrupt` sends: the spec's, else the preset's,
    /// else Ctrl-C.
    pub interrupt_keys: String,
    /// Context-low patterns: the preset's and the spec's.
    pub context_low: Vec<regex::Regex>,
    /// The CLI was started with resume arguments.
    pub resumed: bool,
    /// The protocol a headless agent's CLI speaks: the spec's, else the
    /// preset's headless protocol, else ACP.
    pub protocol: NativeProtocol,
    /// A terminal agent whose CLI serves its protocol to its TUI and to
    /// the broker (channel `native` with the TUI kept).
    pub served: Option<Served>,
}

/// Where the broker keeps what outlives it (served sockets go under it).
pub struct Places<'a> {
    pub presets_file: Option<&'a Path>,
    pub state_dir: Option<&'a Path>,
}

/// Compiles context-low patterns; the error names the field and the pattern.
fn context_low(patterns: &[String]) -> Result<Vec<regex::Regex>, BrokerError> {
    compile_field("context_low_patterns", patterns)
}

/// Compiles a spec's regexes; the error (400) names the field and the pattern.
fn compile_field(field: &str, patterns: &[String]) -> Result<Vec<regex::Regex>, BrokerError> {
    patterns
        .iter()
        .map(|p| {
            courier_terminal::compiled::shared(p).map_err(|e| {
                BrokerError::invalid(field, format!("{p:?} is not a valid regex: {e}"))
            })
        })
        .collect()
}

/// The spawn's framing fields as overrides.
fn spec_overrides(spec: &AgentSpec) -> Overrides<'_> {
    Overrides {
        framing: spec.framing.as_deref().map(|v| ("framing", v)),
        inert_prefix: spec.inert_prefix.as_deref().map(|v| ("inert_prefix", v)),
    }
}

/// The agent's identity, handed to its process and its MCP server.
pub struct Identity<'a> {
    pub token: &'a str,
    pub url: Option<&'a str>,
}

/// What to start for `spec`; `restart`: a restart policy starts it again
/// (a preset then continues its last session when it can).
pub fn plan(
    spec: &AgentSpec,
    identity: &Identity<'_>,
    places: &Places<'_>,
    ready_fallback: std::time::Duration,
    restart: bool,
) -> Result<Launch, BrokerError> {
    let mut env = vec![
        ("COURIER_AGENT".to_string(), spec.name.clone()),
        ("COURIER_TOKEN".to_string(), identity.token.to_string()),
    ];
    if let Some(url) = identity.url {
        env.push(("COURIER_URL".to_string(), url.to_string()));
    }
    // Named before they are merged with a preset's (whose own were checked
    // when the preset file was loaded).
    compile_field("busy_patterns", &spec.busy_patterns)?;
    compile_field("idle_patterns", &spec.idle_patterns)?;
    let launch = match &spec.preset {
        None => raw_command(spec, &env, ready_fallback),
        Some(preset_name) => with_preset(
            spec,
            preset_name,
            identity,
            env,
            places,
            ready_fallback,
            restart,
        ),
    };
    let mut launch = launch?;
    launch.channels = channel_of(spec, launch.channels, launch.served.is_some())?;
    Ok(launch)
}

/// The agent's channel: `native` for a headless agent (it has no
/// terminal), and for a terminal agent only when its CLI serves its
/// protocol to its TUI (`served`).
fn channel_of(
    spec: &AgentSpec,
    chosen: ChannelPolicy,
    served: bool,
) -> Result<ChannelPolicy, BrokerError> {
    match (spec.headless, spec.delivery) {
        (true, None | Some(ChannelPolicy::Native)) => Ok(ChannelPolicy::Native),
        (true, Some(other)) => Err(BrokerError::invalid(
            "delivery",
            format!(
                "a headless agent has no terminal, so its channel is native, not {}",
                other.as_str()
            ),
        )),
        (false, _) if chosen == ChannelPolicy::Native && !served => Err(BrokerError::invalid(
            "delivery",
            "native delivery needs a headless agent (`headless: true`, `courier spawn --headless`) or a preset whose TUI shares its protocol (`served`, e.g. codex)",
        )),
        (false, _) => Ok(chosen),
    }
}

/// A raw command, run as given with the spec's own screen patterns.
fn raw_command(
    spec: &AgentSpec,
    env: &[(String, String)],
    ready_fallback: std::time::Duration,
) -> Result<Launch, BrokerError> {
    let options = screen_options(
        ready_fallback,
        spec.prompt_pattern.as_slice(),
        spec.dialog_patterns.iter().map(String::as_str),
        &spec.collapsed_paste_patterns,
    )
    .and_then(|o| with_busy(o, &spec.busy_patterns, &spec.idle_patterns))?;
    let options = with_submit(options, spec.submit.as_ref());
    let framing = FramingPolicy::choose(
        spec_overrides(spec),
        Overrides {
            framing: None,
            inert_prefix: None,
        },
        spec.command.clone(),
    )?;
    if spec.resume.is_some() {
        return Err(BrokerError::invalid(
            "resume",
            "resume needs a preset whose CLI can resume; a raw command cannot",
        ));
    }
    Ok(Launch {
        spawn: spec.spawn_spec(env),
        options,
        command_line: spec.command.join(" "),
        channels: spec.delivery.unwrap_or_default(),
        dialog_answers: Vec::new(),
        framing,
        interrupt_keys: spec
            .interrupt_keys
            .clone()
            .unwrap_or_else(|| courier_presets::CTRL_C.to_string()),
        context_low: context_low(&spec.context_low_patterns)?,
        resumed: false,
        protocol: spec.protocol.unwrap_or_default(),
        served: None,
    })
}

/// The extra arguments of a preset's CLI: its headless ones first for a
/// headless agent (a preset without any cannot run headless).
fn preset_args(
    spec: &AgentSpec,
    preset_name: &str,
    headless_args: &[String],
) -> Result<Vec<String>, BrokerError> {
    if !spec.headless {
        return Ok(spec.args.clone());
    }
    if headless_args.is_empty() {
        return Err(BrokerError::invalid(
            "headless",
            format!(
                "preset {preset_name} has no headless protocol (headless_args); run a command that speaks ACP, claude-stream-json or codex-app-server instead"
            ),
        ));
    }
    Ok([headless_args, spec.args.as_slice()].concat())
}

/// A preset resolved with the agent's identity: its program (installed),
/// its files written, its screen patterns merged with the spec's.
// Long: one preset's launch read top to bottom — resume, the plan, the
// files, the screen options, the environment, the framing — each step
// using the one before it.
fn with_preset(
    spec: &AgentSpec,
    preset_name: &str,
    identity: &Identity<'_>,
    env: Vec<(String, String)>,
    places: &Places<'_>,
    ready_fallback: std::time::Duration,
    restart: bool,
) -> Result<Launch, BrokerError> {
    let catalog = PresetCatalog::load(places.presets_file)?;
    let preset = catalog.get(preset_name)?;
    let workdir = match &spec.cwd {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()
            .map_err(|e| BrokerError::launch("read the broker's working directory", e))?,
    };
    let courier_exe =
        std::env::current_exe().map_err(|e| BrokerError::launch("find the courier binary", e))?;
    let can_continue = preset.resume.as_ref().is_some_and(|r| r.last.is_some());
    let resume = spec
        .resume_for(restart, can_continue)
        .map(|r| r.to_resume())
        .transpose()?;
    let resumed = resume.is_some();
    let launch_context = LaunchContext {
        agent_name: spec.name.clone(),
        courier_url: identity.url.unwrap_or_default().to_string(),
        token: identity.token.to_string(),
        courier_exe: courier_exe.clone(),
        workdir: workdir.clone(),
        extra_args: preset_args(spec, preset_name, &preset.headless_args)?,
        resume,
    };
    let plan = preset.launch(&launch_context)?;
    let program = check_installed(&plan, std::env::var_os("PATH").as_deref())?;
    warn_on_version_drift(&spec.name, preset_name, &program, &preset.cli_version);
    for file in &plan.files {
        write_planned(&workdir.join(&file.path), file)?;
    }
    let options = screen_options(
        ready_fallback,
        &plan.prompt_patterns,
        plan.dialog_patterns.iter().map(|d| d.pattern.as_str()),
        &plan.collapsed_paste_patterns,
    )
    .and_then(|o| {
        with_busy(
            o,
            &[plan.busy_patterns.as_slice(), spec.busy_patterns.as_slice()].concat(),
            &[plan.idle_patterns.as_slice(), spec.idle_patterns.as_slice()].concat(),
        )
    })?;
    let options = with_submit(options, Some(spec.submit.as_ref().unwrap_or(&plan.submit)));
    let tui = (program.display().to_string(), plan.args.clone());
    let served = match (
        &preset.served,
        spec.headless,
        spec.delivery.unwrap_or(plan.delivery),
    ) {
        (Some(settings), false, ChannelPolicy::Native) => {
            let socket = served::socket_for(places.state_dir, &spec.name)?;
            let server = preset.launch(&LaunchContext {
                extra_args: [
                    preset.headless_args.as_slice(),
                    &served::with_socket(&settings.server_args, &socket),
                ]
                .concat(),
                resume: None,
                ..launch_context.clone()
            })?;
            let server_program = check_installed(&server, std::env::var_os("PATH").as_deref())?;
            let args = served::launcher_args(
                &socket,
                (&server_program.display().to_string(), &server.args),
                (&tui.0, &tui.1),
                settings,
            );
            Some((
                Served {
                    socket,
                    protocol: spec.protocol.unwrap_or(preset.headless_protocol),
                },
                args,
            ))
        }
        _ => None,
    };
    let (spawn_program, spawn_args) = match &served {
        Some((_, args)) => (courier_exe.display().to_string(), args.clone()),
        None => tui.clone(),
    };
    let mut spawn = SpawnSpec::new(&spec.name, spawn_program)
        .args(spawn_args)
        .size(spec.rows, spec.cols)
        .cwd(workdir);
    for (k, v) in plan.env.iter().chain(spec.env.iter()) {
        spawn = spawn.env(k.clone(), v.clone());
    }
    for (k, v) in env {
        spawn = spawn.env(k, v);
    }
    let command_line = std::iter::once(plan.program.clone())
        .chain(plan.args.iter().map(|a| redact(a, identity.token)))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Launch {
        spawn,
        options,
        command_line,
        channels: spec.delivery.unwrap_or(plan.delivery),
        protocol: spec.protocol.unwrap_or(preset.headless_protocol),
        dialog_answers: plan
            .dialog_patterns
            .iter()
            .filter_map(|d| {
                let answer = d.answer.clone()?;
                Some((courier_terminal::compiled::shared(&d.pattern).ok()?, answer))
            })
            .collect(),
        framing: FramingPolicy::choose(
            spec_overrides(spec),
            Overrides {
                framing: plan.framing.as_deref().map(|v| ("the preset's framing", v)),
                inert_prefix: plan
                    .inert_prefix
                    .as_deref()
                    .map(|v| ("the preset's inert_prefix", v)),
            },
            std::iter::once(program.display().to_string())
                .chain(plan.args.iter().cloned())
                .collect(),
        )?,
        interrupt_keys: spec
            .interrupt_keys
            .clone()
            .unwrap_or_else(|| plan.interrupt_keys.clone()),
        context_low: context_low(
            &[
                plan.context_low_patterns.as_slice(),
                spec.context_low_patterns.as_slice(),
            ]
            .concat(),
        )?,
        resumed,
        served: served.map(|(served, _)| served),
    })
}

/// Delivery options from an agent's screen patterns (a spec's own, or its
/// preset's): any of `prompts` marks readiness, `dialogs` keep it not ready,
/// `collapsed` placeholders count as an echo.
fn screen_options<'a>(
    fallback: std::time::Duration,
    prompts: &[String],
    dialogs: impl IntoIterator<Item = &'a str>,
    collapsed: &[String],
) -> Result<DeliverOptions, TerminalError> {
    let mut readiness = ReadinessConfig {
        fallback,
        ..ReadinessConfig::default()
    };
    if !prompts.is_empty() {
        let any = prompts
            .iter()
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|");
        readiness = readiness.with_prompt(&any)?;
    }
    for dialog in dialogs {
        readiness = readiness.with_dialog(dialog)?;
    }
    let mut options = DeliverOptions {
        readiness,
        ..DeliverOptions::default()
    };
    for pattern in collapsed {
        options = options.with_collapsed(pattern)?;
    }
    Ok(options)
}

/// The busy patterns (a working status line) and the idle ones (what ends a
/// turn): see `courier_terminal::readiness::busy`.
fn with_busy(
    mut options: DeliverOptions,
    busy: &[String],
    idle: &[String],
) -> Result<DeliverOptions, TerminalError> {
    options.readiness = options.readiness.with_busy(busy, idle)?;
    Ok(options)
}

/// Logs a warning when the installed CLI is not the release the preset was
/// written for (checked off the spawn path: `--version` of a node CLI takes
/// a few hundred ms).
fn warn_on_version_drift(agent: &str, preset: &str, program: &Path, expected: &str) {
    let (agent, preset, program, expected) = (
        agent.to_string(),
        preset.to_string(),
        program.to_path_buf(),
        expected.to_string(),
    );
    let spawned = std::thread::Builder::new()
        .name("courier-cli-version".into())
        .spawn(move || {
            let Some(found) = super::cli_version::installed_version(&program) else {
                return;
            };
            if let Some(why) = super::cli_version::drift(&found, &expected) {
                tracing::warn!(%agent, %preset, cli = %program.display(), "CLI version drift: {why}");
            }
        });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "cannot check the CLI version");
    }
}

/// The composer's submit settings (checked when the spec or the preset was
/// accepted).
fn with_submit(mut options: DeliverOptions, submit: Option<&SubmitSettings>) -> DeliverOptions {
    if let Some(submit) = submit {
        options.enter_gap = std::time::Duration::from_millis(submit.enter_gap_ms);
        if let Some(keys) = &submit.keys {
            options.submit_keys = keys.as_bytes().to_vec();
        }
    }
    options
}

/// Hides the token in what is logged and shown in events.
fn redact(text: &str, token: &str) -> String {
    text.replace(token, "<token>")
}

fn write_planned(path: &Path, file: &courier_presets::PlannedFile) -> Result<(), BrokerError> {
    let io = |what: &str, e: std::io::Error| {
        BrokerError::launch(format!("{what} {}", path.display()), e)
    };
    let content = match std::fs::read_to_string(path) {
        Ok(existing) => file.merged_with(&existing)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => file.content.clone(),
        Err(e) => return Err(io("read", e)),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
    }
    if !content.contains("COURIER_TOKEN") {
        return std::fs::write(path, content).map_err(|e| io("write", e));
    }
    // The file holds an agent's token: only its owner may read it, from
    // before the token is in it (a new file is created 0600, an existing
    // one restricted first).
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if path.exists() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io("restrict the permissions of", e))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(content.as_bytes()))
        .map_err(|e| io("write", e))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use courier_presets::{FileFormat, PlannedFile};

    use super::write_planned;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_file_with_a_token_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let secret = PlannedFile {
            path: ".gemini/settings.json".into(),
            format: FileFormat::Json,
            mcp_key: "mcpServers".into(),
            content: r#"{"mcpServers":{"courier":{"env":{"COURIER_TOKEN":"t"}}}}"#.into(),
        };
        let new = dir.path().join("new/settings.json");
        write_planned(&new, &secret).unwrap();
        assert_eq!(mode(&new), 0o600);
        // An existing, world-readable file keeps its settings and loses the bits.
        let existing = dir.path().join("settings.json");
        std::fs::write(&existing, r#"{"model":"x"}"#).unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_planned(&existing, &secret).unwrap();
        assert_eq!(mode(&existing), 0o600);
        let merged: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&existing).unwrap()).unwrap();
        assert_eq!(merged["model"], "x");
        assert_eq!(merged["mcpServers"]["courier"]["env"]["COURIER_TOKEN"], "t");
    }
}
