//! The broker's module import graph, from its `use crate::…` / `use super::…`
//! lines and paths written inline, and its strongly connected components
//! (Tarjan). The broker has no import cycle between its modules (files), none
//! between its components (top-level modules: `agents`, `delivery`, …), and
//! no component imports the facade (`broker`) but the entry points above it.
//! Figures and how to read them: `docs/architecture-checks.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::repo_root;

/// The only modules that may import the facade (`crate::broker`): the entry
/// points above it (the HTTP API, the dashboard, the server).
const ABOVE_THE_FACADE: [&str; 3] = ["api", "ui", "server"];

/// A crate's modules, one per file (`api::auth` for `src/api/auth.rs`,
/// `api` for `src/api/mod.rs`), with the text of each outside its unit tests.
/// The crate root (`lib.rs`) is left out: it declares and re-exports, so
/// counting it would put every re-exported module in one cycle with it.
fn modules_of(src: &Path) -> BTreeMap<String, String> {
    let mut modules = BTreeMap::new();
    collect_modules(src, "", &mut modules);
    modules
}

fn collect_modules(dir: &Path, prefix: &str, modules: &mut BTreeMap<String, String>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "bin" {
                collect_modules(&path, &format!("{prefix}{name}::"), modules);
            }
            continue;
        }
        let Some(stem) = name.strip_suffix(".rs") else {
            continue;
        };
        let module = match stem {
            "lib" | "main" if prefix.is_empty() => continue,
            "mod" => prefix.trim_end_matches("::").to_string(),
            _ => format!("{prefix}{stem}"),
        };
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        modules.insert(module, without_unit_tests(&text));
    }
}

/// The text before `#[cfg(test)] mod …`: a unit test importing a module is
/// not a dependency of the program.
fn without_unit_tests(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod "))
        .unwrap_or(lines.len());
    lines[..end].join("\n")
}

/// The `use` statements of a file, each as one string without `pub` and `;`.
fn use_statements(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_none() {
            let body = trimmed
                .strip_prefix("pub(crate) use ")
                .or_else(|| trimmed.strip_prefix("pub(super) use "))
                .or_else(|| trimmed.strip_prefix("pub use "))
                .or_else(|| trimmed.strip_prefix("use "));
            current = body.map(str::to_string);
        } else if let Some(open) = current.as_mut() {
            open.push(' ');
            open.push_str(trimmed);
        }
        if let Some(done) = current.take_if(|s| s.ends_with(';')) {
            statements.push(done.trim_end_matches(';').to_string());
        }
    }
    statements
}

/// Paths written in code outside `use` lines (`crate::broker::Inner::new()`,
/// `super::X`, `child::f()` in a folder's `mod.rs`): a dependency as real as
/// an import. Comments are skipped; paths into other crates resolve to nothing.
fn inline_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for line in text.lines().map(str::trim_start) {
        let is_use = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .any(|p| line.starts_with(p));
        if is_use || line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("::") {
            // Walk back from the first `::` to the start of the path.
            let start = rest[..at]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let path: String = rest[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            rest = &rest[start + path.len().max(1)..];
            paths.push(path);
        }
    }
    paths
}

/// `crate::a::{b::C, d as E}` → `crate::a::b::C`, `crate::a::d`.
fn expand_use_tree(tree: &str) -> Vec<String> {
    // `as` marks an alias; mark it before spaces go, so `base` stays whole.
    let tree: String = tree
        .replace(" as ", "@")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut paths = Vec::new();
    expand_into("", &tree, &mut paths);
    paths
}

fn expand_into(prefix: &str, tree: &str, paths: &mut Vec<String>) {
    let Some(open) = tree.find('{') else {
        let path = tree.split('@').next().unwrap_or(tree);
        let path = format!("{prefix}{path}");
        paths.push(path.trim_end_matches("::self").to_string());
        return;
    };
    let close = tree.rfind('}').unwrap_or(tree.len());
    let head = format!("{prefix}{}", &tree[..open]);
    let mut depth = 0;
    let mut start = open + 1;
    for (i, c) in tree.char_indices().take(close).skip(open + 1) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand_into(&head, &tree[start..i], paths);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < close {
        expand_into(&head, &tree[start..close], paths);
    }
}

/// The module an import path lands in: its longest prefix that is a module.
fn target_module(importer: &str, path: &str, modules: &BTreeMap<String, String>) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<&str> = match segments.first().copied() {
        Some("crate") => {
            segments.remove(0);
            Vec::new()
        }
        Some("super") | Some("self") => {
            // A `mod.rs` module is its folder; its `super` is the folder's parent.
            let mut base: Vec<&str> = importer.split("::").collect();
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
            if segments.first() == Some(&"self") {
                segments.remove(0);
            }
            base
        }
        // A path relative to the importer: a child module (`forwarder::X` in
        // `federation/mod.rs`).
        Some(first) if modules.contains_key(&format!("{importer}::{first}")) => {
            importer.split("::").collect()
        }
        _ => return None,
    };
    base.extend(segments);
    (1..=base.len())
        .rev()
        .map(|n| base[..n].join("::"))
        .find(|candidate| modules.contains_key(candidate))
}

/// Edges `importer → imported` between distinct modules.
fn import_graph(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    modules
        .iter()
        .map(|(module, text)| {
            let targets = use_statements(text)
                .iter()
                .flat_map(|statement| expand_use_tree(statement))
                .chain(inline_paths(text))
                .filter_map(|path| target_module(module, &path, modules))
                .filter(|target| target != module)
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

/// Tarjan's strongly connected components of more than one module.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        components: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, node: &'g str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.to_string());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.components.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node.as_str()) {
            tarjan.visit(node);
        }
    }
    tarjan
        .components
        .sort_by_key(|c| std::cmp::Reverse(c.len()));
    tarjan.components
}

