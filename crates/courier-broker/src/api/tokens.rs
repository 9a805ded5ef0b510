//! Issued tokens (owner-only routes, a route layer in `mod.rs`): create an
//! observer token (shown once), list them (never a secret: none is kept),
//! revoke one.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use courier_core::time::{Clock, SystemClock};
use courier_protocol::tokens::{TokenList, TokenRequest, TokenView};
use courier_store::TokenRecord;

use super::error::ApiError;
use super::json::{ApiJson, ApiPath};
use super::state::AppState;
use crate::auth::issued::OBSERVER;

/// Longest label, in characters.
const MAX_LABEL: usize = 128;
/// Longest lifetime a token may be given: ten years.
const MAX_EXPIRES_IN_S: u64 = 10 * 365 * 24 * 3600;

fn token_view(t: &TokenRecord) -> TokenView {
    TokenView {
        changed: None,
        created_at: t.created_at,
        expires_at: t.expires_at,
        id: t.id.clone(),
        kind: t.kind.clone(),
        label: t.label.clone(),
        revoked_at: t.revoked_at,
        state: t.state_at(SystemClock.now()).as_str().to_string(),
        token: None,
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_token_request",
        message,
    )
}

/// `POST /v1/tokens`: 201 with the token itself, the only time it is shown.
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
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
    let answer = TokenView {
        token: Some(secret),
        ..token_view(&record)
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `GET /v1/tokens`: every issued token with its state; no secrets.
pub async fn list(State(state): State<AppState>) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.broker.issued_tokens().list().await?;
    Ok(Json(TokenList {
        tokens: tokens.iter().map(token_view).collect(),
    }))
}

/// `DELETE /v1/tokens/{id}`: refused from now on (`token_revoked`);
/// `changed: false` when it was revoked already.
pub async fn revoke(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TokenView>, ApiError> {
    let revoked = state.broker.issued_tokens().revoke(&id).await?;
    let (record, changed) = revoked
        .ok_or_else(|| ApiError::not_found("unknown_token", format!("no token with id {id:?}")))?;
    // Streams opened with it end now, not only its next request.
    state.revocations().notify();
    Ok(Json(TokenView {
        changed: Some(changed),
        ..token_view(&record)
    }))
}
