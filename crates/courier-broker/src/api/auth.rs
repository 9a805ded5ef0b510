//! Authentication for every route but `/healthz`, and the rule of what an
//! agent's own token may do.
//!
//! Two credentials: a bearer token (`Authorization: Bearer`, or `?token=`
//! for clients that cannot set headers), and the dashboard's session cookie
//! (`courier_session`, from a one-time login code, see [`crate::ui`]), which
//! acts as the owner. A bearer token wins when both come. A cookie is sent
//! by the browser on its own, so a request that only has one must show it
//! comes from the dashboard's own pages (CSRF): a write (any method but
//! GET, HEAD, OPTIONS) must carry `X-Courier-Request: 1` — a custom header,
//! which a page of another origin cannot send without a CORS preflight this
//! API never grants — and a WebSocket upgrade, which browsers do not
//! preflight, must carry an `Origin` equal to the origin it addressed
//! (`http://` + its `Host`). Bearer clients are not affected.
//!
//! The owner (the connection file's token) may do everything. An agent's
//! token (its `COURIER_TOKEN`) may act only as that agent: send as itself,
//! read and claim its own inbox, set its own mode, flush itself, join and
//! leave channels for itself, read its own screen and the messages it sent
//! or received; and read what is shared (agents, channels, events, dead
//! letters, status, metrics). It may never type into a terminal, spawn,
//! release, replay dead letters or shut the broker down: raw keystrokes
//! into another terminal would let it speak as that agent, and the rest
//! belongs to the person who runs the broker.
//!
//! An observer's token (issued by the owner: `courier token create
//! --observer`) may only read: every route but GET and HEAD answers 403
//! `read_only` ([`super::observer::read_only`]); it reads what the owner
//! reads (every agent, screen, message, event) except the owner-only token
//! list. An expired or revoked one is 401.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN, UPGRADE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
pub use super::identity::Identity;
use super::lease::Lease;
use super::state::AppState;
pub use crate::auth::sessions::{SESSION_COOKIE, session_cookie_name};
use crate::auth::token::tokens_match;

/// How the caller proved who it is, for the few routes that care (a login
/// code is only for a bearer of the owner's token; logout ends the session
/// it came with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Token,
    Session(String),
}

/// The header a cookie-only write must carry (see the module docs).
pub const CSRF_HEADER: &str = "x-courier-request";

/// Accepts `Authorization: Bearer <token>`, or `?token=<token>` for clients
/// that cannot set headers; else the dashboard's session cookie, as the
/// owner, with the CSRF rules of the module docs.
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
    let (identity, credential, lease) = match from_header.or(from_query) {
        Some(given) if tokens_match(state.token(), given) => {
            (Identity::Owner, Credential::Token, Lease::Forever)
        }
        Some(given) => match state.broker.agent_for_token(given) {
            Some(agent) => (Identity::Agent(agent), Credential::Token, Lease::Forever),
            None => (
                super::observer::identify(&state, given)?,
                Credential::Token,
                Lease::Issued(given.into()),
            ),
        },
        None => match session_cookie(request.headers(), &state.cookie_name()) {
            Some(id) if state.sessions().is_valid(id) => {
                from_own_page(request.method(), request.headers())?;
                (
                    Identity::Owner,
                    Credential::Session(id.to_string()),
                    Lease::Session(id.to_string()),
                )
            }
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the dashboard session has expired or ended; run `courier open` to log in again",
                ));
            }
            None => return Err(ApiError::unauthorized()),
        },
    };
    request.extensions_mut().insert(identity);
    request.extensions_mut().insert(credential);
    request.extensions_mut().insert(lease);
    Ok(next.run(request).await)
}

/// The value of the cookie `cookie_name`, if the request has one.
pub fn session_cookie<'a>(headers: &'a HeaderMap, cookie_name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == cookie_name && !value.is_empty()).then_some(value)
        })
}

