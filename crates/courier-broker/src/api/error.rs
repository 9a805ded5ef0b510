//! API errors: JSON `{"error":{"code":…,"message":…}}` with the right status.
//! A client's mistake is a 4xx; only the broker's own failures are 5xx.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use courier_core::{CoreError, Refusal};
use courier_protocol::error::{ErrorBody, ErrorDetail};
use courier_store::StoreError;

use crate::error::BrokerError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The other fields of the error object, for the codes that have them
    /// (`field` of a body refused, `rule` and `refused` of an
    /// `acl_denied`); usually all absent. Their `code` and `message` are
    /// unused: the two above are written.
    pub details: ErrorDetail,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: ErrorDetail::default(),
        }
    }

    /// Names the request field that was wrong (`field`).
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.details.field = Some(field.into());
        self
    }

    /// The fields a body may have and the object an unknown one sat in
    /// (`unknown_field`).
    pub fn with_expected(mut self, expected: Vec<String>, at: Option<String>) -> Self {
        self.details.expected = Some(expected);
        self.details.at = at;
        self
    }

    /// The ACL's rule and every recipient it refused (`acl_denied`).
    pub fn with_refusal(mut self, rule: String, refused: Vec<Refusal>) -> Self {
        self.details.rule = Some(rule);
        self.details.refused = Some(refused);
        self
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
        let error = ErrorDetail {
            code: self.code.to_string(),
            message: self.message,
            ..self.details
        };
        (self.status, Json(ErrorBody { error })).into_response()
    }
}

/// The largest plain-text error body kept as the JSON message; axum's own
/// rejections are one short line.
const MAX_PLAIN_ERROR: usize = 8 * 1024;

/// The last layer: any 4xx/5xx that is not already JSON (axum's 405 with an
/// empty body, a WebSocket upgrade refused, a raw body over the limit, or a
/// rejection a handler did not wrap) becomes `{"error":{code,message}}` with
/// the same status and headers (`Allow` stays), so a client can parse every
/// error the same way.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_PLAIN_ERROR)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut json = ApiError::new(status, code_for(status), message).into_response();
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(CONTENT_LENGTH);
    for (name, value) in &parts.headers {
        json.headers_mut().append(name, value.clone());
    }
    json
}

/// The code of an error that only has a status.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "content_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_request",
        StatusCode::UPGRADE_REQUIRED => "upgrade_required",
        s if s.is_server_error() => "internal",
        _ => "client_error",
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
            CoreError::AclDenied { rule, refused, .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "acl_denied", message)
                    .with_refusal(rule, refused)
            }
            CoreError::InvalidTransition { .. } => {
                ApiError::conflict("invalid_transition", message)
            }
            CoreError::InvalidThread { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_thread", message)
                    .with_field("thread")
            }
            CoreError::InvalidAgentName { .. }
            | CoreError::InvalidChannelName { .. }
            | CoreError::EmptyBody
            | CoreError::IdempotencyKeyTooLong { .. }
            | CoreError::InvalidIdempotencyKey { .. }
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
            BrokerError::NameTaken { .. } => ApiError::conflict("name_taken", message),
            BrokerError::FederationUnavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "federation_unavailable",
                message,
            ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::header::ALLOW;
    use serde_json::json;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn plain_text_errors_become_json_with_status_and_headers_kept() {
        let plain = Response::builder()
            .status(StatusCode::PAYLOAD_TOO_LARGE)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from("length limit exceeded"))
            .unwrap();
        let json = json_errors(plain).await;
        assert_eq!(json.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            body_json(json).await,
            json!({"error": {"code": "body_too_large", "message": "length limit exceeded"}})
        );

        let empty = Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(ALLOW, "GET,HEAD")
            .body(Body::empty())
            .unwrap();
        let json = json_errors(empty).await;
        assert_eq!(json.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(json.headers()[ALLOW], "GET,HEAD");
        let v = body_json(json).await;
        assert_eq!(v["error"]["code"], "method_not_allowed");
        assert_eq!(v["error"]["message"], "Method Not Allowed");
    }

    #[tokio::test]
    async fn json_errors_and_successes_pass_through_untouched() {
        let ok = Response::builder()
            .status(StatusCode::OK)
            .header(CONTENT_TYPE, "text/plain; version=0.0.4")
            .body(Body::from("metrics"))
            .unwrap();
        let out = json_errors(ok).await;
        assert_eq!(out.headers()[CONTENT_TYPE], "text/plain; version=0.0.4");
        let api = ApiError::bad_request("no").into_response();
        let v = body_json(json_errors(api).await).await;
        assert_eq!(
            v,
            json!({"error": {"code": "bad_request", "message": "no"}})
        );
    }
}
