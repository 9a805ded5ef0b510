//! Operating agents: interrupt one (owner only, a route layer in `mod.rs`)
//! and report one done (the agent itself, or the owner).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use courier_core::recipient::validate_agent_name;
use courier_protocol::agents::{DoneReport, DoneRequest, Interrupted};

use super::error::ApiError;
use super::identity::Identity;
use super::json::ApiPath;
use super::receipts::optional_body;
use super::state::AppState;
use crate::error::{BrokerError, Fault};
use crate::lifecycle::interrupt::InterruptRefused;

/// `POST /v1/agents/{name}/interrupt`: the agent's interrupt keys; 409
/// with the dialog line when a known dialog is on its screen.
pub async fn interrupt(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Interrupted>, ApiError> {
    validate_agent_name(&name)?;
    match state.broker.interrupt(&name).await {
        Ok(keys) => Ok(Json(Interrupted { agent: name, keys })),
        Err(InterruptRefused::Broker(BrokerError::Fault(Fault::Terminal(e)))) => Err(
            ApiError::conflict("write_failed", format!("cannot interrupt {name:?}: {e}")),
        ),
        Err(InterruptRefused::Broker(e)) => Err(e.into()),
        Err(e @ InterruptRefused::Dialog { .. }) => {
            Err(ApiError::conflict("dialog_on_screen", e.to_string()))
        }
        Err(e @ InterruptRefused::NotRunning { .. }) => {
            Err(ApiError::conflict("agent_not_running", e.to_string()))
        }
        Err(e @ InterruptRefused::Delivering { .. }) => {
            Err(ApiError::conflict("delivery_in_flight", e.to_string()))
        }
    }
}

/// `POST /v1/agents/{name}/done`: the agent reports it finished its task
/// (`agent_done`); its listing shows `done` and `result`.
pub async fn done(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath(name): ApiPath<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<DoneReport>), ApiError> {
    identity.act_on(&name, "not_yourself", "report done")?;
    let body: DoneRequest = optional_body(&bytes)?;
    state.broker.report_done(&name, body.result.clone()).await?;
    Ok((
        StatusCode::OK,
        Json(DoneReport {
            agent: name,
            done: true,
            result: body.result,
        }),
    ))
}

/// A spawn request's `Idempotency-Key` (visible ASCII, at most
/// [`crate::spec::task::MAX_SPAWN_KEY`] bytes): the key of its initial
/// task, so a retried spawn cannot send the task twice.
pub fn spawn_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?;
    let max = crate::spec::task::MAX_SPAWN_KEY;
    if key.is_empty() || key.len() > max {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_spec",
            format!(
                "Idempotency-Key of a spawn must be 1 to {max} bytes (got {})",
                key.len()
            ),
        ));
    }
    Ok(Some(key.to_string()))
}
