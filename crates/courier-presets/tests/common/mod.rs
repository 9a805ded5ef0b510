//! What the preset tests share: the fixed identity every launch plan is
//! made for.

use std::path::PathBuf;

use courier_presets::LaunchContext;

/// A fixed agent identity, so plans compare byte for byte.
pub fn ctx() -> LaunchContext {
    LaunchContext {
        agent_name: "alice".to_owned(),
        courier_url: "http://127.0.0.1:7777".to_owned(),
        token: "TOKEN".to_owned(),
        courier_exe: PathBuf::from("/usr/local/bin/courier"),
        workdir: PathBuf::from("/work/project"),
        extra_args: Vec::new(),
        resume: None,
    }
}