/// The CSRF rules for a request whose only credential is the cookie: a
/// write carries [`CSRF_HEADER`], a WebSocket upgrade an `Origin` equal to
/// the origin it addressed.
fn from_own_page(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    let upgrade = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
        let host = headers.get(HOST).and_then(|v| v.to_str().ok());
        let own = match (origin, host) {
            (Some(origin), Some(host)) => {
                origin.strip_prefix("http://") == Some(host)
                    || origin.strip_prefix("https://") == Some(host)
            }
            _ => false,
        };
        if !own {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "bad_origin",
                format!(
                    "a WebSocket opened with the dashboard's session cookie must come from the \
                     dashboard's own origin (Origin {}, Host {})",
                    origin.unwrap_or("missing"),
                    host.unwrap_or("missing")
                ),
            ));
        }
        return Ok(());
    }
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let marked = headers
        .get(CSRF_HEADER)
        .is_some_and(|v| v.as_bytes() == b"1");
    if safe || marked {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_header_required",
            format!(
                "{method} with the dashboard's session cookie must carry the header \
                 `X-Courier-Request: 1` (pages of other sites cannot send it); scripts use \
                 the bearer token instead"
            ),
        ))
    }
}

/// Route layer for what only the owner may do (raw input, spawn, release,
/// dead-letter replay, shutdown): an agent's token gets 403 `owner_only`.
/// Runs inside [`require_token`], so an identity is always there; a request
/// without one is refused rather than let through.
pub async fn owner_only(request: Request, next: Next) -> Result<Response, ApiError> {
    match request.extensions().get::<Identity>() {
        Some(Identity::Owner) => Ok(next.run(request).await),
        Some(Identity::Agent(me)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "owner_only",
            format!(
                "agent {me:?} cannot {} {}: it needs the owner's token from connection.json",
                request.method(),
                request.uri().path()
            ),
        )),
        Some(Identity::Observer(id)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "owner_only",
            format!(
                "observer token {id} cannot {} {}: it needs the owner's token from connection.json",
                request.method(),
                request.uri().path()
            ),
        )),
        None => Err(ApiError::unauthorized()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let name = session_cookie_name(4000);
        assert_eq!(name, "courier_session_4000");
        let h = headers(&[("cookie", "a=1; courier_session_4000=abc; b=2")]);
        assert_eq!(session_cookie(&h, &name), Some("abc"));
        let h = headers(&[("cookie", "a=1"), ("cookie", "courier_session_4000=xyz")]);
        assert_eq!(session_cookie(&h, &name), Some("xyz"));
        for other in [
            "courier_session_4000=",
            "xcourier_session_4000=1",
            "courier_session=abc",
            "courier_session_40001=abc",
            "courier_session_400=abc",
        ] {
            assert_eq!(
                session_cookie(&headers(&[("cookie", other)]), &name),
                None,
                "{other}"
            );
        }
        assert_eq!(session_cookie(&HeaderMap::new(), &name), None);
    }

    #[test]
    fn cookie_writes_need_the_custom_header() {
        assert!(from_own_page(&Method::GET, &HeaderMap::new()).is_ok());
        assert!(from_own_page(&Method::HEAD, &HeaderMap::new()).is_ok());
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let refused = from_own_page(&method, &HeaderMap::new()).unwrap_err();
            assert_eq!(refused.code, "csrf_header_required");
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            let wrong = headers(&[("x-courier-request", "yes")]);
            assert!(from_own_page(&method, &wrong).is_err());
            let marked = headers(&[("x-courier-request", "1")]);
            assert!(from_own_page(&method, &marked).is_ok());
        }
    }

    #[test]
    fn cookie_websockets_need_their_own_origin() {
        let ws = |origin: Option<&'static str>| {
            let mut pairs = vec![("upgrade", "websocket"), ("host", "127.0.0.1:4000")];
            pairs.extend(origin.map(|o| ("origin", o)));
            from_own_page(&Method::GET, &headers(&pairs))
        };
        assert!(ws(Some("http://127.0.0.1:4000")).is_ok());
        for bad in [
            None,
            Some("http://127.0.0.1:8080"),
            Some("http://evil.example"),
            Some("null"),
            Some("http://127.0.0.1:4000.evil.example"),
        ] {
            let refused = ws(bad).unwrap_err();
            assert_eq!(refused.code, "bad_origin", "{bad:?}");
        }
    }
}
