//! The delivery contract lives in the repository (`docs/delivery.md`): every
//! `EventKind` variant's wire name is documented there, so an event added
//! without its documentation fails here.

use crate::read_repo_file;

/// The wire names of `EventKind` (`#[serde(rename_all = "snake_case")]`),
/// read from the variants of `crates/courier-core/src/event.rs`.
fn event_wire_names() -> Vec<String> {
    let source = read_repo_file("crates/courier-core/src/event.rs");
    let body = source
        .split("pub enum EventKind {")
        .nth(1)
        .expect("event.rs declares `pub enum EventKind {`");
    assert!(
        source
            .contains("#[serde(tag = \"type\", rename_all = \"snake_case\")]\npub enum EventKind"),
        "EventKind's serde naming changed; update this test's reading of wire names"
    );
    let enum_body = &body[..body.find("\n}").expect("the enum's closing brace")];
    enum_body
        .lines()
        // Variants sit at one indent level; their fields and docs deeper or commented.
        .filter(|line| line.starts_with("    ") && !line.starts_with("     "))
        .map(str::trim)
        .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
        .filter_map(|line| line.split([' ', '{', '(', ',']).next())
        .map(snake_case)
        .collect()
}

fn snake_case(camel: &str) -> String {
    let mut snake = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.push(c.to_ascii_lowercase());
    }
    snake
}

#[test]
fn every_event_kind_is_documented_in_docs_delivery_md() {
    let names = event_wire_names();
    assert!(
        names.len() > 30 && names.contains(&"delivery_verified".to_string()),
        "reading EventKind found only {names:?}"
    );
    let doc = read_repo_file("docs/delivery.md");
    let missing: Vec<String> = names
        .iter()
        .filter(|name| !doc.contains(&format!("`{name}`")))
        .map(|name| {
            format!("the event `{name}` (EventKind in courier-core) is not in docs/delivery.md")
        })
        .collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
