//! What brokers of a workspace send each other (JSON payloads).
//!
//! - inbox subject: a `courier_store::InboundDelivery` (header
//!   `Nats-Msg-Id` = the delivery id);
//! - outcome subject: an [`OutcomeWire`] (header `Nats-Msg-Id` =
//!   `host:seq:delivery`);
//! - directory bucket: key = agent name, value = a [`DirectoryEntry`];
//! - presence subject: a [`Heartbeat`].

use courier_core::Timestamp;
use courier_store::RemoteOutcome;
use serde::{Deserialize, Serialize};

pub const ACTIVE: &str = "active";
pub const AWAY: &str = "away";

/// An agent as the workspace directory holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    pub host: String,
    /// `active`, or `away` when its host left or stopped answering.
    pub presence: String,
    pub channels: Vec<String>,
    pub updated_at: Timestamp,
}

impl DirectoryEntry {
    pub fn active(host: &str, channels: Vec<String>, now: Timestamp) -> DirectoryEntry {
        DirectoryEntry {
            host: host.to_string(),
            presence: ACTIVE.to_string(),
            channels,
            updated_at: now,
        }
    }

    pub fn is_active(&self) -> bool {
        self.presence == ACTIVE
    }

    /// The same entry, marked away.
    pub fn away(&self, now: Timestamp) -> DirectoryEntry {
        DirectoryEntry {
            presence: AWAY.to_string(),
            updated_at: now,
            ..self.clone()
        }
    }

    /// Same host, presence and channels (the time does not count).
    pub fn same_as(&self, other: &DirectoryEntry) -> bool {
        self.host == other.host
            && self.presence == other.presence
            && self.channels == other.channels
    }
}

/// Events of the sending host's log, in its order, about deliveries
/// forwarded from the host they are published to: one NATS message for a
/// batch, so a burst costs JetStream one stored (and, with
/// `sync_interval: always`, one synced) message, not one per event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeWire {
    /// The host whose log it is (that committed the deliveries).
    pub host: String,
    pub outcomes: Vec<RemoteOutcome>,
}

/// A broker says it is there (or leaving).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub host: String,
    /// `active` or `leaving`.
    pub state: String,
}

pub const LEAVING: &str = "leaving";
