//! Sending, reading a message with its deliveries, dead letters and replay.
//! An agent sends only as itself, reads only its own inbox and the messages
//! it sent or received; replay is owner-only (a route layer in `mod.rs`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use courier_core::{Delivery, DeliveryId, MessageId, NewMessage, Recipient};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::identity::Identity;
use super::json::{ApiJson, ApiPath, ApiQuery};
use super::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// Default: the calling agent (required with the owner's token).
    #[serde(default)]
    pub from: Option<String>,
    pub to: String,
    pub body: String,
    #[serde(default)]
    pub thread: Option<String>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

pub(crate) fn delivery_json(d: &Delivery) -> Value {
    let mut v = json!({
        "id": d.id, "message_id": d.message_id, "agent": d.agent, "from": d.from,
        "state": d.state, "attempt": d.attempt, "verification": d.verification,
        "reason": d.reason, "created_at": d.created_at, "updated_at": d.updated_at,
        "channel": d.channel, "read_at": d.read_at,
    });
    // Federation only: which host holds it, or which host sent it here.
    if let Some(host) = &d.forwarded_to {
        v["forwarded_to"] = json!(host);
    }
    if let Some(host) = &d.origin_host {
        v["origin_host"] = json!(host);
    }
    v
}

/// `POST /v1/messages`: 201 when new, 200 with `duplicate: true` when the
/// idempotency key was already used by this sender.
pub async fn send(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let from = sender(&identity, body.from)?;
    let to: Recipient = body.to.parse()?;
    let header_key = idempotency_header(&headers)?;
    let message = NewMessage {
        from,
        to,
        body: body.body,
        thread: body.thread.map(MessageId::new),
        idempotency_key: header_key.or(body.idempotency_key),
    };
    // Right after `courier up --nats`, the join may be under way: wait for
    // it (bounded) so a send to an agent of another host finds it.
    if let Some(federation) = state.broker.federation() {
        federation.wait_joined(crate::federation::JOIN_WAIT).await;
    }
    let receipt = state.broker.send(message).await?;
    let status = if receipt.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({
            "message_id": receipt.message.id,
            "duplicate": receipt.duplicate,
            "deliveries": receipt.deliveries.iter().map(delivery_json).collect::<Vec<_>>(),
            "dropped": receipt.dropped.iter().map(delivery_json).collect::<Vec<_>>(),
            "refused": receipt.refused,
        })),
    ))
}

/// Who sends: an agent as itself only, the owner as anyone it names.
fn sender(identity: &Identity, from: Option<String>) -> Result<String, ApiError> {
    match (identity, from) {
        (Identity::Agent(me), Some(from)) if *me != from => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forged_sender",
            format!("agent {me:?} cannot send as {from:?}; leave `from` out or use your own name"),
        )),
        (Identity::Agent(me), _) => Ok(me.clone()),
        (Identity::Owner, Some(from)) => Ok(from),
        (Identity::Observer(id), _) => {
            // The read-only layer refuses this first; kept for the record.
            Err(super::observer::refusal(id, "POST", "/v1/messages"))
        }
        (Identity::Owner, None) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_message",
            "`from` is required (the sender's name)",
        )),
    }
}

/// The request's `Idempotency-Key` header, if any.
fn idempotency_header(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_string)
                .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))
        })
        .transpose()
}

/// `GET /v1/messages/{id}`: the message and the state of each delivery.
/// An agent may read only a message it sent or was sent: every message id
/// is in the event log, so this is what keeps others' bodies private.
pub async fn get(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let found = state
        .broker
        .store()
        .message_async(&MessageId::new(&id))
        .await?;
    let (message, deliveries) = found.ok_or_else(|| {
        ApiError::not_found("unknown_message", format!("no message with id {id}"))
    })?;
    if let Identity::Agent(me) = &identity {
        let party = message.from == *me || deliveries.iter().any(|d| d.agent == *me);
        if !party {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_your_message",
                format!("agent {me:?} neither sent nor received message {id}"),
            ));
        }
    }
    let read_by: Vec<&str> = deliveries
        .iter()
        .filter(|d| d.read_at.is_some())
        .map(|d| d.agent.as_str())
        .collect();
    Ok(Json(json!({
        "message": message,
        "deliveries": deliveries.iter().map(delivery_json).collect::<Vec<_>>(),
        "read_by": read_by,
    })))
}

#[derive(Debug, Deserialize)]
pub struct Limit {
    #[serde(default = "default_limit")]
    pub limit: usize,
}

fn default_limit() -> usize {
    100
}

/// `GET /v1/dlq`: dropped and dead deliveries, newest first.
pub async fn dead_letters(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<Limit>,
) -> Result<Json<Value>, ApiError> {
    let letters = state
        .broker
        .store()
        .dead_letters_async(q.limit.min(10_000))
        .await?;
    Ok(Json(json!({
        "dead_letters": letters.iter().map(delivery_json).collect::<Vec<_>>()
    })))
}

/// `POST /v1/dlq/{id}/replay`: put a dropped or dead delivery back in its queue.
pub async fn replay(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let delivery = state.broker.replay(&DeliveryId::new(id)).await?;
    Ok(Json(delivery_json(&delivery)))
}

/// `GET /v1/agents/{name}/inbox?limit=N`: the agent's newest deliveries with
/// their messages (unverified and dropped ones too, so it can catch up).
pub async fn inbox(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<Limit>,
) -> Result<Json<Value>, ApiError> {
    identity.act_on(&name, "not_your_inbox", "read the inbox")?;
    let items = state
        .broker
        .store()
        .inbox_async(&name, q.limit.min(1000))
        .await?;
    Ok(Json(json!({
        "agent": name,
        "deliveries": items.iter().map(|(d, m)| {
            let mut v = delivery_json(d);
            v["message"] = json!(m);
            v
        }).collect::<Vec<_>>()
    })))
}

/// `GET /v1/whoami`: who the token belongs to.
pub async fn whoami(Extension(identity): Extension<Identity>) -> Json<Value> {
    match identity {
        Identity::Owner => Json(json!({"kind": "owner"})),
        Identity::Agent(name) => Json(json!({"kind": "agent", "agent": name})),
        Identity::Observer(id) => Json(json!({"kind": "observer", "token_id": id})),
    }
}
