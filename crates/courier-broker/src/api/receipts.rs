//! Read receipts, hook claims, delivery modes and flushes. An agent may act
//! only on its own inbox; the owner on any.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use courier_core::{DeliveryId, DeliveryMode};
use courier_protocol::agents::{Flushed, ModeChange, ModeRequest};
use courier_protocol::deliveries::{ClaimRequest, DeliveryView, Inbox, Marked, ReadRequest};

use super::error::ApiError;
use super::identity::Identity;
use super::json::{ApiJson, ApiPath};
use super::state::AppState;

/// An optional JSON body: empty means the defaults.
pub(super) fn optional_body<T: serde::de::DeserializeOwned + Default>(
    bytes: &[u8],
) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let message = format!("invalid JSON body: {e}");
        match super::unknown_field::UnknownField::parse(&message) {
            Some(unknown) => unknown.into_error(),
            None => ApiError::bad_request(message),
        }
    })
}

fn only_self_or_owner(identity: &Identity, name: &str) -> Result<(), ApiError> {
    identity.act_on(name, "not_your_inbox", "act on the inbox")
}

/// `POST /v1/agents/{name}/inbox/read`: the agent confirms it read
/// deliveries (verified or unverified → read, `delivery_read` each).
pub async fn mark_read(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath(name): ApiPath<String>,
    bytes: Bytes,
) -> Result<Json<Marked>, ApiError> {
    only_self_or_owner(&identity, &name)?;
    let body: ReadRequest = optional_body(&bytes)?;
    let ids = body
        .delivery_ids
        .map(|ids| ids.into_iter().map(DeliveryId::new).collect());
    let marked = state.broker.mark_read(&name, ids).await?;
    Ok(Json(Marked {
        agent: name,
        marked: marked.iter().map(DeliveryView::from).collect(),
    }))
}

/// `POST /v1/agents/{name}/inbox/claim`: a hook takes the agent's queued
/// deliveries (queued → read, channel `hook`); they are never typed in.
pub async fn claim(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath(name): ApiPath<String>,
    bytes: Bytes,
) -> Result<Json<Inbox>, ApiError> {
    only_self_or_owner(&identity, &name)?;
    let body: ClaimRequest = optional_body(&bytes)?;
    let limit = body.limit.unwrap_or(crate::delivery::requests::HOOK_BATCH);
    let claimed = state.broker.claim_for_hook(&name, limit).await?;
    Ok(Json(Inbox {
        agent: name,
        deliveries: claimed
            .iter()
            .map(|(d, m)| DeliveryView::with_message(d, m))
            .collect(),
    }))
}

/// `PUT /v1/agents/{name}/mode`: persisted; the running agent follows at once.
pub async fn set_mode(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<ModeRequest>,
) -> Result<Json<ModeChange>, ApiError> {
    only_self_or_owner(&identity, &name)?;
    let mode = DeliveryMode::parse(&body.mode).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_mode",
            format!("mode {:?} is not idle, immediate or manual", body.mode),
        )
    })?;
    state.broker.set_mode(&name, mode).await?;
    Ok(Json(ModeChange { agent: name, mode }))
}

/// `POST /v1/agents/{name}/flush`: lets everything queued now through.
pub async fn flush(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Flushed>, ApiError> {
    only_self_or_owner(&identity, &name)?;
    let count = state.broker.flush(&name).await?;
    Ok(Json(Flushed {
        agent: name,
        flushed: count,
    }))
}
