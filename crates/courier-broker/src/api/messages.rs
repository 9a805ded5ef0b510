//! Sending, reading a message with its deliveries, dead letters and replay.
//! An agent sends only as itself, reads only its own inbox and the messages
//! it sent or received; replay is owner-only (a route layer in `mod.rs`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use courier_core::{DeliveryId, MessageId, NewMessage, Recipient};
use courier_protocol::agents::{TokenKind, Whoami};
use courier_protocol::deliveries::{
    DeadLetters, DeliveryView, Inbox, LimitQuery, MessageStatus, SendReceipt, SendRequest,
};

use super::error::ApiError;
use super::identity::Identity;
use super::json::{ApiJson, ApiPath, ApiQuery};
use super::state::AppState;

/// `POST /v1/messages`: 201 when new, 200 with `duplicate: true` when the
/// idempotency key was already used by this sender.
pub async fn send(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendRequest>,
) -> Result<(StatusCode, Json<SendReceipt>), ApiError> {
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
        Json(SendReceipt {
            deliveries: receipt.deliveries.iter().map(DeliveryView::from).collect(),
            dropped: receipt.dropped.iter().map(DeliveryView::from).collect(),
            duplicate: receipt.duplicate,
            message_id: receipt.message.id,
            refused: receipt.refused,
        }),
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
) -> Result<Json<MessageStatus>, ApiError> {
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
    let read_by = deliveries
        .iter()
        .filter(|d| d.read_at.is_some())
        .map(|d| d.agent.clone())
        .collect();
    let replies = state.broker.store().replies_async(&message.id).await?;
    Ok(Json(MessageStatus {
        deliveries: deliveries.iter().map(DeliveryView::from).collect(),
        message: (&message).into(),
        read_by,
        replies,
    }))
}

/// `GET /v1/dlq`: dropped and dead deliveries, newest first.
pub async fn dead_letters(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> Result<Json<DeadLetters>, ApiError> {
    let letters = state
        .broker
        .store()
        .dead_letters_async(q.limit.min(10_000))
        .await?;
    Ok(Json(DeadLetters {
        dead_letters: letters.iter().map(DeliveryView::from).collect(),
    }))
}

/// `POST /v1/dlq/{id}/replay`: put a dropped or dead delivery back in its queue.
pub async fn replay(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DeliveryView>, ApiError> {
    let delivery = state.broker.replay(&DeliveryId::new(id)).await?;
    Ok(Json(DeliveryView::from(&delivery)))
}

/// `GET /v1/agents/{name}/inbox?limit=N`: the agent's newest deliveries with
/// their messages (unverified and dropped ones too, so it can catch up).
pub async fn inbox(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> Result<Json<Inbox>, ApiError> {
    identity.act_on(&name, "not_your_inbox", "read the inbox")?;
    let items = state
        .broker
        .store()
        .inbox_async(&name, q.limit.min(1000))
        .await?;
    Ok(Json(Inbox {
        agent: name,
        deliveries: items
            .iter()
            .map(|(d, m)| DeliveryView::with_message(d, m))
            .collect(),
    }))
}

/// `GET /v1/whoami`: who the token belongs to.
pub async fn whoami(Extension(identity): Extension<Identity>) -> Json<Whoami> {
    let (kind, agent, token_id) = match identity {
        Identity::Owner => (TokenKind::Owner, None, None),
        Identity::Agent(name) => (TokenKind::Agent, Some(name), None),
        Identity::Observer(id) => (TokenKind::Observer, None, Some(id)),
    };
    Json(Whoami {
        agent,
        kind,
        token_id,
    })
}
