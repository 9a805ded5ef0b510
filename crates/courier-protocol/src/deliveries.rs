//! Messages and their deliveries as the API takes and returns them:
//! `POST /v1/messages` (request and receipt), `GET /v1/messages/{id}`,
//! inboxes, read receipts, hook claims and dead letters.

use courier_core::{
    Delivery, DeliveryChannel, DeliveryId, DeliveryState, Message, MessageId, Recipient, Refusal,
    Reply, Timestamp, Verification,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /v1/messages`. The `Idempotency-Key` header wins over
/// `idempotency_key`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// Sender name; default: the calling agent. An agent token may only
    /// send as itself (403 forged_sender); the owner's must name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Agent name, `#channel` or `*`.
    pub to: String,
    pub body: String,
    /// Id of the message this one answers; an id follows the rule of a
    /// name (400 invalid_thread otherwise: it is part of the header line
    /// typed into the recipient's terminal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"))]
    pub thread: Option<String>,
    /// At most 256 bytes, no control character (422 invalid_message otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The answer to a send: 201 when new, 200 with `duplicate: true` when the
/// idempotency key was already used by this sender (the original message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SendReceipt {
    /// One per recipient agent the send reached.
    #[serde(default)]
    pub deliveries: Vec<DeliveryView>,
    /// Older deliveries evicted from full queues by this send.
    #[serde(default)]
    pub dropped: Vec<DeliveryView>,
    #[serde(default)]
    pub duplicate: bool,
    pub message_id: MessageId,
    /// Recipients of a channel or broadcast message the ACL refused (they
    /// get no delivery; a `message_refused` event names them).
    #[serde(default)]
    pub refused: Vec<Refusal>,
}

/// A stored message as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MessageView {
    pub body: String,
    pub created_at: Timestamp,
    pub from: String,
    pub id: MessageId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<MessageId>,
    pub to: Recipient,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        MessageView {
            body: m.body.clone(),
            created_at: m.created_at,
            from: m.from.clone(),
            id: m.id.clone(),
            idempotency_key: m.idempotency_key.clone(),
            thread: m.thread.clone(),
            to: m.to.clone(),
        }
    }
}

/// One delivery: one message to one recipient agent. In an inbox or a
/// claim it carries its `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryView {
    /// The recipient.
    pub agent: String,
    /// Attempts that failed so far (0 on the first try).
    pub attempt: u32,
    /// How it reached its agent: `pty` (typed in) or `hook` (handed over,
    /// never typed).
    pub channel: Option<DeliveryChannel>,
    pub created_at: Timestamp,
    /// Federation, sending host: the host whose store committed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_to: Option<String>,
    /// The message's sender.
    pub from: String,
    pub id: DeliveryId,
    /// The message itself (inbox and claim answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageView>,
    pub message_id: MessageId,
    /// Federation, receiving host: the host it was forwarded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_host: Option<String>,
    /// When its agent confirmed it read it.
    pub read_at: Option<Timestamp>,
    pub reason: Option<String>,
    pub state: DeliveryState,
    pub updated_at: Timestamp,
    pub verification: Option<Verification>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        DeliveryView {
            agent: d.agent.clone(),
            attempt: d.attempt,
            channel: d.channel,
            created_at: d.created_at,
            forwarded_to: d.forwarded_to.clone(),
            from: d.from.clone(),
            id: d.id.clone(),
            message: None,
            message_id: d.message_id.clone(),
            origin_host: d.origin_host.clone(),
            read_at: d.read_at,
            reason: d.reason.clone(),
            state: d.state,
            updated_at: d.updated_at,
            verification: d.verification,
        }
    }
}

impl DeliveryView {
    /// A delivery with its message, as an inbox or a claim shows it.
    pub fn with_message(d: &Delivery, m: &Message) -> Self {
        DeliveryView {
            message: Some(m.into()),
            ..d.into()
        }
    }
}

/// `GET /v1/messages/{id}`: a message and each of its deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MessageStatus {
    pub deliveries: Vec<DeliveryView>,
    pub message: MessageView,
    /// Recipients that confirmed they read it.
    pub read_by: Vec<String>,
    /// Its replies (`reply_to` this message), oldest first: a headless
    /// agent's final answer to the turn it started (`via: protocol`), or a
    /// message sent with `thread` set to its id (`via: message`).
    #[serde(default)]
    pub replies: Vec<Reply>,
}

/// `GET /v1/agents/{name}/inbox` (newest first) and
/// `POST /v1/agents/{name}/inbox/claim` (what the call took over, now
/// `read` with channel `hook`): deliveries with their messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Inbox {
    pub agent: String,
    pub deliveries: Vec<DeliveryView>,
}

/// `POST /v1/agents/{name}/inbox/read`: the deliveries now `read`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Marked {
    pub agent: String,
    pub marked: Vec<DeliveryView>,
}

/// `GET /v1/dlq`: dropped and dead deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeadLetters {
    pub dead_letters: Vec<DeliveryView>,
}

/// `POST /v1/agents/{name}/inbox/read` (optional body; empty: defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// Deliveries to mark; absent: every delivered, unread one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_ids: Option<Vec<String>>,
}

/// `POST /v1/agents/{name}/inbox/claim` (optional body; empty: defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// At most this many queued deliveries (default: the broker's batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// The query of `GET /v1/dlq` and `GET /v1/agents/{name}/inbox`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LimitQuery {
    /// How many, newest first (default 100; at most 10000 for dead
    /// letters, 1000 for an inbox).
    #[serde(default = "default_limit")]
    pub limit: usize,
}

fn default_limit() -> usize {
    100
}
