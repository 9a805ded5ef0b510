//! The broker's `clippy.toml` refuses every blocking `Store` method that
//! has an `_async` twin, and only those: a method the store adds later is
//! refused too, or this test says which is missing. Clippy itself then
//! fails on any use of one in the broker (the lint is denied in its
//! `Cargo.toml`), so async code never parks a runtime worker on SQLite.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const STORE_TYPE: &str = "courier_store::Store::";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The public methods of `impl Store` blocks (rustfmt puts such a block's
/// `impl Store {` and its closing `}` at the start of a line), as
/// (blocking names, names of `_async` forms without the suffix).
fn store_methods() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut files = Vec::new();
    rust_files(&manifest_dir().join("../courier-store/src"), &mut files);
    let method = regex::Regex::new(r"^\s+pub (async )?fn ([a-z0-9_]+)").expect("regex");
    let (mut blocking, mut twins) = (BTreeSet::new(), BTreeSet::new());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("store source");
        let mut in_store = false;
        for line in text.lines() {
            if line == "impl Store {" {
                in_store = true;
            } else if line == "}" {
                in_store = false;
            } else if in_store && let Some(m) = method.captures(line) {
                let name = m[2].to_string();
                match (m.get(1).is_some(), name.strip_suffix("_async")) {
                    (true, Some(twin_of)) => twins.insert(twin_of.to_string()),
                    (true, None) => false, // async only: nothing to refuse
                    (false, _) => blocking.insert(name),
                };
            }
        }
    }
    (blocking, twins)
}

/// The `Store` methods the broker's `clippy.toml` refuses.
fn disallowed() -> BTreeSet<String> {
    let path = manifest_dir().join("clippy.toml");
    let text = std::fs::read_to_string(&path).expect("clippy.toml");
    let config: toml::Table = text.parse().expect("clippy.toml is TOML");
    let entries = config
        .get("disallowed-methods")
        .and_then(|v| v.as_array())
        .expect("disallowed-methods list");
    entries
        .iter()
        .map(|entry| {
            let path = entry
                .get("path")
                .and_then(|p| p.as_str())
                .expect("each entry has a path");
            let reason = entry.get("reason").and_then(|r| r.as_str());
            assert!(
                reason.is_some_and(|r| r.contains("_async")),
                "{path}: the reason points to the _async form"
            );
            path.strip_prefix(STORE_TYPE)
                .unwrap_or_else(|| panic!("{path}: only Store methods are refused here"))
                .to_string()
        })
        .collect()
}

#[test]
fn clippy_refuses_exactly_the_blocking_store_methods_with_an_async_twin() {
    let (blocking, twins) = store_methods();
    let refusable: BTreeSet<String> = blocking.intersection(&twins).cloned().collect();
    assert!(
        refusable.contains("pending") && refusable.contains("append_event"),
        "the scan finds the store's methods: {refusable:?}"
    );
    let refused = disallowed();
    let missing: Vec<_> = refusable.difference(&refused).collect();
    assert!(
        missing.is_empty(),
        "add to crates/courier-broker/clippy.toml: {missing:?}"
    );
    let stale: Vec<_> = refused.difference(&refusable).collect();
    assert!(
        stale.is_empty(),
        "not a blocking Store method with an _async twin (any more): {stale:?}"
    );
}

#[test]
fn the_refusal_is_an_error_not_a_warning() {
    let text = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).expect("Cargo.toml");
    let manifest: toml::Table = text.parse().expect("Cargo.toml is TOML");
    let level = manifest
        .get("lints")
        .and_then(|l| l.get("clippy"))
        .and_then(|c| c.get("disallowed_methods"))
        .and_then(|v| v.as_str());
    assert_eq!(level, Some("deny"), "[lints.clippy] disallowed_methods");
}
