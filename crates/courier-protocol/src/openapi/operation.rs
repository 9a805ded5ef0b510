//! One operation of the API as data: what the document says about a
//! method on a path. The schemas are functions of the protocol's types, so
//! the document follows the types; the broker's route table is checked
//! against these operations, so it follows the routes.

use schemars::{JsonSchema, Schema, SchemaGenerator};

/// A schema of a protocol type, registered in the document's components.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T` (a `$ref` once `T` is named).
pub fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    /// The lowercase name OpenAPI keys an operation by.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Delete => "delete",
        }
    }
}

/// Which credentials an operation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// A bearer token or the dashboard's session (the document's default).
    Default,
    /// No credential (`/healthz`).
    Public,
    /// A bearer token only (a dashboard session may not ask for a login code).
    BearerOnly,
    /// The dashboard's session only (logging out).
    SessionOnly,
}

/// A request header the operation reads.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub name: &'static str,
    pub description: &'static str,
    /// Least and most bytes, when bounded.
    pub length: Option<(u32, u32)>,
}

/// A JSON request body.
#[derive(Debug, Clone, Copy)]
pub struct Body {
    pub schema: SchemaFn,
    /// False for bodies that may be empty (the defaults then).
    pub required: bool,
}

/// One answer of an operation, by status.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// A success (or a documented non-error) with its body, if JSON.
    Ok {
        status: u16,
        description: &'static str,
        body: Option<SchemaFn>,
    },
    /// The error body.
    Error(u16),
    /// The error body of a refusal (with `rule` and `refused` for `acl_denied`).
    Forbidden(u16),
}

impl Reply {
    pub const fn ok(status: u16, description: &'static str, body: Option<SchemaFn>) -> Reply {
        Reply::Ok {
            status,
            description,
            body,
        }
    }

    pub const fn error(status: u16) -> Reply {
        Reply::Error(status)
    }

    pub const fn forbidden(status: u16) -> Reply {
        Reply::Forbidden(status)
    }

    pub fn status(&self) -> u16 {
        match *self {
            Reply::Ok { status, .. } | Reply::Error(status) | Reply::Forbidden(status) => status,
        }
    }
}

/// A method on a path, as documented.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub method: Method,
    /// The path as axum routes it (`{name}` for a parameter).
    pub path: &'static str,
    pub summary: &'static str,
    /// More than the summary; empty when the summary says it all.
    pub description: &'static str,
    pub security: Security,
    /// The query string's fields, as a protocol type.
    pub query: Option<SchemaFn>,
    pub headers: &'static [Header],
    pub request: Option<Body>,
    pub responses: &'static [Reply],
}

impl Operation {
    /// The names of the path's parameters (`{name}` → `name`), in order.
    pub fn path_parameters(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
    }
}
