//! Issued tokens (`/v1/tokens`, owner only): an observer token is shown
//! once, at its creation; no secret is kept, so none is ever listed.

use courier_core::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// `observer` (the only kind issued; agents get theirs when spawned).
    pub kind: String,
    /// At most 128 characters, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Seconds from now until it stops working (1 to ten years); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_s: Option<u64>,
}

/// An issued token. Never the secret, except `token` in the answer to its
/// creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenView {
    /// Revocation only: false when it was revoked already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub id: String,
    pub kind: String,
    pub label: Option<String>,
    pub revoked_at: Option<Timestamp>,
    /// `active`, `expired` or `revoked`, now.
    pub state: String,
    /// Creation only: the token itself, shown this once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `GET /v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

/// `POST /v1/login-codes`: a one-time login code for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LoginCode {
    /// 32 hex digits, single use.
    pub code: String,
    pub expires_at: Timestamp,
    pub expires_in_ms: u64,
    /// `/ui/login?code=CODE`.
    pub path: String,
    /// The path on the address the broker is bound to (never from the
    /// request's `Host`).
    pub url: Option<String>,
}
