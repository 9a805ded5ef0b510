//! The HTTP API, bound to 127.0.0.1 by default. Every route but `/healthz`
//! (and the dashboard's pages under `/ui/`, see [`crate::ui`]) needs
//! `Authorization: Bearer <token>` or the dashboard's session cookie (as the
//! owner, with CSRF rules); what an agent's own token may do is
//! in [`auth`] (owner-only routes are marked with [`owner`] below, the
//! self-only ones check in their handler); an observer's token may only
//! read (a layer over every authenticated route, `observer.rs`). Errors are JSON with a code and a
//! message, whoever produced them; a client's mistake is a 4xx.
//! `GET /v1/openapi.json` documents it.
//!
//! Before anything else, every route (`/healthz` and `/ui/` too) checks the
//! `Host` header against an allow-list ([`host_check`], 421 otherwise); a
//! stream holds a [`lease::Lease`] on the credential it was opened with and
//! ends when that is revoked, expires or logs out; events are shown to each
//! reader as it may see them (`event_view.rs`: another agent's screen rows
//! left out). `GET /` redirects to the dashboard.

mod admin;
mod agent_view;
mod agents;
pub mod auth;
pub(crate) mod control_api;
pub mod error;
mod event_view;
mod events;
pub mod host_check;
pub mod identity;
pub(crate) mod json;
pub mod lease;
mod login;
mod messages;
mod observer;
mod receipts;
pub mod state;
mod terminal;
mod terminal_frames;
mod tokens;
mod unknown_field;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::response::Redirect;
use axum::routing::{MethodRouter, delete, get, post, put};

use crate::broker::Broker;
use state::AppState;

/// Marks routes only the owner's token may call (see [`auth::owner_only`]).
fn owner(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.route_layer(from_fn(auth::owner_only))
}

/// The whole API, served at `bound`, with the dashboard's `pages` (the
/// server merges them in, so the API knows nothing of the dashboard).
// Long: the route table, one line per route, read as the API's index.
pub fn router(broker: Broker, token: &str, bound: SocketAddr, pages: Router<AppState>) -> Router {
    let state = AppState::new(broker.clone(), token, bound);
    // JSON framing around the largest body must still fit.
    let body_limit = broker.config().max_body_bytes * 6 + 64 * 1024;
    let authed = Router::new()
        .route("/v1/status", get(admin::status))
        .route("/v1/messages", post(messages::send))
        .route("/v1/messages/{id}", get(messages::get))
        .route(
            "/v1/agents",
            get(agents::list).merge(owner(post(agents::spawn))),
        )
        .route(
            "/v1/agents/{name}",
            get(agents::get).merge(owner(delete(agents::release))),
        )
        .route("/v1/agents/{name}/screen", get(agents::screen))
        .route("/v1/agents/{name}/input", owner(post(agents::input)))
        .route("/v1/agents/{name}/terminal", get(terminal::terminal))
        .route("/v1/agents/{name}/inbox", get(messages::inbox))
        .route("/v1/agents/{name}/inbox/read", post(receipts::mark_read))
        .route("/v1/agents/{name}/inbox/claim", post(receipts::claim))
        .route("/v1/agents/{name}/mode", put(receipts::set_mode))
        .route("/v1/agents/{name}/flush", post(receipts::flush))
        .route(
            "/v1/agents/{name}/interrupt",
            owner(post(control_api::interrupt)),
        )
        .route("/v1/agents/{name}/done", post(control_api::done))
        .route("/v1/whoami", get(messages::whoami))
        .route("/v1/channels", get(agents::channels))
        .route("/v1/federation", get(agents::federation))
        .route("/v1/channels/{channel}/members", post(agents::join))
        .route(
            "/v1/channels/{channel}/members/{agent}",
            delete(agents::leave),
        )
        .route("/v1/events", get(events::list))
        .route("/v1/events/stream", get(events::sse))
        .route("/v1/events/ws", get(events::websocket))
        .route("/v1/dlq", get(messages::dead_letters))
        .route("/v1/dlq/{id}/replay", owner(post(messages::replay)))
        .route("/v1/shutdown", owner(post(admin::shutdown)))
        .route(
            "/v1/tokens",
            owner(get(tokens::list)).merge(owner(post(tokens::create))),
        )
        .route("/v1/tokens/{id}", owner(delete(tokens::revoke)))
        .route("/v1/openapi.json", get(admin::openapi))
        .route("/v1/login-codes", owner(post(login::issue_code)))
        .route("/v1/session", delete(login::logout))
        .route("/metrics", get(admin::metrics))
        .layer(from_fn(observer::read_only))
        .layer(from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/healthz", get(admin::healthz))
        .merge(authed)
        .merge(pages)
        .fallback(admin::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(
            state.access.clone(),
            host_check::allowed_host,
        ))
        .layer(map_response(error::json_errors))
        .with_state(state)
}
