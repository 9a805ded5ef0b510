//! ARCHITECTURE.md read the simple way: a section per `### \`crates/NAME…\``
//! heading, and the file or folder paths each section names in backticks.
//! The parser is deliberately small (no Markdown crate): the codemap's form is
//! the contract, and a test failure names the exact path that broke it.

use crate::read_repo_file;

/// One `### \`crates/…\`` section of the codemap.
pub struct Section {
    /// The path in the heading, e.g. `crates/courier-broker/src/federation/`.
    pub heading_path: String,
    /// The crate the section belongs to, e.g. `courier-broker`.
    pub crate_name: String,
    /// The backticked tokens of the heading and body that are paths:
    /// `agent.rs`, `api/terminal.rs`, `federation/`, `tests/hostile/`.
    pub paths: Vec<String>,
}

impl Section {
    /// Whether this heading is a crate's own (`crates/NAME`), not a part of
    /// one (`crates/NAME/src/federation/`).
    pub fn is_crate_heading(&self) -> bool {
        self.heading_path == format!("crates/{}", self.crate_name)
    }
}

pub fn architecture_sections() -> Vec<Section> {
    parse_sections(&read_repo_file("ARCHITECTURE.md"))
}

pub fn parse_sections(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut in_codemap_section = false;
    for line in text.lines() {
        if line.starts_with('#') {
            in_codemap_section = false;
            if let Some(heading_path) = crate_heading_path(line) {
                let crate_name = heading_path
                    .split('/')
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                sections.push(Section {
                    paths: vec![heading_path.clone()],
                    heading_path,
                    crate_name,
                });
                in_codemap_section = true;
            }
            continue;
        }
        if let (true, Some(section)) = (in_codemap_section, sections.last_mut()) {
            section
                .paths
                .extend(backticked(line).filter(|t| is_path(t)).map(str::to_string));
        }
    }
    sections
}

/// `### \`crates/courier-core\` — the rules` → `crates/courier-core`.
fn crate_heading_path(line: &str) -> Option<String> {
    let rest = line.strip_prefix("### `")?;
    let path = rest.split('`').next()?;
    path.starts_with("crates/").then(|| path.to_string())
}

/// The spans between backticks on one line (the codemap never breaks a
/// backticked span across lines).
fn backticked(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2)
}

/// A token that names a source file or a folder: `x.rs`, `a/b.rs`, `dir/`.
/// URL paths (`/v1/tokens`), placeholders (`<state>/sessions/`) and Rust
/// paths (`remote::follow`) are not.
fn is_path(token: &str) -> bool {
    let plain = token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    plain && !token.starts_with('/') && (token.ends_with(".rs") || token.ends_with('/'))
}

#[test]
fn the_parser_reads_sections_and_their_paths() {
    let text = "# A\n### `crates/x` — top\nOwns `a.rs`, `api/b.rs` and `dir/`, not `/v1/t`,\n\
                `<s>/d/`, `m::f` or `c.toml`.\n### `crates/x/src/sub/` — part\n`w.rs`\n## Other\n`z.rs`\n";
    let sections = parse_sections(text);
    let summary: Vec<(String, String, Vec<String>)> = sections
        .iter()
        .map(|s| {
            (
                s.heading_path.clone(),
                s.crate_name.clone(),
                s.paths.clone(),
            )
        })
        .collect();
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            (
                "crates/x".into(),
                "x".into(),
                owned(&["crates/x", "a.rs", "api/b.rs", "dir/"])
            ),
            (
                "crates/x/src/sub/".into(),
                "x".into(),
                owned(&["crates/x/src/sub/", "w.rs"])
            ),
        ]
    );
    assert!(sections[0].is_crate_heading());
    assert!(!sections[1].is_crate_heading());
}
