//! No function of the broker is longer than [`MAX_LINES`] lines without a
//! reason written next to it: a `// Long: …` line among the comments and
//! attributes right above its signature, saying why it reads best whole.
//! Everything else is split until each piece says one thing.

use std::path::Path;

use crate::repo_root;

/// The longest function (signature to closing brace) that needs no reason.
const MAX_LINES: usize = 60;

/// (file, function, lines) of every function past the bound without a reason.
fn long_functions_without_a_reason(src: &Path) -> Vec<(String, String, usize)> {
    let mut found = Vec::new();
    visit(src, &mut |path, text| {
        // A unit-test file (`error_tests.rs`, included with `#[path]` from
        // its module's `#[cfg(test)]`) is tests throughout.
        if path.to_str().is_some_and(|p| p.ends_with("_tests.rs")) {
            return;
        }
        let lines: Vec<&str> = text.lines().collect();
        // Unit tests may be as long as their cases need.
        let end = lines
            .iter()
            .position(|l| l.trim() == "#[cfg(test)]")
            .unwrap_or(lines.len());
        for (i, line) in lines[..end].iter().enumerate() {
            let Some((indent, name)) = function_start(line) else {
                continue;
            };
            let closing = format!("{}}}", " ".repeat(indent));
            let Some(length) = lines[i + 1..end]
                .iter()
                .position(|l| *l == closing)
                .map(|at| at + 2)
            else {
                continue; // a declaration without a body (a trait method)
            };
            if length > MAX_LINES && !has_reason(&lines[..i]) {
                let file = path.strip_prefix(src).unwrap_or(path).display().to_string();
                found.push((file, name, length));
            }
        }
    });
    found.sort();
    found
}

/// `pub async fn name(` at some indent → (indent, name).
fn function_start(line: &str) -> Option<(usize, String)> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let mut rest = trimmed;
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("async ").unwrap_or(rest);
    let name = rest.strip_prefix("fn ")?;
    let name: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some((indent, name))
}

/// A `// Long:` line among the comment and attribute lines just above.
fn has_reason(above: &[&str]) -> bool {
    above
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("//") || l.starts_with("#["))
        .any(|l| l.starts_with("// Long:"))
}

fn visit(dir: &Path, f: &mut dyn FnMut(&Path, &str)) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = read.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            visit(&path, f);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            f(&path, &text);
        }
    }
}

#[test]
fn no_broker_function_is_long_without_a_reason() {
    let found = long_functions_without_a_reason(&repo_root().join("crates/courier-broker/src"));
    let listed: Vec<String> = found
        .iter()
        .map(|(file, name, lines)| format!("  {file}: {name} ({lines} lines)"))
        .collect();
    assert!(
        found.is_empty(),
        "functions of courier-broker longer than {MAX_LINES} lines with no `// Long: why` \
         above them; split them, or say why they read best whole:\n{}",
        listed.join("\n")
    );
}

#[test]
fn a_reason_is_read_from_the_lines_right_above() {
    assert_eq!(
        function_start("    pub(crate) async fn run(x: u8) {"),
        Some((4, "run".to_string()))
    );
    assert_eq!(function_start("let f = fn_name();"), None);
    assert!(has_reason(&[
        "",
        "/// Does a thing.",
        "// Long: one table.",
        "#[inline]"
    ]));
    assert!(!has_reason(&["// Long: for another", "", "/// Doc."]));
}
