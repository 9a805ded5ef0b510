//! The dashboard's files (issue 20, item 7): every file under
//! `crates/courier-broker/ui/` is embedded by `src/ui/assets.rs` (an `asset!`
//! entry), and the vendored xterm.js is the one whose SHA-256 its README records.

use std::collections::BTreeSet;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{read_repo_file, repo_root};

const UI_DIR: &str = "crates/courier-broker/ui";
const XTERM_DIR: &str = "crates/courier-broker/ui/vendor/xterm";

/// Files that document the folder and are not served.
fn is_documentation(relative: &str) -> bool {
    relative == "vendor/xterm/README.md"
}

fn files_under(dir: &Path, prefix: &str, files: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("{prefix}{name}");
        if entry.path().is_dir() {
            files_under(&entry.path(), &format!("{relative}/"), files);
        } else if !is_documentation(&relative) {
            files.insert(relative);
        }
    }
}

/// The paths of the `asset!("path", type)` entries.
fn embedded_paths() -> BTreeSet<String> {
    read_repo_file("crates/courier-broker/src/ui/assets.rs")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("asset!(\""))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_dashboard_file_is_embedded_and_every_entry_exists() {
    let mut on_disk = BTreeSet::new();
    files_under(&repo_root().join(UI_DIR), "", &mut on_disk);
    let embedded = embedded_paths();
    assert!(
        !embedded.is_empty(),
        "no asset!(…) entry found in src/ui/assets.rs"
    );
    let mut wrong = Vec::new();
    for file in on_disk.difference(&embedded) {
        wrong.push(format!(
            "{UI_DIR}/{file} is not embedded: add an asset!(\"{file}\", …) entry to \
             crates/courier-broker/src/ui/assets.rs, or remove the file"
        ));
    }
    for entry in embedded.difference(&on_disk) {
        wrong.push(format!(
            "src/ui/assets.rs embeds \"{entry}\", but {UI_DIR}/{entry} does not exist"
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The README's table rows: `| \`file\` | from | \`sha256\` |`.
fn recorded_checksums() -> Vec<(String, String)> {
    read_repo_file(&format!("{XTERM_DIR}/README.md"))
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let file = cells.get(1)?.trim_matches('`');
            let sha = cells.get(3)?.trim_matches('`');
            let is_sha = sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit());
            is_sha.then(|| (file.to_string(), sha.to_lowercase()))
        })
        .collect()
}

#[test]
fn vendored_xterm_matches_the_recorded_checksums() {
    let readme = read_repo_file(&format!("{XTERM_DIR}/README.md"));
    assert!(
        readme.contains("**version "),
        "{XTERM_DIR}/README.md must record the vendored version as **version X.Y.Z**"
    );
    let recorded = recorded_checksums();
    let mut vendored = BTreeSet::new();
    files_under(&repo_root().join(XTERM_DIR), "", &mut vendored);
    // The README records the files; it is not one of them.
    vendored.remove("README.md");
    let recorded_files: BTreeSet<String> = recorded.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(
        recorded_files, vendored,
        "{XTERM_DIR}/README.md must record a SHA-256 for every vendored file"
    );
    for (file, sha) in &recorded {
        let bytes = std::fs::read(repo_root().join(XTERM_DIR).join(file))
            .unwrap_or_else(|e| panic!("cannot read {XTERM_DIR}/{file}: {e}"));
        let actual: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            &actual, sha,
            "{XTERM_DIR}/{file} has SHA-256 {actual}, but its README records {sha}: the \
             vendored file changed without an upgrade (see the README's upgrade steps)"
        );
    }
}
