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
    let program = Path::new(&plan.program);
    let found = if program.components().count() > 1 {
        is_executable(program).then(|| program.to_path_buf())
    } else {
        path.into_iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    };
    found.ok_or_else(|| PresetError::CliNotInstalled {
        cli: plan.program.clone(),
        preset: plan.preset.clone(),
        hint: plan.install_hint.clone(),
    })
}
