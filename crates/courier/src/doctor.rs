//! `courier doctor`: finds setup problems before a spawn fails. Each check
//! says ok, warn or fail, with a hint of what to do; `--json` for scripts;
//! the exit code is 1 when any check fails (also on a warning with
//! `--strict`).
//!
//! Checks: the state directory (exists, not readable by others, the
//! connection file 0600), its lock (a broker running, or free), the store
//! (SQLite's quick_check on a read-only connection, safe beside a running
//! broker), the broker's port (answers `/healthz`, or is free for the next
//! start), and every preset (its CLI on PATH, its version against the one
//! the preset was written for, a sign-in hint, and which delivery channels
//! the installed CLI supports: keystrokes, hooks, native — its headless
//! mode asked for with `--help`); with `--nats`, the
//! workspace's NATS server (answers, JetStream on, writes synced).

use std::fs::OpenOptions;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use courier_broker::launch::cli_version::{drift, help_answer, installed_version};
use courier_broker::state_dir::{
    CONNECTION_FILE, ConnectionInfo, DB_FILE, LOCK_FILE, default_state_dir,
};
use courier_presets::{Preset, PresetCatalog, channel_support, find_cli, native_question};
use serde::Serialize;

use crate::cli::{DoctorArgs, Global};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub level: Level,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn check(name: &str, level: Level, detail: impl Into<String>, hint: Option<String>) -> Check {
    Check {
        name: name.to_string(),
        level,
        detail: detail.into(),
        hint,
    }
}

fn mode_of(path: &Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

fn state_dir_checks(dir: &Path) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(mode) = mode_of(dir) else {
        out.push(check(
            "state_dir",
            Level::Warn,
            format!("{} does not exist yet", dir.display()),
            Some("`courier up` creates it".into()),
        ));
        return out;
    };
    out.push(if mode & 0o077 != 0 {
        check(
            "state_dir",
            Level::Warn,
            format!("{} is mode {mode:o}: others can list it", dir.display()),
            Some(format!("chmod 700 {}", dir.display())),
        )
    } else {
        check("state_dir", Level::Ok, dir.display().to_string(), None)
    });
    let conn = dir.join(CONNECTION_FILE);
    if let Some(mode) = mode_of(&conn) {
        out.push(if mode & 0o077 != 0 {
            check(
                "connection_file",
                Level::Fail,
                format!(
                    "{} is mode {mode:o}: others can read the owner's token",
                    conn.display()
                ),
                Some(format!(
                    "chmod 600 {} and restart the broker (a new token)",
                    conn.display()
                )),
            )
        } else {
            check("connection_file", Level::Ok, "mode 600", None)
        });
    }
    out
}

/// Whether a broker holds the lock (its pid), from a shared try-lock that
/// is let go at once.
fn lock_check(dir: &Path) -> Check {
    let path = dir.join(LOCK_FILE);
    let Ok(file) = OpenOptions::new().read(true).open(&path) else {
        return check("lock", Level::Ok, "free (no broker has run here)", None);
    };
    let pid = std::fs::read_to_string(&path).unwrap_or_default();
    let pid = pid.trim();
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            check("lock", Level::Ok, "free: no broker is running", None)
        }
        Err(std::fs::TryLockError::WouldBlock) => check(
            "lock",
            Level::Ok,
            format!("held by the running broker (pid {pid})"),
            None,
        ),
        Err(std::fs::TryLockError::Error(e)) => check(
            "lock",
            Level::Fail,
            format!("cannot read the lock {}: {e}", path.display()),
            Some("check the state directory's owner and permissions".into()),
        ),
    }
}

fn store_check(dir: &Path) -> Check {
    let path = dir.join(DB_FILE);
    if !path.exists() {
        return check("store", Level::Ok, "no store yet", None);
    }
    match courier_store::quick_check(&path, 10) {
        Ok(problems) if problems.is_empty() => {
            check("store", Level::Ok, format!("{} passes quick_check", path.display()), None)
        }
        Ok(problems) => check(
            "store",
            Level::Fail,
            format!("{}: {}", path.display(), problems.join("; ")),
            Some("stop the broker and keep a copy of the file before anything else".into()),
        ),
        Err(e) => check(
            "store",
            Level::Fail,
            e.to_string(),
            Some("the file is not a readable Courier store: move it aside to start afresh (its deliveries are lost)".into()),
        ),
    }
}

