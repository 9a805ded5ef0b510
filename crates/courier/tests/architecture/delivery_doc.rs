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

/// The string constants of a core source file (`pub const NAME: &str = "x";`).
fn string_constants(relative: &str) -> Vec<String> {
    read_repo_file(relative)
        .lines()
        .filter(|line| line.trim_start().starts_with("pub const") && line.contains("&str = \""))
        .filter_map(|line| line.split('"').nth(1).map(str::to_string))
        .collect()
}

#[test]
fn every_reason_code_core_settles_with_is_documented() {
    let codes = string_constants("crates/courier-core/src/settle/reasons.rs");
    assert!(
        codes.contains(&"agent_exited".to_string()),
        "reading settle/reasons.rs found only {codes:?}"
    );
    let doc = read_repo_file("docs/delivery.md");
    let missing: Vec<&String> = codes
        .iter()
        .filter(|code| !doc.contains(&format!("`{code}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "reason codes of courier_core::settle::reasons missing from docs/delivery.md: {missing:?}"
    );
}

#[test]
fn every_delivery_state_is_documented() {
    let source = read_repo_file("crates/courier-core/src/delivery.rs");
    let body = source
        .split("pub enum DeliveryState {")
        .nth(1)
        .expect("delivery.rs declares `pub enum DeliveryState {`");
    let states: Vec<String> = body[..body.find('}').expect("the enum's closing brace")]
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|line| snake_case(line.trim_end_matches(',')))
        .collect();
    assert!(
        states.len() >= 9,
        "reading DeliveryState found only {states:?}"
    );
    let doc = read_repo_file("docs/delivery.md");
    let missing: Vec<&String> = states
        .iter()
        .filter(|state| !doc.contains(&format!("`{state}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "delivery states missing from docs/delivery.md: {missing:?}"
    );
}
