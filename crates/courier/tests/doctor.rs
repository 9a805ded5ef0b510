//! `courier doctor` on state directories with problems and on a healthy,
//! running broker: real files, a real broker, a real CLI on PATH.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::Value;

fn doctor(state: &Path, path_env: &str, extra: &[&str]) -> (Output, Value) {
    let out = courier_command()
        .arg("--state-dir")
        .arg(state)
        .args(["doctor", "--json"])
        .args(extra)
        .env("PATH", path_env)
        .env_remove("COURIER_PRESETS")
        .env("XDG_CONFIG_HOME", state.join("no-config"))
        .output()
        .expect("run courier doctor");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, v)
}

fn level<'a>(v: &'a Value, name: &str) -> &'a str {
    v["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .and_then(|c| c["level"].as_str())
        .unwrap_or_else(|| panic!("no check {name} in {v}"))
}

fn detail<'a>(v: &'a Value, name: &str) -> &'a str {
    v["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .and_then(|c| c["detail"].as_str())
        .unwrap_or_default()
}

/// A `codex` that answers `--version` with a release the preset was not
/// written for.
fn old_codex(bin: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    let script = bin.join("codex");
    std::fs::write(&script, "#!/bin/sh\necho 'codex-cli 0.1.0'\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_state_dir_with_problems_fails_and_says_what_to_do() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(state.join("courier.db"), vec![0x42u8; 8192]).unwrap();
    let conn = state.join("connection.json");
    std::fs::write(&conn, r#"{"url":"http://127.0.0.1:9","token":"t","pid":1}"#).unwrap();
    std::fs::set_permissions(&conn, std::fs::Permissions::from_mode(0o644)).unwrap();
    let bin = root.path().join("bin");
    old_codex(&bin);
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let (out, v) = doctor(&state, &path, &[]);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["worst"], "fail");
    assert_eq!(level(&v, "state_dir"), "warn");
    assert_eq!(level(&v, "connection_file"), "fail");
    assert_eq!(level(&v, "store"), "fail");
    assert_eq!(level(&v, "lock"), "ok");
    assert_eq!(level(&v, "preset codex"), "warn");
    assert!(detail(&v, "preset codex").contains("0.1.0 differs"), "{v}");
    // A CLI that is not installed is not a problem.
    assert_eq!(level(&v, "preset claude"), "ok");
}

#[test]
fn a_healthy_running_broker_passes_and_strict_fails_on_a_warning() {
    let root = tempfile::tempdir().unwrap();
    let broker = Broker::start(root.path(), &[]);
    let (out, v) = doctor(&broker.state_dir, "/usr/bin:/bin", &[]);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert!(
        detail(&v, "lock").contains(&format!("pid {}", broker.pid)),
        "{v}"
    );
    assert_eq!(level(&v, "store"), "ok");
    assert_eq!(level(&v, "port"), "ok");
    assert_eq!(level(&v, "connection_file"), "ok");
    // The same, with a drifted CLI on PATH: a warning, fatal only if strict.
    let bin = root.path().join("bin");
    old_codex(&bin);
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let (out, v) = doctor(&broker.state_dir, &path, &[]);
    assert_eq!(
        (out.status.code(), level(&v, "preset codex")),
        (Some(0), "warn")
    );
    let (out, _) = doctor(&broker.state_dir, &path, &["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    // Plain output names every check.
    let plain = courier_command()
        .arg("--state-dir")
        .arg(&broker.state_dir)
        .arg("doctor")
        .env("PATH", &path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(text.contains("WARN preset codex"), "{text}");
    assert!(text.contains("hint:"), "{text}");
}

#[test]
fn with_nats_it_checks_the_server_jetstream_and_its_sync_and_fails_when_it_is_gone() {
    let root = tempfile::tempdir().unwrap();
    let mut nats = common::nats::NatsServer::start(&root.path().join("nats"));
    let state = root.path().join("state");
    let (url, monitor) = (nats.url(), nats.monitor_url());
    let args = ["--nats", &url, "--nats-monitor", &monitor];
    let (_, v) = doctor(&state, "/usr/bin:/bin", &args);
    assert_eq!(level(&v, "nats"), "ok", "{v}");
    assert_eq!(level(&v, "jetstream"), "ok", "{v}");
    // The harness's server syncs every write, as docs/federation.md says.
    assert_eq!(level(&v, "jetstream sync"), "ok", "{v}");
    assert!(detail(&v, "jetstream sync").contains("always"), "{v}");
    // Nothing is created on the server by a check.
    assert_eq!(nats.monitor("jsz")["streams"], 0, "{}", nats.monitor("jsz"));
    nats.stop();
    let (out, v) = doctor(&state, "/usr/bin:/bin", &args);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(level(&v, "nats"), "fail", "{v}");
    let names: Vec<&str> = v["checks"]
        .as_array()
        .map(|cs| cs.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        !names.contains(&"jetstream"),
        "nothing is checked past a server that does not answer: {v}"
    );
}

/// Writes an executable `bin/name` running `body` (sh).
fn fake_cli(bin: &Path, name: &str, body: &str) {
    std::fs::create_dir_all(bin).unwrap();
    let script = bin.join(name);
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn channels_are_asked_of_the_installed_cli() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let bin = root.path().join("bin");
    // A codex whose `app-server` answers its --help; a gemini whose --help
    // no longer lists --acp; a claude that lists every stream-json flag.
    fake_cli(
        &bin,
        "codex",
        "[ \"$1\" = app-server ] && { echo 'Run the app server'; exit 0; }\n\
         [ \"$1\" = --version ] && { echo 'codex-cli 0.171.0'; exit 0; }\nexit 2",
    );
    fake_cli(
        &bin,
        "gemini",
        "[ \"$1\" = --version ] && { echo 0.61.0; exit 0; }\necho '  --acpx  not it'",
    );
    fake_cli(
        &bin,
        "claude",
        "[ \"$1\" = --version ] && { echo '2.1.197 (Claude Code)'; exit 0; }\n\
         echo '-p --input-format --output-format --verbose --replay-user-messages'",
    );
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let (_, v) = doctor(&state, &path, &[]);
    assert_eq!(level(&v, "preset codex channels"), "ok", "{v}");
    let codex = detail(&v, "preset codex channels");
    assert!(codex.contains("native yes (codex-app-server"), "{codex}");
    assert!(codex.contains("keystrokes yes"), "{codex}");
    assert_eq!(level(&v, "preset gemini channels"), "warn", "{v}");
    let gemini = detail(&v, "preset gemini channels");
    assert!(
        gemini.contains("native no") && gemini.contains("--acp"),
        "{gemini}"
    );
    let claude = detail(&v, "preset claude channels");
    assert!(
        claude.contains("hooks yes") && claude.contains("native yes"),
        "{claude}"
    );
    // A preset with no headless mode is not a warning.
    assert_eq!(level(&v, "preset shell channels"), "ok", "{v}");
}
