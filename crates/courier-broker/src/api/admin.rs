//! Health, status, metrics, shutdown and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use courier_core::StuckReason;
use courier_protocol::status::{
    AclSummary, BrokerStatus, DeadAgent, FederationStatus, Health, StuckDelivery,
};

use super::error::ApiError;
use super::state::AppState;
use crate::delivery::watchdog::Stuck;
use crate::metrics::Metrics;

/// The OpenAPI 3.1 document of this API, generated from the protocol's
/// types and operations once, on first use.
pub static OPENAPI: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| courier_protocol::openapi::document().to_string());

/// `GET /healthz` (no auth): `ok`; `degraded` with the dead agents (name,
/// restarts, reason) and the stuck deliveries
/// (ids, state, reason and why; their screen excerpts only in the
/// authenticated `/v1/status`)
/// (still 200: the broker serves and keeps its store; a restart would not
/// help a swallowing agent, so a liveness probe must not kill it — alert on
/// the status instead); 503 while shutting down.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    if state.broker.shutdown_signal().is_triggered() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(health("stopping")));
    }
    let stuck = state.broker.stuck();
    let dead = dead_agents(&state);
    if stuck.is_empty() && dead.is_empty() {
        return (StatusCode::OK, Json(health("ok")));
    }
    // No token here, so no screen rows (they show what agents were told):
    // ids, reason and why only; `/v1/status` has the excerpts.
    let stuck = stuck.iter().map(|s| stuck_view(s, false)).collect();
    let degraded = Health {
        stuck: Some(stuck),
        dead: Some(dead),
        ..health("degraded")
    };
    (StatusCode::OK, Json(degraded))
}

fn health(status: &str) -> Health {
    Health {
        dead: None,
        status: status.to_string(),
        stuck: None,
    }
}

/// A stuck delivery as the API shows it; its screen rows and since only
/// where a token was shown.
fn stuck_view(s: &Stuck, full: bool) -> StuckDelivery {
    StuckDelivery {
        agent: s.agent.clone(),
        delivery_id: s.delivery_id.clone(),
        message_id: s.message_id.clone(),
        reason: s.reason,
        screen: full.then(|| s.screen.clone()),
        since: full.then_some(s.since),
        state: s.state,
        waited_ms: s.waited_ms,
        why: s.why.clone(),
    }
}

/// Agents whose restart policy gave up: name, restarts, since, reason.
fn dead_agents(state: &AppState) -> Vec<DeadAgent> {
    state
        .broker
        .dead_agents()
        .into_iter()
        .map(|(name, d)| DeadAgent {
            name,
            reason: d.reason,
            restarts: d.restarts,
            since: d.since,
        })
        .collect()
}

pub async fn status(State(state): State<AppState>) -> Result<Json<BrokerStatus>, ApiError> {
    let broker = &state.broker;
    let pending = broker.store().pending_count_async().await?;
    let agents = broker.agents().await.len();
    let last_seq = broker.store().last_seq_async().await?;
    let federation = match broker.federation() {
        Some(federation) => federation.status(broker.store().pending_forward_count_async().await?),
        None => FederationStatus::default(),
    };
    let config = broker.config();
    Ok(Json(BrokerStatus {
        acl: AclSummary {
            default: config.acl.default_action().as_str().to_string(),
            file: config.acl_path.as_ref().map(|p| p.display().to_string()),
            rules: config.acl.rule_count(),
        },
        agents,
        dead: dead_agents(&state),
        durable: matches!(config.durability, crate::config::Durability::Durable { .. }),
        federation,
        last_seq,
        pending,
        pid: std::process::id(),
        store: broker.store().path().display().to_string(),
        stuck: broker.stuck().iter().map(|s| stuck_view(s, true)).collect(),
        uptime_ms: broker.uptime().as_millis() as u64,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }))
}

/// `POST /v1/shutdown`: graceful stop (202; the broker exits shortly).
pub async fn shutdown(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    tracing::info!("shutdown requested through the API");
    state.broker.shutdown_signal().trigger();
    (StatusCode::ACCEPTED, Json(health("stopping")))
}

pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let broker = &state.broker;
    let pending = broker.store().pending_count_async().await? as u64;
    let agents = broker.agents().await.len() as u64;
    let last_seq = broker.store().last_seq_async().await?;
    let stuck = broker.stuck();
    let mut text = broker.metrics().render(&[
        ("courier_agents", "Agents running", agents),
        (
            "courier_pending_deliveries",
            "Deliveries queued or in flight",
            pending,
        ),
        (
            "courier_deliveries_stuck",
            "Deliveries stuck right now",
            stuck.len() as u64,
        ),
        (
            "courier_agents_dead",
            "Agents whose restart policy gave up",
            broker.dead_agents().len() as u64,
        ),
        (
            "courier_last_event_seq",
            "Seq of the newest event",
            last_seq,
        ),
    ]);
    let by_reason: Vec<(&str, u64)> = StuckReason::ALL
        .iter()
        .map(|r| {
            let n = stuck.iter().filter(|s| s.reason == *r).count() as u64;
            (r.as_str(), n)
        })
        .collect();
    text.push_str(&Metrics::render_labeled_gauge(
        "courier_deliveries_stuck_by_reason",
        "Deliveries stuck right now, by reason",
        "reason",
        &by_reason,
    ));
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI.as_str(),
    )
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("not_found", "no such route; see GET /v1/openapi.json")
}
