//! Bearer-token authentication for every route but `/healthz`, and the rule
//! of what an agent's own token may do.
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
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use courier_core::recipient::validate_agent_name;

use super::AppState;
use super::error::ApiError;
use crate::token::tokens_match;

/// Who is calling: the broker's owner (the connection file's token) or one
/// agent (its own `COURIER_TOKEN`), which may act only as itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Owner,
    Agent(String),
    /// An observer token the owner issued, by its id: reads only.
    Observer(String),
}

impl Identity {
    /// Passes the owner, and an agent acting on `name` when `name` is itself;
    /// refuses another agent with 403 `code` ("cannot {what} of {name}").
    pub fn act_on(&self, name: &str, code: &'static str, what: &str) -> Result<(), ApiError> {
        validate_agent_name(name)?;
        match self {
            Identity::Agent(me) if me != name => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                code,
                format!(
                    "agent {me:?} cannot {what} of {name:?}; an agent token acts only as itself"
                ),
            )),
            _ => Ok(()),
        }
    }
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
            None => super::observer::identify(&state, given)?,
        },
        None => return Err(ApiError::unauthorized()),
    };
    request.extensions_mut().insert(identity);
    Ok(next.run(request).await)
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
