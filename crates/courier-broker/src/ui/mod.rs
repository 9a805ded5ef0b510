//! The dashboard, served by the broker itself under `/ui/` (same address,
//! nothing fetched from the network at run time).
//!
//! - `GET /ui/login?code=…` spends a one-time code from
//!   `POST /v1/login-codes` (what `courier open` does) and answers with the
//!   session cookie (`courier_session_<port>`, `HttpOnly; SameSite=Strict`) and a redirect to `/ui/`,
//!   so neither the code nor the owner's token stays in a page URL;
//! - `GET /ui/…` serves the embedded files ([`assets`]); they hold no
//!   secret, so they need no login — every API call they make does (the
//!   cookie, with the CSRF rules of [`crate::api::auth`]);
//! - every `/ui` response carries a strict Content-Security-Policy
//!   ([`CONTENT_SECURITY_POLICY`]) and is never framed.

pub mod assets;

use axum::Router;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY as CSP, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::api::error::ApiError;
use crate::api::json::ApiQuery;
use crate::api::state::AppState;
use crate::auth::sessions::{LoginError, SESSION_TTL_MS};

/// The policy of every `/ui` response. Scripts, connections (fetch,
/// EventSource, WebSocket) and everything else only from this origin; no
/// framing, no `<base>`, no plugins. One allowance: xterm.js's DOM renderer
/// writes its theme colours and cell sizes into `<style>` elements it
/// creates, so inline style *elements* are allowed; style *attributes*
/// stay forbidden and no inline script can run.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
connect-src 'self'; style-src 'self'; style-src-elem 'self' 'unsafe-inline'; \
style-src-attr 'none'; img-src 'self'; object-src 'none'; frame-ancestors 'none'; \
base-uri 'none'; form-action 'self'";

/// The dashboard's routes (merged into the API's router, outside its auth).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(file))
        .route("/ui/login", get(login))
        .route("/ui/{*path}", get(file))
        .layer(map_response(security_headers))
}

/// Adds the policy and its companions to every `/ui` response, errors too.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CSP, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A login URL holds a code; no page should pass its URL on.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// `GET /ui/{path}`: an embedded file.
async fn file(uri: Uri) -> Result<Response, ApiError> {
    let path = uri.path().trim_start_matches("/ui").trim_start_matches('/');
    let asset = assets::find(path).ok_or_else(|| {
        ApiError::not_found("not_found", format!("the dashboard has no file {path:?}"))
    })?;
    Ok((
        [
            (CONTENT_TYPE, asset.content_type),
            // Always asked again: a new broker may serve new files.
            (CACHE_CONTROL, "no-cache"),
        ],
        asset.body,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    #[serde(default)]
    code: Option<String>,
}

/// `GET /ui/login?code=…`: a valid code becomes a session cookie and a 303
/// to `/ui/`; a spent, expired or unknown one is 401 `bad_login_code`.
async fn login(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<LoginQuery>,
) -> Result<Response, ApiError> {
    let code = q.code.unwrap_or_default();
    let session = state.sessions().redeem(&code).map_err(|e| match e {
        LoginError::BadCode => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_login_code",
            format!("{e}; a code works once, for a minute: run `courier open` for a new one"),
        ),
        LoginError::NoRandomness(source) => crate::error::Fault::NoRandomness {
            what: "a session id",
            source,
        }
        .into(),
    })?;
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        state.cookie_name(),
        session.id,
        SESSION_TTL_MS / 1000
    );
    Ok((
        StatusCode::SEE_OTHER,
        [
            (SET_COOKIE, cookie),
            (LOCATION, "/ui/".to_string()),
            (CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response())
}