fn port_check(dir: &Path, running: bool) -> Option<Check> {
    let info = ConnectionInfo::read(dir).ok()?;
    let addr = info.url.trim_start_matches("http://").to_string();
    Some(if running {
        match std::net::TcpStream::connect_timeout(
            &addr.parse().ok()?,
            std::time::Duration::from_secs(2),
        ) {
            Ok(_) => check(
                "port",
                Level::Ok,
                format!("the broker listens on {addr}"),
                None,
            ),
            Err(e) => check(
                "port",
                Level::Fail,
                format!("the broker holds the lock but {addr} refuses: {e}"),
                Some("look at the broker's log; `courier down` and start it again".into()),
            ),
        }
    } else {
        match std::net::TcpListener::bind(&addr) {
            Ok(_) => check(
                "port",
                Level::Ok,
                format!("{addr} is free for the next start"),
                None,
            ),
            Err(e) => check(
                "port",
                Level::Warn,
                format!(
                    "the last port {addr} is taken ({e}): the next start picks another, and agents' COURIER_URL changes"
                ),
                None,
            ),
        }
    })
}

fn preset_checks(presets_file: Option<&Path>) -> Vec<Check> {
    let catalog = match PresetCatalog::load(presets_file) {
        Ok(c) => c,
        Err(e) => {
            return vec![check(
                "presets",
                Level::Fail,
                e.to_string(),
                Some("fix the preset file it names".into()),
            )];
        }
    };
    let path = std::env::var_os("PATH");
    let mut out = Vec::new();
    for preset in catalog.iter() {
        let name = format!("preset {}", preset.name);
        let program = match find_cli(preset, path.as_deref()) {
            Ok(program) => program,
            Err(_) => {
                out.push(check(
                    &name,
                    Level::Ok,
                    format!(
                        "`{}` not installed (not needed unless you spawn it)",
                        preset.command
                    ),
                    Some(preset.install_hint.clone()),
                ));
                continue;
            }
        };
        let sign_in = preset
            .dialog_patterns
            .iter()
            .find(|d| d.reason.contains("sign in") || d.reason.contains("signed in"))
            .map(|d| d.reason.clone());
        let found = installed_version(&program);
        out.push(
            match (
                &found,
                found.as_deref().and_then(|v| drift(v, &preset.cli_version)),
            ) {
                (_, Some(why)) => check(
                    &name,
                    Level::Warn,
                    format!("{}: {why}", program.display()),
                    sign_in,
                ),
                (Some(v), None) => check(
                    &name,
                    Level::Ok,
                    format!(
                        "{} {v} (preset written for {})",
                        program.display(),
                        preset.cli_version
                    ),
                    sign_in,
                ),
                (None, None) => check(
                    &name,
                    Level::Warn,
                    format!("{} gave no version with --version", program.display()),
                    sign_in,
                ),
            },
        );
        out.push(channel_check(preset, &program));
    }
    out
}

/// Which channels the installed CLI supports: keystrokes always, hooks
/// when the preset wires them, native when the CLI still answers for its
/// headless mode (asked with `--help`). A preset whose headless mode the
/// CLI no longer offers is a warning; one without any is not.
fn channel_check(preset: &Preset, program: &Path) -> Check {
    let answer = native_question(preset).and_then(|q| help_answer(program, &q.args));
    let support = channel_support(preset, answer.as_deref());
    let detail = support
        .iter()
        .map(|c| {
            let mark = if c.supported { "yes" } else { "no" };
            format!("{} {mark} ({})", c.channel, c.why)
        })
        .collect::<Vec<_>>()
        .join("; ");
    let lost_native = !preset.headless_args.is_empty()
        && support
            .iter()
            .any(|c| c.channel == "native" && !c.supported);
    let (level, hint) = if lost_native {
        let hint = format!(
            "courier spawn {} --headless will fail; the preset was read for {} {}",
            preset.name, preset.command, preset.cli_version
        );
        (Level::Warn, Some(hint))
    } else {
        (Level::Ok, None)
    };
    check(
        &format!("preset {} channels", preset.name),
        level,
        detail,
        hint,
    )
}

