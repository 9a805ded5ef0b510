//! Health, status, metrics, shutdown and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use courier_core::StuckReason;
use serde_json::{Value, json};

use super::error::ApiError;
use super::state::AppState;
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
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    if state.broker.shutdown_signal().is_triggered() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "stopping"})),
        );
    }
    let stuck = state.broker.stuck();
    let dead = dead_json(&state);
    if stuck.is_empty() && dead.is_empty() {
        (StatusCode::OK, Json(json!({"status": "ok"})))
    } else {
        // No token here, so no screen rows (they show what agents were
        // told): ids, reason and why only; `/v1/status` has the excerpts.
        let stuck: Vec<Value> = stuck
            .iter()
            .map(|s| {
                json!({
                    "delivery_id": s.delivery_id,
                    "message_id": s.message_id,
                    "agent": s.agent,
                    "state": s.state,
                    "waited_ms": s.waited_ms,
                    "reason": s.reason,
                    "why": s.why,
                })
            })
            .collect();
        (
            StatusCode::OK,
            Json(json!({"status": "degraded", "stuck": stuck, "dead": dead})),
        )
    }
}

/// Agents whose restart policy gave up: name, restarts, since, reason.
fn dead_json(state: &AppState) -> Vec<Value> {
    state
        .broker
        .dead_agents()
        .into_iter()
        .map(|(name, d)| {
            json!({"name": name, "restarts": d.restarts, "since": d.since, "reason": d.reason})
        })
        .collect()
}

pub async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let broker = &state.broker;
    let pending = broker.store().pending_count_async().await?;
    let agents = broker.agents().await.len();
    let last_seq = broker.store().last_seq_async().await?;
    let federation = match broker.federation() {
        Some(federation) => {
            federation.status_json(broker.store().pending_forward_count_async().await?)
        }
        None => json!({"enabled": false}),
    };
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "uptime_ms": broker.uptime().as_millis() as u64,
        "durable": matches!(broker.config().durability, crate::config::Durability::Durable { .. }),
        "store": broker.store().path().display().to_string(),
        "agents": agents,
        "pending": pending,
        "last_seq": last_seq,
        "stuck": broker.stuck(),
        "acl": {
            "file": broker.config().acl_path.as_ref().map(|p| p.display().to_string()),
            "rules": broker.config().acl.rule_count(),
            "default": broker.config().acl.default_action().as_str(),
        },
        "dead": dead_json(&state),
        "federation": federation,
    })))
}

/// `POST /v1/shutdown`: graceful stop (202; the broker exits shortly).
pub async fn shutdown(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    tracing::info!("shutdown requested through the API");
    state.broker.shutdown_signal().trigger();
    (StatusCode::ACCEPTED, Json(json!({"status": "stopping"})))
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
