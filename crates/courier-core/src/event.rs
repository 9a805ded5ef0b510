//! Events: the append-only record of what happened. Wire names are those of
//! `shared/spec/delivery.md`; the JSON form is `{"seq":..,"time":..,"type":..,..}`.

use serde::{Deserialize, Serialize};

use crate::delivery::{DeliveryState, Verification};
use crate::ids::{DeliveryId, MessageId};
use crate::mode::{DeliveryChannel, DeliveryMode};
use crate::recipient::Recipient;
use crate::time::Timestamp;

/// An event with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub time: Timestamp,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// One delivery evicted by the queue cap, as named in `delivery_dropped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedDelivery {
    pub delivery_id: DeliveryId,
    pub message_id: MessageId,
    pub from: String,
}

/// What happened. Every variant names the ids it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    MessageAccepted {
        message_id: MessageId,
        from: String,
        to: Recipient,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<MessageId>,
        deliveries: u32,
    },
    DeliveryQueued {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        attempt: u32,
    },
    /// The broker took the delivery out of the queue and is writing it.
    DeliveryInjecting {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        attempt: u32,
        session: String,
    },
    DeliveryInjected {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        attempt: u32,
    },
    /// Ends a delivery that reached the screen (`echo`) or whose window ran
    /// out without proof (`timeout_fallback`, with `reason`).
    DeliveryVerified {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        verification: Verification,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// For an unverified delivery whose screen shows why (the text
        /// left in the input, `not_submitted`): its non-blank rows.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        screen: Vec<String>,
    },
    DeliveryRetry {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        attempt: u32,
        reason: String,
    },
    /// The queue cap evicted the oldest queued deliveries of `name`.
    DeliveryDropped {
        name: String,
        count: u32,
        reason: String,
        dropped: Vec<DroppedDelivery>,
    },
    DeliveryDead {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        attempt: u32,
        reason: String,
    },
    /// A person or the API put a dropped or dead delivery back in the queue.
    DeliveryReplayed {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
    },
    /// The agent confirmed it took the delivery in, through `channel`.
    DeliveryRead {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        channel: DeliveryChannel,
    },
    /// A delivery made no progress within the watchdog's bound while its
    /// agent should have taken it. Raised once per stuck delivery.
    DeliveryStuck {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        /// Its state when detected (`queued`, `injecting`, `injected`).
        state: DeliveryState,
        /// How long it had made no progress, in whole seconds.
        seconds: u64,
        /// The same, in milliseconds.
        waited_ms: u64,
        /// The last non-blank rows of the agent's screen.
        screen: Vec<String>,
    },
    /// An agent's delivery mode changed (`idle`, `immediate`, `manual`).
    AgentMode {
        name: String,
        mode: DeliveryMode,
    },
    /// A person or the API released an agent's held deliveries.
    AgentFlushed {
        name: String,
        count: u64,
    },
    AgentSpawned {
        name: String,
        command: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    /// A restarted broker took over an agent whose session host outlived
    /// the previous broker: same process, same screen.
    AgentReattached {
        name: String,
        pid: u32,
        session: String,
    },
    AgentReady {
        name: String,
        ready_by: String,
    },
    AgentIdle {
        name: String,
    },
    AgentBusy {
        name: String,
    },
    AgentExited {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
    },
    AgentReleased {
        name: String,
    },
    ChannelJoined {
        channel: String,
        agent: String,
    },
    ChannelLeft {
        channel: String,
        agent: String,
    },
    BrokerStarted {
        version: String,
        pending: u64,
    },
    BrokerStopping {
        pending: u64,
    },
}

impl EventKind {
    /// The wire name (`"delivery_queued"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::MessageAccepted { .. } => "message_accepted",
            EventKind::DeliveryQueued { .. } => "delivery_queued",
            EventKind::DeliveryInjecting { .. } => "delivery_injecting",
            EventKind::DeliveryInjected { .. } => "delivery_injected",
            EventKind::DeliveryVerified { .. } => "delivery_verified",
            EventKind::DeliveryRetry { .. } => "delivery_retry",
            EventKind::DeliveryDropped { .. } => "delivery_dropped",
            EventKind::DeliveryDead { .. } => "delivery_dead",
            EventKind::DeliveryReplayed { .. } => "delivery_replayed",
            EventKind::DeliveryRead { .. } => "delivery_read",
            EventKind::DeliveryStuck { .. } => "delivery_stuck",
            EventKind::AgentMode { .. } => "agent_mode",
            EventKind::AgentFlushed { .. } => "agent_flushed",
            EventKind::AgentSpawned { .. } => "agent_spawned",
            EventKind::AgentReattached { .. } => "agent_reattached",
            EventKind::AgentReady { .. } => "agent_ready",
            EventKind::AgentIdle { .. } => "agent_idle",
            EventKind::AgentBusy { .. } => "agent_busy",
            EventKind::AgentExited { .. } => "agent_exited",
            EventKind::AgentReleased { .. } => "agent_released",
            EventKind::ChannelJoined { .. } => "channel_joined",
            EventKind::ChannelLeft { .. } => "channel_left",
            EventKind::BrokerStarted { .. } => "broker_started",
            EventKind::BrokerStopping { .. } => "broker_stopping",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_flat_and_snake_case() {
        let event = Event {
            seq: 7,
            time: Timestamp(0),
            kind: EventKind::DeliveryVerified {
                delivery_id: "d1".into(),
                message_id: "m1".into(),
                agent: "bob".into(),
                verification: Verification::TimeoutFallback,
                reason: Some("no echo within 5000 ms".into()),
                screen: vec![],
            },
        };
        let json: serde_json::Value = serde_json::to_value(&event).unwrap();
        assert_eq!(json["seq"], 7);
        assert_eq!(json["type"], "delivery_verified");
        assert_eq!(json["verification"], "timeout_fallback");
        assert_eq!(json["time"], "1970-01-01T00:00:00.000Z");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.kind.name(), "delivery_verified");
    }
}
