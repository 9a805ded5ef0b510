//! Whether a plan's program can be found, with a message naming the CLI when it cannot.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::error::PresetError;
use crate::plan::LaunchPlan;

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = path.metadata() else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// Finds `plan.program` on `path` (a PATH-style list, e.g. `std::env::var_os("PATH")`), or
/// checks it directly when it holds a `/`. Returns the resolved path, or
/// [`PresetError::CliNotInstalled`] naming the CLI, the preset and how to install it.
pub fn check_installed(plan: &LaunchPlan, path: Option<&OsStr>) -> Result<PathBuf, PresetError> {
    find(&plan.program, &plan.preset, &plan.install_hint, path)
}

/// [`check_installed`] for a preset's own command, before any plan is made
/// (`courier doctor`).
pub fn find_cli(preset: &crate::Preset, path: Option<&OsStr>) -> Result<PathBuf, PresetError> {
    find(&preset.command, &preset.name, &preset.install_hint, path)
}

fn find(
    program_name: &str,
    preset: &str,
    hint: &str,
    path: Option<&OsStr>,
) -> Result<PathBuf, PresetError> {
    let program = Path::new(program_name);
    let found = if program.components().count() > 1 {
        is_executable(program).then(|| program.to_path_buf())
    } else {
        path.into_iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    };
    found.ok_or_else(|| PresetError::CliNotInstalled {
        cli: program_name.to_string(),
        preset: preset.to_string(),
        hint: hint.to_string(),
    })
}
