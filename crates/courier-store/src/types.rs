//! Values the store hands back beyond those of core.

use courier_core::{Delivery, DeliveryMode, Event, Message, Recipient, Refusal, Timestamp};
use serde::{Deserialize, Serialize};

/// A registered agent. `spec` is opaque to the store (how the broker starts it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    pub name: String,
    pub spec: serde_json::Value,
    /// When the agent was first registered (kept by later upserts).
    pub created_at: Timestamp,
    /// When its deliveries are typed in (kept by later upserts; changed
    /// only by [`crate::Store::set_mode`]).
    #[serde(default)]
    pub mode: DeliveryMode,
}

impl AgentRecord {
    pub fn new(name: impl Into<String>, spec: serde_json::Value) -> Self {
        AgentRecord {
            name: name.into(),
            spec,
            created_at: Timestamp::default(),
            mode: DeliveryMode::Idle,
        }
    }
}

/// What a committed send produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    pub message: Message,
    /// The idempotency key was already used by this sender within the
    /// retention window: `message` and `deliveries` are the original ones
    /// (as they are now) and nothing new was written.
    pub duplicate: bool,
    /// One per recipient, sorted by agent name.
    pub deliveries: Vec<Delivery>,
    /// Deliveries of other messages the queue cap evicted to make room.
    pub dropped: Vec<Delivery>,
    /// Recipients of a channel or broadcast message the ACL refused (they
    /// got no delivery; one `message_refused` event names them).
    pub refused: Vec<Refusal>,
    /// Events written, in `seq` order (empty for a duplicate).
    pub events: Vec<Event>,
}

/// What a send under an ACL did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Stored and queued (to every recipient the ACL allowed).
    Sent(SendReceipt),
    /// Refused as a whole: nothing was stored but the `message_refused`
    /// event, which is `event`.
    Refused {
        from: String,
        to: Recipient,
        rule: String,
        refused: Vec<Refusal>,
        event: Event,
    },
}

/// A live stream of committed events. See [`crate::Store::subscribe`].
#[derive(Debug)]
pub struct Subscription {
    /// The last `seq` committed when the subscription started: `events`
    /// yields exactly the events with a greater `seq`, in order.
    pub after_seq: u64,
    pub events: crossbeam_channel::Receiver<Event>,
}
