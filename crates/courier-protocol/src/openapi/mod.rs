//! The OpenAPI 3.1 document, generated: the schemas from the protocol's
//! types (schemars, JSON Schema 2020-12, the dialect OpenAPI 3.1 uses),
//! the paths from the operations table (`ops_*.rs`). The broker serves it
//! at `GET /v1/openapi.json` and checks its router against
//! [`operations`], so a route without an operation fails a test.
//!
//! Why schemars and not utoipa: schemars is already how the MCP server
//! describes its tools, it needs no attribute on the broker's handlers
//! (which keeps the broker's files as they are), and the operations stay
//! one table that a test compares with the router's own table.

mod operation;
mod ops_admin;
mod ops_agents;
mod ops_messages;
mod prose;

use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

pub use operation::{Body, Header, Method, Operation, Reply, SchemaFn, Security, schema};

use crate::error::ErrorBody;
use crate::events::Event;

/// Where the schemas sit in the document.
const SCHEMAS: &str = "/components/schemas";

/// Every documented operation.
pub fn operations() -> impl Iterator<Item = &'static Operation> {
    ops_admin::OPERATIONS
        .iter()
        .chain(ops_agents::OPERATIONS)
        .chain(ops_messages::OPERATIONS)
}

/// The whole document.
pub fn document() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.definitions_path = SCHEMAS.into();
            settings.meta_schema = None;
        })
        .into_generator();
    let mut paths = Map::new();
    for op in operations() {
        let entry = paths
            .entry(op.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(op.method.as_str().into(), operation(op, &mut generator));
        }
    }
    // Events reach clients on streams no schema of a body names.
    generator.subschema_for::<Event>();
    let error = Value::from(generator.subschema_for::<ErrorBody>());
    let schemas = generator.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": prose::TITLE,
            "version": env!("CARGO_PKG_VERSION"),
            "description": prose::DESCRIPTION,
        },
        "servers": [{"url": "http://127.0.0.1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": prose::BEARER},
                "session": {
                    "type": "apiKey", "in": "cookie", "name": prose::SESSION_COOKIE,
                    "description": prose::SESSION,
                },
            },
            "responses": {
                "Error": {
                    "description": prose::ERROR,
                    "content": {"application/json": {"schema": error.clone()}},
                },
                "Forbidden": {
                    "description": prose::FORBIDDEN,
                    "content": {"application/json": {"schema": error}},
                },
            },
            "schemas": schemas,
        },
    })
}

fn operation(op: &Operation, generator: &mut SchemaGenerator) -> Value {
    let mut out = Map::new();
    out.insert("summary".into(), op.summary.into());
    if !op.description.is_empty() {
        out.insert("description".into(), op.description.into());
    }
    match op.security {
        Security::Default => {}
        Security::Public => {
            out.insert("security".into(), json!([]));
        }
        Security::BearerOnly => {
            out.insert("security".into(), json!([{"bearer": []}]));
        }
        Security::SessionOnly => {
            out.insert("security".into(), json!([{"session": []}]));
        }
    }
    let parameters = parameters(op, generator);
    if !parameters.is_empty() {
        out.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = op.request {
        let schema = Value::from((body.schema)(generator));
        out.insert(
            "requestBody".into(),
            json!({"required": body.required, "content": {"application/json": {"schema": schema}}}),
        );
    }
    let mut responses = Map::new();
    for reply in op.responses {
        let value = match *reply {
            Reply::Ok {
                description, body, ..
            } => match body {
                Some(schema) => {
                    let schema = Value::from(schema(generator));
                    json!({"description": description, "content": {"application/json": {"schema": schema}}})
                }
                None => json!({"description": description}),
            },
            Reply::Error(_) => json!({"$ref": "#/components/responses/Error"}),
            Reply::Forbidden(_) => json!({"$ref": "#/components/responses/Forbidden"}),
        };
        responses.insert(reply.status().to_string(), value);
    }
    out.insert("responses".into(), Value::Object(responses));
    Value::Object(out)
}

/// Path parameters (strings), the query type's fields, and the headers.
fn parameters(op: &Operation, generator: &mut SchemaGenerator) -> Vec<Value> {
    let mut parameters: Vec<Value> = op
        .path_parameters()
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if let Some(query) = op.query {
        let reference = query(generator);
        let schema = resolve(generator, reference);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (name, property) in properties {
                let mut property = property.clone();
                let description = property
                    .as_object_mut()
                    .and_then(|p| p.remove("description"));
                not_null(&mut property);
                let mut parameter = json!({
                    "name": name, "in": "query",
                    "required": required.contains(&name.as_str()),
                    "schema": property,
                });
                if let Some(description) = description {
                    parameter["description"] = description;
                }
                parameters.push(parameter);
            }
        }
    }
    for header in op.headers {
        let mut schema = json!({"type": "string"});
        if let Some((least, most)) = header.length {
            schema["minLength"] = least.into();
            schema["maxLength"] = most.into();
        }
        let mut parameter =
            json!({"name": header.name, "in": "header", "required": false, "schema": schema});
        if !header.description.is_empty() {
            parameter["description"] = header.description.into();
        }
        parameters.push(parameter);
    }
    parameters
}

/// A query parameter is absent or has a value: `["integer", "null"]`
/// (an `Option`'s type) is `"integer"` there.
fn not_null(schema: &mut Value) {
    let single = match schema.get("type") {
        Some(Value::Array(types)) => {
            let kept: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
            match kept.as_slice() {
                [one] => Some((*one).clone()),
                _ => None,
            }
        }
        _ => None,
    };
    if let Some(single) = single {
        schema["type"] = single;
    }
}

/// The definition a `$ref` points at (a query type is named, so its
/// fields sit in the components).
fn resolve(generator: &SchemaGenerator, schema: Schema) -> Value {
    let value = Value::from(schema);
    let name = value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(&format!("#{SCHEMAS}/")))
        .map(str::to_string);
    match name {
        Some(name) => generator.definitions().get(&name).cloned().unwrap_or(value),
        None => value,
    }
}

#[cfg(test)]
mod tests;
