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
#[cfg(test)]
mod route_tests;
pub mod state;
mod terminal;
mod terminal_frames;
mod tokens;
mod transcript;
mod unknown_field;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::response::Redirect;
use axum::routing::{MethodFilter, MethodRouter, get, on};
use courier_protocol::openapi::Method;

use crate::broker::Broker;
use state::AppState;

// The route table the router is built from: every method on every path,
// its handler and who may call it. The OpenAPI document lists the same
// operations (`courier_protocol::openapi::operations`); `route_tests.rs`
// fails when one has a route the other lacks, so no route is served
// undocumented. The dashboard's pages (`/`, `/ui/`) are not API routes.

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// No credential (and no observer rule): `/healthz`.
    Public,
    /// Any credential; what an agent's token may do is checked in the
    /// handler, an observer's by the read-only layer.
    Token,
    /// The owner's token only ([`auth::owner_only`]).
    Owner,
}

struct Route {
    /// Read by the test that compares this table with the document; the
    /// router needs only `router`, which was built from it.
    #[cfg_attr(not(test), allow(dead_code))]
    method: Method,
    path: &'static str,
    caller: Caller,
    router: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, caller: Caller, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = match method {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
        Method::Put => MethodFilter::PUT,
        Method::Delete => MethodFilter::DELETE,
    };
    Route {
        method,
        path,
        caller,
        router: on(filter, handler),
    }
}

/// Every API route.
fn table() -> Vec<Route> {
    use Caller::{Owner, Public, Token};
    use Method::{Delete, Get, Post, Put};
    vec![
        route(Get, "/healthz", Public, admin::healthz),
        route(Get, "/v1/status", Token, admin::status),
        route(Post, "/v1/messages", Token, messages::send),
        route(Get, "/v1/messages/{id}", Token, messages::get),
        route(Get, "/v1/agents", Token, agents::list),
        route(Post, "/v1/agents", Owner, agents::spawn),
        route(Get, "/v1/agents/{name}", Token, agents::get),
        route(Delete, "/v1/agents/{name}", Owner, agents::release),
        route(Get, "/v1/agents/{name}/screen", Token, agents::screen),
        route(
            Get,
            "/v1/agents/{name}/transcript",
            Token,
            transcript::transcript,
        ),
        route(Post, "/v1/agents/{name}/input", Owner, agents::input),
        route(Get, "/v1/agents/{name}/terminal", Token, terminal::terminal),
        route(Get, "/v1/agents/{name}/inbox", Token, messages::inbox),
        route(
            Post,
            "/v1/agents/{name}/inbox/read",
            Token,
            receipts::mark_read,
        ),
        route(
            Post,
            "/v1/agents/{name}/inbox/claim",
            Token,
            receipts::claim,
        ),
        route(Put, "/v1/agents/{name}/mode", Token, receipts::set_mode),
        route(Post, "/v1/agents/{name}/flush", Token, receipts::flush),
        route(
            Post,
            "/v1/agents/{name}/interrupt",
            Owner,
            control_api::interrupt,
        ),
        route(Post, "/v1/agents/{name}/done", Token, control_api::done),
        route(Get, "/v1/whoami", Token, messages::whoami),
        route(Get, "/v1/channels", Token, agents::channels),
        route(Get, "/v1/federation", Token, agents::federation),
        route(Post, "/v1/channels/{channel}/members", Token, agents::join),
        route(
            Delete,
            "/v1/channels/{channel}/members/{agent}",
            Token,
            agents::leave,
        ),
        route(Get, "/v1/events", Token, events::list),
        route(Get, "/v1/events/stream", Token, events::sse),
        route(Get, "/v1/events/ws", Token, events::websocket),
        route(Get, "/v1/dlq", Token, messages::dead_letters),
        route(Post, "/v1/dlq/{id}/replay", Owner, messages::replay),
        route(Post, "/v1/shutdown", Owner, admin::shutdown),
        route(Get, "/v1/tokens", Owner, tokens::list),
        route(Post, "/v1/tokens", Owner, tokens::create),
        route(Delete, "/v1/tokens/{id}", Owner, tokens::revoke),
        route(Get, "/v1/openapi.json", Token, admin::openapi),
        route(Post, "/v1/login-codes", Owner, login::issue_code),
        route(Delete, "/v1/session", Token, login::logout),
        route(Get, "/metrics", Token, admin::metrics),
    ]
}

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
    let mut public = Router::new().route("/", get(|| async { Redirect::to("/ui/") }));
    let mut authed = Router::new();
    for route in table() {
        match route.caller {
            Caller::Public => public = public.route(route.path, route.router),
            Caller::Token => authed = authed.route(route.path, route.router),
            Caller::Owner => authed = authed.route(route.path, owner(route.router)),
        }
    }
    let authed = authed
        .layer(from_fn(observer::read_only))
        .layer(from_fn_with_state(state.clone(), auth::require_token));
    public
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
