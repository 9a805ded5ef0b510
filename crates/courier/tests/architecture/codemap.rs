//! ARCHITECTURE.md's codemap kept true: (a) every file or folder it names
//! exists in the crate whose section names it, (b) every top-level module of
//! every crate is named in its crate's sections.

use std::collections::BTreeSet;
use std::path::Path;

use crate::doc_model::{Section, architecture_sections};
use crate::repo_root;

/// Every file and folder of a crate, relative to its folder (`src/api/auth.rs`,
/// `tests/hostile/`), build output and hidden folders left out.
fn crate_entries(crate_name: &str) -> BTreeSet<String> {
    let mut entries = BTreeSet::new();
    walk(
        &repo_root().join("crates").join(crate_name),
        "",
        &mut entries,
    );
    entries
}

fn walk(dir: &Path, prefix: &str, entries: &mut BTreeSet<String>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        let relative = format!("{prefix}{name}");
        if entry.path().is_dir() {
            entries.insert(format!("{relative}/"));
            walk(&entry.path(), &format!("{relative}/"), entries);
        } else {
            entries.insert(relative);
        }
    }
}

/// Whether `named` is one of `entries`, or the tail of one (`api/terminal.rs`
/// names `src/api/terminal.rs`; `tests/hostile/` names itself).
fn names_an_entry(named: &str, entries: &BTreeSet<String>) -> bool {
    entries
        .iter()
        .any(|e| e == named || e.ends_with(&format!("/{named}")))
}

#[test]
fn every_path_the_codemap_names_exists() {
    let mut missing = Vec::new();
    for section in architecture_sections() {
        let entries = crate_entries(&section.crate_name);
        let crate_prefix = format!("crates/{}/", section.crate_name);
        for named in &section.paths {
            let exists = if named == &format!("crates/{}", section.crate_name) {
                true
            } else if let Some(inside) = named.strip_prefix(&crate_prefix) {
                // A path from the repository's root, e.g. `crates/courier-broker/ui/`.
                entries.contains(inside)
            } else {
                !named.starts_with("crates/") && names_an_entry(named, &entries)
            };
            if !exists {
                missing.push(format!(
                    "ARCHITECTURE.md names `{named}` under {}, but no such file or folder exists \
                     in crates/{}/",
                    section.heading_path, section.crate_name
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// A crate's top-level modules: `src/*.rs` (not `lib.rs`, `main.rs`, nor a
/// module's unit tests `*_tests.rs`) and `src/*/` folders that are modules
/// (with a `mod.rs`; `src/bin/` holds binaries, not a module).
fn top_level_modules(crate_name: &str) -> BTreeSet<String> {
    let src = repo_root().join("crates").join(crate_name).join("src");
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", src.display()))
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            let is_module = path.join("mod.rs").exists() || src.join(format!("{name}.rs")).exists();
            if is_module {
                modules.insert(name);
            }
        } else if let Some(stem) = name.strip_suffix(".rs") {
            let skipped = matches!(stem, "lib" | "main") || stem.ends_with("_tests");
            if !skipped {
                modules.insert(stem.to_string());
            }
        }
    }
    modules
}

/// Whether one of a crate's sections names the top-level module `module`:
/// `module.rs`, `module/`, or a path inside it (`module/x.rs`), written from
/// `src/` or from the repository root.
fn section_names_module(section: &Section, module: &str) -> bool {
    let from_root = format!("crates/{}/src/", section.crate_name);
    section.paths.iter().any(|named| {
        let named = named
            .strip_prefix(&from_root)
            .or_else(|| named.strip_prefix("src/"))
            .unwrap_or(named);
        named == format!("{module}.rs") || named.starts_with(&format!("{module}/"))
    })
}

#[test]
fn every_top_level_module_is_named_in_its_crate_section() {
    let sections = architecture_sections();
    let crates_dir = repo_root().join("crates");
    let mut unnamed = Vec::new();
    let mut crate_names: Vec<String> = std::fs::read_dir(&crates_dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", crates_dir.display()))
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crate_names.sort();
    for crate_name in &crate_names {
        let own: Vec<&Section> = sections
            .iter()
            .filter(|s| &s.crate_name == crate_name)
            .collect();
        if own.is_empty() {
            unnamed.push(format!(
                "ARCHITECTURE.md has no `### `crates/{crate_name}`` section"
            ));
            continue;
        }
        for module in top_level_modules(crate_name) {
            if !own.iter().any(|s| section_names_module(s, &module)) {
                unnamed.push(format!(
                    "crates/{crate_name}/src/ has the module `{module}`, but ARCHITECTURE.md \
                     does not name `{module}.rs` or `{module}/` under crates/{crate_name}"
                ));
            }
        }
    }
    assert!(unnamed.is_empty(), "{}", unnamed.join("\n"));
}

/// A component's own section (`### \`crates/NAME/src/DIR/\``) names every
/// file of its folder (`mod.rs`, which only declares, aside): the codemap of
/// a component is complete, not a sample.
#[test]
fn every_file_of_a_component_is_named_in_its_section() {
    let mut unnamed = Vec::new();
    for section in architecture_sections() {
        let Some(folder) = section
            .heading_path
            .strip_prefix(&format!("crates/{}/src/", section.crate_name))
            .filter(|f| f.ends_with('/'))
        else {
            continue;
        };
        let dir = repo_root()
            .join("crates")
            .join(&section.crate_name)
            .join("src")
            .join(folder);
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_source = name.ends_with(".rs") && name != "mod.rs";
            let named = section
                .paths
                .iter()
                .any(|p| p == &name || p.ends_with(&format!("/{name}")));
            if is_source && !named {
                unnamed.push(format!(
                    "{}{name} is not named in ARCHITECTURE.md's section for {}",
                    section.heading_path, section.heading_path
                ));
            }
        }
    }
    unnamed.sort();
    assert!(unnamed.is_empty(), "{}", unnamed.join("\n"));
}