/// Every check, in the order printed.
pub fn run_checks(state_dir: &Path, presets_file: Option<&Path>) -> Vec<Check> {
    let mut checks = state_dir_checks(state_dir);
    let lock = lock_check(state_dir);
    let running = lock.detail.starts_with("held");
    checks.push(lock);
    checks.push(store_check(state_dir));
    checks.extend(port_check(state_dir, running));
    checks.extend(preset_checks(presets_file));
    checks
}

/// The workspace's NATS server, when `--nats` (or `COURIER_NATS_URL`) names one.
fn nats_checks(args: &DoctorArgs, state_dir: &Path) -> anyhow::Result<Vec<Check>> {
    use courier_broker::federation::FindingLevel;
    let Some(config) = crate::up::federation_config(&args.nats, state_dir)? else {
        return Ok(Vec::new());
    };
    // `courier` runs its commands inside a multi-threaded runtime.
    let probe = courier_broker::federation::probe(&config);
    let findings =
        tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(probe));
    Ok(findings
        .into_iter()
        .map(|f| {
            let level = match f.level {
                FindingLevel::Ok => Level::Ok,
                FindingLevel::Warn => Level::Warn,
                FindingLevel::Fail => Level::Fail,
            };
            check(f.name, level, f.detail, f.hint)
        })
        .collect())
}

/// For a running broker: how a message to each agent would be framed now
/// and why (from the program reading its terminal), one line per agent.
fn framing_checks(g: &Global, running: bool) -> Vec<Check> {
    if !running {
        return Vec::new();
    }
    let listing = crate::client::Client::connect(g).and_then(|client| {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(client.get("/v1/agents"))
        })
    });
    let agents = match listing {
        Ok(v) => match crate::client::decode::<courier_protocol::agents::AgentList>(
            &v,
            "the agent listing",
        ) {
            Ok(list) => list.agents,
            Err(e) => {
                return vec![check("framing", Level::Warn, format!("{e:#}"), None)];
            }
        },
        Err(e) => {
            return vec![check(
                "framing",
                Level::Warn,
                format!("cannot list the agents: {e:#}"),
                None,
            )];
        }
    };
    agents
        .iter()
        .filter(|a| a.remote != Some(true))
        .map(|a| {
            let framing = a.status.as_ref().and_then(|s| s.framing.as_ref());
            let detail = match framing {
                Some(f) => format!("{} — {}", f.framing, f.why),
                None => "unknown (the agent has exited)".to_string(),
            };
            check(&format!("framing {}", a.name), Level::Ok, detail, None)
        })
        .collect()
}

pub fn run(g: &Global, args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let dir = g.state_dir.clone().unwrap_or_else(default_state_dir);
    let presets = courier_broker::config::default_presets_file();
    let mut checks = run_checks(&dir, presets.as_deref());
    let running = checks
        .iter()
        .any(|c| c.name == "lock" && c.detail.starts_with("held"));
    checks.extend(framing_checks(g, running));
    checks.extend(nats_checks(args, &dir)?);
    let worst = checks.iter().map(|c| c.level).max().unwrap_or(Level::Ok);
    if g.json {
        crate::output::json(&serde_json::json!({"checks": checks, "worst": worst}));
    } else {
        for c in &checks {
            let mark = match c.level {
                Level::Ok => "ok  ",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            // Details quote programs' output (a CLI's `--version`).
            println!(
                "{mark} {:<18} {}",
                crate::output::line(&c.name),
                crate::output::line(&c.detail)
            );
            if let (Some(hint), true) = (&c.hint, c.level != Level::Ok) {
                println!("     {:<18} hint: {}", "", crate::output::line(hint));
            }
        }
    }
    let failed = worst == Level::Fail || (args.strict && worst == Level::Warn);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