/// The broker's graph, printed (figures for `docs/architecture-checks.md`).
fn broker_graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules_of(&repo_root().join("crates/courier-broker/src"));
    let graph = import_graph(&modules);
    let edges: usize = graph.values().map(BTreeSet::len).sum();
    println!(
        "courier-broker: {} modules, {edges} import edges",
        modules.len()
    );
    graph
}

/// A module's component: its top-level module (`delivery::attempt` →
/// `delivery`).
fn component_of(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// The import cycles the other crates keep, each one concept split over
/// files (the rule); any other cycle, or one of these gone, fails
/// [`other_crates_keep_a_cycle_only_where_it_is_one_concept`].
const ONE_CONCEPT: &[(&str, &[&str], &str)] = &[
    (
        "courier-core",
        &[
            "acl",
            "delivery",
            "error",
            "event",
            "message",
            "mode",
            "recipient",
        ],
        "the delivery model: a message and its replies, a delivery, its events, its modes, its \
         recipients and the ACL's refusals name one another",
    ),
    (
        "courier-terminal",
        &["input_line", "normalize", "readiness", "verify"],
        "reading a screen: where the input line is, what counts as ready, what proves an echo",
    ),
    (
        "courier-terminal",
        &["deliver", "submit", "write_failure"],
        "typing a message in: the keys, the submit and what a failed write means",
    ),
    (
        "courier-presets",
        &["mcp", "plan"],
        "a launch plan and the MCP configuration it writes",
    ),
    (
        "courier-presets",
        &["interpreter", "interpreter::grammar"],
        "an interpreter's framing and the grammar it is checked against",
    ),
];

#[test]
fn other_crates_keep_a_cycle_only_where_it_is_one_concept() {
    let crates = repo_root().join("crates");
    let mut names: Vec<String> = std::fs::read_dir(&crates)
        .expect("crates/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("src").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "courier-broker")
        .collect();
    names.sort();
    let mut unexpected = Vec::new();
    for krate in &names {
        let modules = modules_of(&crates.join(krate).join("src"));
        let mut found: Vec<Vec<String>> = cycles(&import_graph(&modules))
            .into_iter()
            .map(|mut c| {
                c.sort();
                c
            })
            .collect();
        found.sort();
        let mut allowed: Vec<Vec<String>> = ONE_CONCEPT
            .iter()
            .filter(|(k, ..)| k == krate)
            .map(|(_, modules, _)| {
                let mut m: Vec<String> = modules.iter().map(|s| s.to_string()).collect();
                m.sort();
                m
            })
            .collect();
        allowed.sort();
        if found != allowed {
            unexpected.push(format!("{krate}: found {found:?}, allowed {allowed:?}"));
        }
    }
    assert!(
        unexpected.is_empty(),
        "import cycles outside the broker differ from ONE_CONCEPT (a new cycle: break it, or \
         name the one concept it is; one gone: take it off the list):\n{}",
        unexpected.join("\n")
    );
}

#[test]
fn broker_modules_have_no_import_cycle() {
    let components = cycles(&broker_graph());
    for component in &components {
        println!("  cycle of {}: {}", component.len(), component.join(", "));
    }
    assert!(
        components.is_empty(),
        "courier-broker has import cycles (listed above); break them: move the shared \
         type into a file both import, or pass what is needed down instead of importing up"
    );
}

#[test]
fn broker_components_have_no_import_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, targets) in broker_graph() {
        let from = component_of(&module).to_string();
        let entry = graph.entry(from.clone()).or_default();
        entry.extend(
            targets
                .iter()
                .map(|t| component_of(t).to_string())
                .filter(|t| *t != from),
        );
    }
    for (from, to) in &graph {
        println!(
            "  {from} → {}",
            to.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let components = cycles(&graph);
    assert!(
        components.is_empty(),
        "courier-broker's components import each other in a circle: {components:?}"
    );
}

#[test]
fn no_component_imports_the_facade() {
    let climbing: Vec<String> = broker_graph()
        .into_iter()
        .filter(|(module, targets)| {
            targets.contains("broker") && !ABOVE_THE_FACADE.contains(&component_of(module))
        })
        .map(|(module, _)| module)
        .collect();
    assert!(
        climbing.is_empty(),
        "these modules import the Broker facade from below it: {climbing:?}; give them \
         the Services and the component parts they use instead"
    );
}

#[test]
fn use_trees_and_relative_paths_resolve_to_modules() {
    assert_eq!(
        expand_use_tree("crate::a::{self, b::{C, D as E}, f}"),
        vec![
            "crate::a",
            "crate::a::b::C",
            "crate::a::b::D",
            "crate::a::f"
        ]
    );
    let modules: BTreeMap<String, String> = ["a", "a::b", "c"]
        .iter()
        .map(|m| (m.to_string(), String::new()))
        .collect();
    assert_eq!(
        target_module("c", "crate::a::b::C", &modules),
        Some("a::b".into())
    );
    assert_eq!(
        target_module("c", "crate::a::X", &modules),
        Some("a".into())
    );
    assert_eq!(
        target_module("a::b", "super::X", &modules),
        Some("a".into())
    );
    assert_eq!(
        target_module("a::b", "super::super::c::Y", &modules),
        Some("c".into())
    );
    assert_eq!(target_module("c", "std::io", &modules), None);
    assert_eq!(target_module("a", "b::C", &modules), Some("a::b".into()));
    assert_eq!(
        inline_paths("let x = crate::a::f(super::B, b::C);\n// crate::c::X\n"),
        vec!["crate::a::f", "super::B", "b::C"]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["a::b"]),
        ("a::b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_string(), to.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(cycles(&graph), vec![vec!["a", "a::b", "c"]]);
}
