//! The document is complete and self-consistent: every event kind is in
//! its event schema, every reference resolves, every request body refuses
//! unknown fields. (That every route is documented is checked by the
//! broker against its route table.)

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Reply, document, operations};

/// The wire names of core's `EventKind`, read from its source so that a
/// variant added there is found here without anyone listing it.
fn event_wire_names() -> BTreeSet<String> {
    let source = include_str!("../../../courier-core/src/event.rs");
    assert!(
        source
            .contains("#[serde(tag = \"type\", rename_all = \"snake_case\")]\npub enum EventKind"),
        "EventKind's serde naming changed; update this reading of wire names"
    );
    let body = source
        .split("pub enum EventKind {")
        .nth(1)
        .expect("event.rs declares `pub enum EventKind {`");
    let body = &body[..body.find("\n}").expect("the enum's closing brace")];
    body.lines()
        .filter(|line| line.starts_with("    ") && !line.starts_with("     "))
        .map(str::trim)
        .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
        .filter_map(|line| line.split([' ', '{', '(', ',']).next())
        .map(|camel| {
            let mut snake = String::new();
            for (i, c) in camel.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            snake
        })
        .collect()
}

/// Every `"const"` of a `type` property under `schema`.
fn type_consts(schema: &Value, found: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(name) = map
                .get("properties")
                .and_then(|p| p.get("type"))
                .and_then(|t| t.get("const"))
                .and_then(Value::as_str)
            {
                found.insert(name.to_string());
            }
            map.values().for_each(|v| type_consts(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| type_consts(v, found)),
        _ => {}
    }
}

#[test]
fn every_event_kind_is_in_the_event_schema() {
    let names = event_wire_names();
    assert!(
        names.len() > 30 && names.contains("delivery_verified"),
        "reading EventKind found only {names:?}"
    );
    let doc = document();
    let event = &doc["components"]["schemas"]["Event"];
    let mut documented = BTreeSet::new();
    type_consts(event, &mut documented);
    let missing: Vec<&String> = names.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "event kinds missing from the document's Event schema: {missing:?}"
    );
    assert!(
        event.to_string().contains("\"seq\"") && event.to_string().contains("\"time\""),
        "an event carries its seq and time: {event}"
    );
}

#[test]
fn every_event_kind_says_what_it_means() {
    let doc = document();
    let event = &doc["components"]["schemas"]["Event"];
    let kinds = event["oneOf"]
        .as_array()
        .expect("Event is one of its kinds");
    let undocumented: Vec<&str> = kinds
        .iter()
        .filter(|kind| kind.get("description").and_then(Value::as_str).is_none())
        .filter_map(|kind| kind["properties"]["type"]["const"].as_str())
        .collect();
    assert!(
        undocumented.is_empty(),
        "give these EventKind variants a doc comment (it is their description): {undocumented:?}"
    );
}

fn references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                found.insert(r.to_string());
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    let mut found = BTreeSet::new();
    references(&doc, &mut found);
    assert!(
        found.contains("#/components/schemas/AgentView"),
        "{found:?}"
    );
    for reference in found {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is not local"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{reference} points at nothing"
        );
    }
}

#[test]
fn every_request_body_refuses_unknown_fields() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let mut bodies = 0;
    for op in operations() {
        if op.request.is_none() {
            continue;
        }
        let path = format!(
            "/paths/{}/{}",
            op.path.replace('~', "~0").replace('/', "~1"),
            op.method.as_str()
        );
        let schema = &doc.pointer(&path).expect("the operation")["requestBody"]["content"]["application/json"]
            ["schema"];
        let name = schema["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .unwrap_or_else(|| {
                panic!(
                    "{} {}: body is not a named type",
                    op.method.as_str(),
                    op.path
                )
            });
        assert_eq!(
            schemas[name]["additionalProperties"],
            Value::Bool(false),
            "{name} ({} {}) must say deny_unknown_fields",
            op.method.as_str(),
            op.path
        );
        bodies += 1;
    }
    assert!(bodies >= 9, "only {bodies} request bodies documented");
    // Nested request objects too (an unknown field there is named with `at`).
    for nested in ["SubmitRequest", "ResumeRequest", "RestartPolicy"] {
        assert_eq!(
            schemas[nested]["additionalProperties"],
            Value::Bool(false),
            "{nested}"
        );
    }
}

#[test]
fn operations_are_unique_and_answer_something() {
    let mut seen = BTreeSet::new();
    for op in operations() {
        assert!(
            seen.insert((op.path, op.method)),
            "{} {} is documented twice",
            op.method.as_str(),
            op.path
        );
        assert!(
            !op.summary.is_empty(),
            "{} {} has no summary",
            op.method.as_str(),
            op.path
        );
        assert!(
            op.responses.iter().any(|r| matches!(r, Reply::Ok { .. })),
            "{} {} documents no success",
            op.method.as_str(),
            op.path
        );
    }
}

#[test]
fn the_agent_state_enum_is_cores_in_precedence_order() {
    let doc = document();
    let documented = &doc["components"]["schemas"]["AgentState"]["enum"];
    let core: Vec<&str> = courier_core::AgentState::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(documented, &serde_json::json!(core));
}

#[test]
fn query_parameters_are_plain_values() {
    let doc = document();
    let parameters = doc["paths"]["/v1/events"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    let since = parameters
        .iter()
        .find(|p| p["name"] == "since")
        .expect("since");
    assert_eq!(since["in"], "query");
    assert_eq!(since["schema"]["type"], "integer");
    let inbox = doc["paths"]["/v1/agents/{name}/inbox"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    assert_eq!(inbox[0]["name"], "name");
    assert_eq!(inbox[0]["in"], "path");
}
