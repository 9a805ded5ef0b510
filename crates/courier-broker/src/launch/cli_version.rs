//! Which version of an agent CLI is installed, against the version its
//! preset was written for: composers change between releases, so a drift is
//! worth a warning (in `courier doctor`, and in the log when it is spawned).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `<cli> --version` may take.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// The first `N.N[.N…]` in `text`.
pub fn parse_version(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .find(|t| t.contains('.') && t.split('.').all(|p| !p.is_empty()))
        .map(str::to_string)
}

fn numbers(version: &str) -> Vec<u64> {
    version.split('.').filter_map(|p| p.parse().ok()).collect()
}

/// Why `found` does not match what the preset says (`expected`, e.g.
/// `0.169.0` or `any bash >= 4`), or `None` when it does or the preset
/// names no version to compare with.
pub fn drift(found: &str, expected: &str) -> Option<String> {
    let found_n = numbers(found);
    if let Some((_, min)) = expected.split_once(">=") {
        let min = numbers(min.trim());
        return (!min.is_empty() && found_n < min).then(|| {
            format!(
                "{found} is older than the {} the preset needs",
                min_text(&min)
            )
        });
    }
    let want = parse_version(expected)?;
    (found_n != numbers(&want)).then(|| {
        format!(
            "{found} differs from {want}, the version the preset was written for; its screens and flags may have changed"
        )
    })
}

fn min_text(min: &[u64]) -> String {
    min.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}

/// Runs `program --version` (bounded by [`VERSION_TIMEOUT`]) and parses its
/// answer; `None` when it does not answer with a version.
pub fn installed_version(program: &Path) -> Option<String> {
    let (_, text) = run_briefly(program, &["--version".to_string()])?;
    parse_version(&text)
}

/// What `program args…` (a `--help`) prints, when it exits 0 within
/// [`VERSION_TIMEOUT`]: how `courier doctor` asks a CLI which modes it has.
pub fn help_answer(program: &Path, args: &[String]) -> Option<String> {
    let (success, text) = run_briefly(program, args)?;
    success.then_some(text)
}

/// Runs `program args…` with no input, killed after [`VERSION_TIMEOUT`]:
/// whether it exited 0, and its stdout then stderr.
fn run_briefly(program: &Path, args: &[String]) -> Option<(bool, String)> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + VERSION_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_what_clis_print() {
        assert_eq!(
            parse_version("codex-cli 0.169.0\n").as_deref(),
            Some("0.169.0")
        );
        assert_eq!(
            parse_version("GNU bash, version 5.2.15(1)-release").as_deref(),
            Some("5.2.15")
        );
        assert_eq!(
            parse_version("1.0.33 (Claude Code)").as_deref(),
            Some("1.0.33")
        );
        assert_eq!(parse_version("no version here 7"), None);
    }

    #[test]
    fn drift_is_a_different_release_or_below_a_minimum() {
        assert_eq!(drift("0.169.0", "0.169.0"), None);
        assert!(
            drift("0.170.1", "0.169.0")
                .unwrap()
                .contains("differs from 0.169.0")
        );
        assert_eq!(drift("5.2.15", "any bash >= 4"), None);
        assert!(
            drift("3.2.57", "any bash >= 4")
                .unwrap()
                .contains("older than the 4")
        );
        assert_eq!(drift("1.2.3", "unspecified"), None);
    }

    #[test]
    fn a_real_program_answers_and_a_missing_one_does_not() {
        assert!(installed_version(Path::new("bash")).is_some());
        assert_eq!(installed_version(Path::new("/nonexistent/cli")), None);
    }
}
