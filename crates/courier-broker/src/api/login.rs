//! The dashboard's login, on the API side: `POST /v1/login-codes` gives a
//! bearer of the owner's token a one-time code for the URL `courier open`
//! opens (the page route that spends it is in [`crate::ui`]), and
//! `DELETE /v1/session` logs a dashboard session out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use courier_protocol::tokens::LoginCode;

use super::auth::Credential;
use super::error::ApiError;
use super::state::AppState;
use crate::auth::sessions::CODE_TTL_MS;

/// `POST /v1/login-codes` (owner's token only, not a dashboard session:
/// a session could otherwise outlive its expiry by minting codes).
pub async fn issue_code(
    State(state): State<AppState>,
    Extension(credential): Extension<Credential>,
) -> Result<(StatusCode, Json<LoginCode>), ApiError> {
    if credential != Credential::Token {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "token_required",
            "login codes are issued to the owner's bearer token only (run `courier open`)",
        ));
    }
    let code =
        state
            .sessions()
            .issue_code()
            .map_err(|source| crate::error::Fault::NoRandomness {
                what: "a login code",
                source,
            })?;
    let path = format!("/ui/login?code={}", code.code);
    // Built from the address the broker is bound to, never from the
    // request's Host, which a client (or a rebinding page) chooses.
    let url = format!("{}{path}", state.access().base_url());
    Ok((
        StatusCode::CREATED,
        Json(LoginCode {
            code: code.code,
            expires_at: code.expires_at,
            expires_in_ms: CODE_TTL_MS,
            path,
            url: Some(url),
        }),
    ))
}

/// `DELETE /v1/session`: ends the dashboard session this request came with
/// and clears its cookie.
pub async fn logout(
    State(state): State<AppState>,
    Extension(credential): Extension<Credential>,
) -> Result<Response, ApiError> {
    let Credential::Session(id) = credential else {
        return Err(ApiError::bad_request(
            "this request carries no dashboard session (only the dashboard's cookie logs out)",
        ));
    };
    state.sessions().end(&id);
    // Streams this session opened end now, not only its next request.
    state.revocations().notify();
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        state.cookie_name()
    );
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear)]).into_response())
}
