//! Schemathesis (PyPI) against the broker's own OpenAPI document: it
//! generates requests for every operation from `GET /v1/openapi.json` and
//! checks that none is answered with a server error. `scripts/test.sh`
//! installs the pinned version into `target/pyenv`.
//!
//! `COURIER_SCHEMATHESIS_EXAMPLES` sets the examples per operation
//! (default 20).

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::Broker;

/// The venv's `schemathesis`: beside `COURIER_TEST_PYTHON` (set by
/// scripts/test.sh), else in the workspace's `target/pyenv`.
fn schemathesis() -> PathBuf {
    let from_python = std::env::var_os("COURIER_TEST_PYTHON")
        .map(PathBuf::from)
        .and_then(|p| p.parent().map(|bin| bin.join("schemathesis")));
    let in_workspace =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/schemathesis");
    from_python
        .into_iter()
        .chain([in_workspace])
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "schemathesis is not installed: run scripts/test.sh once (it installs the pinned \
                 version into target/pyenv), or `target/pyenv/bin/pip install schemathesis==4.32.5`"
            )
        })
}

#[test]
fn schemathesis_finds_no_server_error_in_the_documented_api() {
    let exe = schemathesis();
    let tmp = tempfile::tempdir().expect("temp dir");
    let broker = Broker::start(tmp.path(), &[]);
    broker.spawn_fake("st", &["--mode", "line"], &["team"]);
    broker.wait_ready("st");
    let examples = std::env::var("COURIER_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "20".into());
    let output = Command::new(&exe)
        .arg("run")
        .arg(format!("{}/v1/openapi.json", broker.url))
        .args(["--url", &broker.url])
        .args(["--checks", "not_a_server_error"])
        .args([
            "--header",
            &format!("Authorization: Bearer {}", broker.token),
        ])
        .args(["--max-examples", &examples])
        .args(["--workers", "1", "--seed", "1", "--no-color"])
        .args(["--generation-database", "none"])
        .args(["--request-timeout", "10"])
        // Stopping the broker or following a live stream is not a test of
        // input handling: those are covered by tests/api.rs.
        .args(["--exclude-path", "/v1/shutdown"])
        .args(["--exclude-path", "/v1/events/stream"])
        .args(["--exclude-path", "/v1/events/ws"])
        .current_dir(tmp.path())
        .env("SCHEMATHESIS_HOOKS", "")
        .stdin(Stdio::null())
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "schemathesis found problems ({}):\n{stdout}\n{stderr}\n--- broker log ---\n{}",
        output.status,
        broker.stderr()
    );
    // The broker survived it all.
    assert_eq!(broker.get_ok("/healthz")["status"], "ok");
    broker.stop_and_check();
}
