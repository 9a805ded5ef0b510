//! API errors: JSON `{"error":{"code":…,"message":…}}` with the right status.
//! A client's mistake is a 4xx; only the broker's own failures are 5xx.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use courier_core::{CoreError, Refusal};
use courier_protocol::error::{ErrorBody, ErrorDetail};
use courier_store::StoreError;

use crate::error::{BrokerError, ClientError, Fault};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The other fields of the error object, for the codes that have them
    /// (`field` of a body refused, `rule` and `refused` of an
    /// `acl_denied`); usually all absent. Their `code` and `message` are
    /// unused: the two above are written.
    /// Boxed: most errors have none, and a handler's `Result` stays small.
    pub details: Box<ErrorDetail>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Box::default(),
        }
    }

    /// Names the request field that was wrong (`field`).
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.details.field = Some(field.into());
        self
    }

    /// The fields that cannot go together (`invalid_combination`).
    pub fn with_fields(mut self, fields: &[&str]) -> Self {
        self.details.fields = Some(fields.iter().map(|f| f.to_string()).collect());
        self
    }

    /// The workspace host concerned (`name_taken`, `on_other_host`).
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.details.host = Some(host.into());
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
            ..*self.details
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

/// A store error is a client's when it names a broken rule or an unknown
/// delivery, else the broker's fault (see `BrokerError`'s `From`).
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        BrokerError::from(e).into()
    }
}

impl From<BrokerError> for ApiError {
    fn from(e: BrokerError) -> Self {
        match e {
            BrokerError::Client(client) => client.into(),
            BrokerError::Fault(fault) => fault.into(),
        }
    }
}

/// Every client error is a 4xx naming what was wrong (the field, where
/// there is one).
impl From<ClientError> for ApiError {
    fn from(e: ClientError) -> Self {
        let message = e.to_string();
        match e {
            ClientError::Refused(core) => core.into(),
            ClientError::UnknownAgent(_) => ApiError::not_found("unknown_agent", message),
            ClientError::UnknownDelivery(_) => ApiError::not_found("unknown_delivery", message),
            ClientError::NotRunning(_) => ApiError::conflict("agent_not_running", message),
            ClientError::Headless(_) => ApiError::conflict("agent_headless", message),
            ClientError::AgentExists(_) => {
                ApiError::conflict("agent_exists", message).with_field("name")
            }
            ClientError::NameTaken { host, .. } => ApiError::conflict("name_taken", message)
                .with_field("name")
                .with_host(host),
            ClientError::InvalidField { field, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", message).with_field(field)
            }
            ClientError::InvalidCombination { fields, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_combination", message)
                    .with_fields(fields)
            }
            ClientError::OnOtherHost { host, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "on_other_host", message).with_host(host)
            }
            ClientError::Preset(courier_presets::PresetError::CliNotInstalled { .. }) => {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "cli_not_installed",
                    message,
                )
                .with_field("preset")
            }
            ClientError::Preset(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "preset", message)
                    .with_field("preset")
            }
            ClientError::Spawn(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "spawn_failed", message)
                    .with_field("command")
            }
        }
    }
}

/// Every fault is a 5xx whose code says what failed, logged here with the
/// operation: the client only learns that the broker failed and at what.
impl From<Fault> for ApiError {
    fn from(e: Fault) -> Self {
        let message = e.to_string();
        let operation = e.operation();
        let (status, code) = match e {
            Fault::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            Fault::Terminal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "terminal_failed"),
            Fault::StateDir(_) => (StatusCode::INTERNAL_SERVER_ERROR, "state_dir_failed"),
            Fault::PresetFile(_) => (StatusCode::INTERNAL_SERVER_ERROR, "preset_file_unreadable"),
            Fault::NoRandomness { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "no_randomness"),
            Fault::Bind { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "cannot_listen"),
            Fault::SessionsDir { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "sessions_dir_failed"),
            Fault::Launch { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "launch_failed"),
            Fault::Encode { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "encode_failed"),
            Fault::Federation(_) => (StatusCode::SERVICE_UNAVAILABLE, "federation_failed"),
            Fault::FederationUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "federation_unavailable")
            }
            // Expected while stopping: not the broker failing.
            Fault::ShuttingDown => {
                tracing::info!(%operation, "refused a request: the broker is stopping");
                return ApiError::unavailable(message);
            }
        };
        tracing::error!(%operation, %code, error = %message, "the broker failed a request");
        ApiError::new(status, code, message)
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
