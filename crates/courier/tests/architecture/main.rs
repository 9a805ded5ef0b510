//! Architecture you can check (issue 20, items 6 and 7): tests that read the
//! repository itself, not the running program, so the documents and the
//! layering cannot drift from the code unnoticed.
//!
//! - `codemap`: every file or folder ARCHITECTURE.md names exists in the crate
//!   whose section names it, and every top-level module of every crate is named;
//! - `layering`: the workspace's dependencies (from `cargo metadata`) follow the
//!   order of ARCHITECTURE.md's crate headings, and `courier-core` stays pure;
//! - `module_graph`: the broker has no import cycle between its files or its
//!   components, and nothing below the facade imports it (figures in
//!   `docs/architecture-checks.md`);
//! - `ui_assets`: every dashboard file is embedded, the vendored xterm.js is
//!   the one its README records;
//! - `delivery_doc`: every event kind, delivery state and reason code core
//!   settles with is documented in `docs/delivery.md`.
//!
//! Run: `cargo test -p courier --test architecture -- --nocapture`.

mod codemap;
mod delivery_doc;
mod doc_model;
mod function_length;
mod layering;
mod module_graph;
mod ui_assets;

use std::path::{Path, PathBuf};

/// The workspace root: this crate lives at `crates/courier`.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A repository file as text; the test names the file when it is missing.
pub fn read_repo_file(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
