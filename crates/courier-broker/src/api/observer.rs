//! Observer tokens in the API: who they are (by hash, refused with 401 once
//! expired or revoked) and the rule that they only read.

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use courier_core::time::{Clock, SystemClock};
use courier_store::TokenState;

use super::error::ApiError;
use super::identity::Identity;
use super::state::AppState;
use crate::auth::issued::Lookup;

/// The identity of a token that is neither the owner's nor an agent's: an
/// issued observer token, or 401.
pub fn identify(state: &AppState, given: &str) -> Result<Identity, ApiError> {
    match state
        .broker
        .issued_tokens()
        .lookup(given, SystemClock.now())
    {
        Lookup::Valid(record) => Ok(Identity::Observer(record.id)),
        Lookup::Refused(record, state) => {
            let (code, why) = match state {
                TokenState::Revoked => ("token_revoked", "was revoked"),
                _ => ("token_expired", "has expired"),
            };
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                code,
                format!(
                    "token {} {why}; ask the owner for a new one (`courier token create --observer`)",
                    record.id
                ),
            ))
        }
        Lookup::Unknown => Err(ApiError::unauthorized()),
    }
}

/// 403 `read_only` for an observer's `method path`.
pub fn refusal(id: &str, method: &str, path: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "read_only",
        format!("observer token {id} may only read; it cannot {method} {path}"),
    )
}

/// Layer over every authenticated route: an observer may GET (and HEAD)
/// only, so a route added later is refused to it until it is a read.
pub async fn read_only(request: Request, next: Next) -> Result<Response, ApiError> {
    if let Some(Identity::Observer(id)) = request.extensions().get::<Identity>()
        && !matches!(*request.method(), Method::GET | Method::HEAD)
    {
        return Err(refusal(id, request.method().as_str(), request.uri().path()));
    }
    Ok(next.run(request).await)
}
