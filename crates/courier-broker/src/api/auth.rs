//! Bearer-token authentication for every route but `/healthz`.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::error::ApiError;
use crate::token::tokens_match;

/// Who is calling: the broker's owner (the connection file's token) or one
/// agent (its own `COURIER_TOKEN`), which may act only as itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Owner,
    Agent(String),
}

/// Accepts `Authorization: Bearer <token>`, or `?token=<token>` for clients
/// that cannot set headers (browsers' EventSource and WebSocket).
pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
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
    let identity = match from_header.or(from_query) {
        Some(given) if tokens_match(state.token(), given) => Identity::Owner,
        Some(given) => match state.broker.agent_for_token(given) {
            Some(agent) => Identity::Agent(agent),
            None => return Err(ApiError::unauthorized()),
        },
        None => return Err(ApiError::unauthorized()),
    };
    request.extensions_mut().insert(identity);
    Ok(next.run(request).await)
}
