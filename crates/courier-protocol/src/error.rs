//! The error body every 4xx and 5xx answer carries, whoever produced it
//! (a handler, an extractor's rejection, axum itself):
//! `{"error":{"code":…,"message":…}}`, with more fields for some codes.

use courier_core::Refusal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable `code` to branch on and a `message` for a
/// person; the other fields only with the codes that name them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// unknown_field: the object the field sat in, when nested (e.g. `restart`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Stable, snake_case: `unknown_field`, `acl_denied`, `owner_only`, …
    pub code: String,
    /// unknown_field: the fields the body may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Vec<String>>,
    /// unknown_field (and some 4xx): the field that was wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// invalid_combination: the fields that cannot go together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// name_taken, on_other_host: the host of the workspace concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub message: String,
    /// acl_denied: each recipient refused and its rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Vec<Refusal>>,
    /// acl_denied: the rule that refused the send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl ErrorDetail {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorDetail {
            code: code.into(),
            message: message.into(),
            ..ErrorDetail::default()
        }
    }
}
