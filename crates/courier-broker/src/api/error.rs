//! API errors: JSON `{"error":{"code":…,"message":…}}` with the right status.
//! A client's mistake is a 4xx; only the broker's own failures are 5xx.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use courier_core::CoreError;
use courier_store::StoreError;

use crate::error::BrokerError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token; read it from the broker's connection.json",
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        match e {
            CoreError::UnknownAgent { .. } => ApiError::not_found("unknown_agent", message),
            CoreError::BodyTooLarge { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message)
            }
            CoreError::InvalidTransition { .. } => {
                ApiError::conflict("invalid_transition", message)
            }
            CoreError::InvalidAgentName { .. }
            | CoreError::InvalidChannelName { .. }
            | CoreError::EmptyBody
            | CoreError::IdempotencyKeyTooLong { .. }
            | CoreError::SendToSelf { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_message", message)
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e.clone() {
            StoreError::Refused(core) => core.into(),
            StoreError::UnknownDelivery { .. } => {
                ApiError::not_found("unknown_delivery", e.to_string())
            }
            other => {
                let message = other.to_string();
                tracing::warn!(error = %message, "store refused a request");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    message,
                )
            }
        }
    }
}

impl From<BrokerError> for ApiError {
    fn from(e: BrokerError) -> Self {
        let message = e.to_string();
        match e {
            BrokerError::Refused(core) => core.into(),
            BrokerError::Store(store) => store.into(),
            BrokerError::UnknownAgent(_) => ApiError::not_found("unknown_agent", message),
            BrokerError::AgentExists(_) => ApiError::conflict("agent_exists", message),
            BrokerError::BadRequest(_) => ApiError::bad_request(message),
            BrokerError::ShuttingDown => ApiError::unavailable(message),
            BrokerError::Terminal(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "spawn_failed", message)
            }
            BrokerError::StateDir(_) => ApiError::internal(message),
            BrokerError::Preset(courier_presets::PresetError::CliNotInstalled { .. }) => {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "cli_not_installed",
                    message,
                )
            }
            BrokerError::Preset(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "preset", message)
            }
        }
    }
}
