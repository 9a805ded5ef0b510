//! Issued tokens (owner-only routes, a route layer in `mod.rs`): create an
//! observer token (shown once), list them (never a secret: none is kept),
//! revoke one.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use courier_core::time::{Clock, SystemClock};
use courier_store::TokenRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::json::{ApiJson, ApiPath};
use super::state::AppState;
use crate::auth::issued::OBSERVER;

/// Longest label, in characters.
const MAX_LABEL: usize = 128;
/// Longest lifetime a token may be given: ten years.
const MAX_EXPIRES_IN_S: u64 = 10 * 365 * 24 * 3600;

fn token_json(t: &TokenRecord) -> Value {
    json!({
        "id": t.id, "kind": t.kind, "label": t.label, "created_at": t.created_at,
        "expires_at": t.expires_at, "revoked_at": t.revoked_at,
        "state": t.state_at(SystemClock.now()).as_str(),
    })
}

fn invalid(message: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_token_request",
        message,
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// `observer` (the only kind issued).
    pub kind: String,
    #[serde(default)]
    pub label: Option<String>,
    /// Seconds from now until it stops working; absent: never.
    #[serde(default)]
    pub expires_in_s: Option<u64>,
}

/// `POST /v1/tokens`: 201 with the token itself, the only time it is shown.
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if body.kind != OBSERVER {
        return Err(invalid(format!(
            "kind {:?} cannot be issued: use \"observer\" (agents get theirs when spawned)",
            body.kind
        )));
    }
    if let Some(label) = &body.label
        && (label.chars().count() > MAX_LABEL || label.chars().any(char::is_control))
    {
        return Err(invalid(format!(
            "label {label:?}: at most {MAX_LABEL} characters, no control characters"
        )));
    }
    let expires_in = match body.expires_in_s {
        Some(s) if s == 0 || s > MAX_EXPIRES_IN_S => {
            return Err(invalid(format!(
                "expires_in_s {s}: give 1 to {MAX_EXPIRES_IN_S} seconds, or leave it out for a token that does not expire"
            )));
        }
        other => other.map(Duration::from_secs),
    };
    let (record, secret) = state
        .broker
        .issued_tokens()
        .issue(body.label, expires_in)
        .await?;
    let mut answer = token_json(&record);
    answer["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `GET /v1/tokens`: every issued token with its state; no secrets.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let tokens = state.broker.issued_tokens().list().await?;
    Ok(Json(json!({
        "tokens": tokens.iter().map(token_json).collect::<Vec<_>>()
    })))
}

/// `DELETE /v1/tokens/{id}`: refused from now on (`token_revoked`);
/// `changed: false` when it was revoked already.
pub async fn revoke(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let revoked = state.broker.issued_tokens().revoke(&id).await?;
    let (record, changed) = revoked
        .ok_or_else(|| ApiError::not_found("unknown_token", format!("no token with id {id:?}")))?;
    // Streams opened with it end now, not only its next request.
    state.revocations().notify();
    let mut answer = token_json(&record);
    answer["changed"] = json!(changed);
    Ok(Json(answer))
}
