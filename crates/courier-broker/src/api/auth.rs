//! Bearer-token authentication for every route but `/healthz`.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::error::ApiError;
use crate::token::tokens_match;

/// Accepts `Authorization: Bearer <token>`, or `?token=<token>` for clients
/// that cannot set headers (browsers' EventSource and WebSocket).
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let from_header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let from_query = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("token=")));
    match from_header.or(from_query) {
        Some(given) if tokens_match(state.token(), given) => Ok(next.run(request).await),
        _ => Err(ApiError::unauthorized()),
    }
}
