//! The crate layering of ARCHITECTURE.md ("a crate may depend only on crates
//! above it in this list") checked against `cargo metadata`, and the pure
//! core kept free of I/O crates.

use std::collections::BTreeMap;
use std::process::Command;

use crate::doc_model::architecture_sections;
use crate::repo_root;

/// The workspace's packages and their normal (not dev, not build)
/// dependencies, from the real `cargo metadata`.
fn normal_dependencies() -> BTreeMap<String, Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(&cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo} metadata: {e}"));
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let packages = metadata["packages"].as_array().expect("a packages list");
    packages
        .iter()
        .map(|package| {
            let name = package["name"]
                .as_str()
                .expect("a package name")
                .to_string();
            let dependencies = package["dependencies"]
                .as_array()
                .expect("a dependencies list")
                .iter()
                // `kind` is null for a normal dependency, "dev" or "build" otherwise.
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str().map(str::to_string))
                .collect();
            (name, dependencies)
        })
        .collect()
}

/// The crates in ARCHITECTURE.md's order, from its `### \`crates/NAME\`` headings.
fn documented_order() -> Vec<String> {
    architecture_sections()
        .into_iter()
        .filter(|s| s.is_crate_heading())
        .map(|s| s.crate_name)
        .collect()
}

#[test]
fn workspace_dependencies_follow_the_documented_order() {
    let order = documented_order();
    let dependencies = normal_dependencies();
    let mut wrong = Vec::new();
    for package in dependencies.keys() {
        if !order.contains(package) {
            wrong.push(format!(
                "the workspace crate {package} has no `### `crates/{package}`` heading in \
                 ARCHITECTURE.md, so its place in the layering is unknown"
            ));
        }
    }
    for (position, package) in order.iter().enumerate() {
        let Some(deps) = dependencies.get(package) else {
            wrong.push(format!(
                "ARCHITECTURE.md has a heading for crates/{package}, which is not a workspace crate"
            ));
            continue;
        };
        for dep in deps.iter().filter(|d| dependencies.contains_key(*d)) {
            let dep_position = order.iter().position(|o| o == dep);
            if dep_position.is_none_or(|p| p >= position) {
                wrong.push(format!(
                    "{package} depends on {dep}, but ARCHITECTURE.md lists {dep} below \
                     {package} (a crate may depend only on crates above it)"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn core_depends_on_no_runtime_storage_terminal_or_http_crate() {
    let dependencies = normal_dependencies();
    let core = dependencies
        .get("courier-core")
        .expect("courier-core is a workspace crate");
    let forbidden = |d: &str| {
        matches!(
            d,
            "tokio" | "rusqlite" | "axum" | "hyper" | "reqwest" | "portable-pty" | "nix"
        ) || d.contains("pty")
            || d.contains("sqlite")
    };
    let found: Vec<&String> = core.iter().filter(|d| forbidden(d)).collect();
    assert!(
        found.is_empty(),
        "courier-core must do no I/O, but depends on {found:?}"
    );
}
