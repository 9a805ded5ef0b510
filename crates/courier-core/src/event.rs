//! Events: the append-only record of what happened. Wire names are those of
//! `docs/delivery.md` (kept true by `tests/architecture/delivery_doc.rs`); the JSON form is `{"seq":..,"time":..,"type":..,..}`.

use serde::{Deserialize, Serialize};

use crate::acl::Refusal;
use crate::delivery::{DeliveryState, Verification};
use crate::ids::{DeliveryId, MessageId};
use crate::mode::{DeliveryChannel, DeliveryMode, StuckReason};
use crate::recipient::Recipient;
use crate::time::Timestamp;

/// An event with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    pub seq: u64,
    pub time: Timestamp,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// One delivery evicted by the queue cap, as named in `delivery_dropped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DroppedDelivery {
    pub delivery_id: DeliveryId,
    pub message_id: MessageId,
    pub from: String,
}

/// What happened. Every variant names the ids it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A send was committed: its message and one delivery per recipient.
    MessageAccepted {
        message_id: MessageId,
        from: String,
        to: Recipient,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<MessageId>,
        deliveries: u32,
    },
    /// The rules of who may message whom (`--acl`) refused a send, or some
    /// recipients of a channel or broadcast message. Refused as a whole
    /// (no `message_id`): nothing was stored but this event. Partly
    /// refused: `message_id` names the message delivered to the others.
    MessageRefused {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<MessageId>,
        from: String,
        to: Recipient,
        /// The rule that refused it (that refused the first recipient).
        rule: String,
        /// Each recipient refused, with its rule (empty when the address
        /// alone was refused, with nobody to receive it).
        refused: Vec<Refusal>,
    },
    /// A delivery waits in its agent's queue (a new one, or one back for another attempt).
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
    /// Every byte of the text was written into the agent's terminal.
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
    /// The second witness of a delivery its agent's protocol verified,
    /// when a TUI shares that protocol (a served agent): whether the
    /// message then showed in the TUI's transcript on the rendered screen
    /// (`shown`), and, when it did not, the screen's non-blank rows. The
    /// protocol's proof stands either way; this says what a person saw.
    DeliveryOnScreen {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        shown: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        screen: Vec<String>,
    },
    /// An attempt failed and the delivery is back in the queue, with why.
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
    /// Out of attempts: the delivery will not be typed again (a dead letter).
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
    /// A delivery made no progress within the watchdog's bound while it
    /// should have. Raised once per stuck delivery (again only if it moved
    /// and then stopped again).
    DeliveryStuck {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        /// Its state when detected (`queued`, `injecting`, `injected`).
        state: DeliveryState,
        /// Why it counts as stuck: `agent_not_ready` (queued while the agent
        /// never became ready), `agent_busy` (queued while the ready agent
        /// has worked longer than the busy bound), `agent_idle` (queued while
        /// the agent is ready and idle), `in_flight` (typed in but never
        /// resolved). Events stored before reasons existed read as
        /// `agent_idle` when queued, `in_flight` otherwise.
        reason: StuckReason,
        /// How long it had made no progress, in whole seconds.
        seconds: u64,
        /// The same, in milliseconds.
        waited_ms: u64,
        /// The last non-blank rows of the agent's screen (up to 10), for
        /// every reason.
        screen: Vec<String>,
    },
    /// Federation, on the sending host: the host that runs the agent
    /// committed the delivery to its own store; its life goes on there and
    /// its events come back here.
    DeliveryForwarded {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        host: String,
    },
    /// Federation, on the receiving host: a delivery another host forwarded,
    /// committed here under the sender's delivery id (a redelivered copy is
    /// recognised by that id and never queued twice).
    DeliveryReceived {
        delivery_id: DeliveryId,
        message_id: MessageId,
        agent: String,
        from_host: String,
    },
    /// Federation: a host of the workspace stopped answering (or left):
    /// its agents are marked away, not forgotten.
    HostAway { host: String },
    /// Federation: a host that was away answers again.
    HostBack { host: String },
    /// An agent's delivery mode changed (`idle`, `immediate`, `manual`).
    AgentMode { name: String, mode: DeliveryMode },
    /// A person or the API released an agent's held deliveries.
    AgentFlushed { name: String, count: u64 },
    /// An agent was started, with its command and its process id.
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
    /// The agent is at its prompt, and what showed it (`ready_by`).
    AgentReady { name: String, ready_by: String },
    /// The ready agent went quiet: no screen activity and no busy pattern.
    AgentIdle { name: String },
    /// The agent is working (its screen changes, or a busy pattern shows).
    AgentBusy { name: String },
    /// Deliveries to the agent wait: a person typed into it within the
    /// typing window (`reason` starts with `typing:`), or its input holds
    /// text, a draft or a message that was never submitted (`reason` starts
    /// with `input_not_empty:`). Raised when the agent becomes held, and
    /// again when the reason changes while it stays held.
    AgentHeld { name: String, reason: String },
    /// Deliveries to the agent no longer wait for its input (the typing
    /// window passed and the input is empty).
    AgentUnheld { name: String },
    /// The agent's program ended, with its exit code or signal.
    AgentExited {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
    },
    /// A person released the agent: its processes ended, its queue became dead letters.
    AgentReleased { name: String },
    /// The agent's program ended with a failure (a non-zero exit code or a
    /// signal): one event per crash, in place of `agent_exited`, with the
    /// last non-blank screen rows and, when its restart policy starts it
    /// again, the wait before that.
    AgentCrashed {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
        screen: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restart_in_ms: Option<u64>,
    },
    /// The restart policy started the agent's program again: restart number
    /// `attempt` within the policy's window; `resumed` when the preset's
    /// "continue the last session" arguments were used.
    AgentRestarted {
        name: String,
        attempt: u32,
        pid: u32,
        #[serde(default)]
        resumed: bool,
    },
    /// The agent crashed more often than its restart policy allows within
    /// its window (or could not be started again): it stays down, and its
    /// pending deliveries became dead letters.
    AgentDead {
        name: String,
        restarts: u32,
        window_s: u64,
        reason: String,
    },
    /// The agent reported that it finished its task, with its result.
    AgentDone {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<String>,
    },
    /// A preset's (or the spawn's) context-low pattern showed on the
    /// agent's screen: once per episode, with the line it matched.
    AgentContextLow { name: String, line: String },
    /// A person sent the agent its interrupt keys (`esc`, `ctrl-c`, ...).
    AgentInterrupted { name: String, keys: String },
    /// The channel that carries the next delivery to a terminal agent
    /// changed: `native` once the broker joined the protocol its TUI
    /// shares, `keystrokes` when that protocol went away (or never came)
    /// and deliveries are typed into the terminal instead; `why` says so.
    AgentChannel {
        name: String,
        channel: String,
        why: String,
    },
    /// An agent joined a channel.
    ChannelJoined { channel: String, agent: String },
    /// An agent left a channel.
    ChannelLeft { channel: String, agent: String },
    /// The owner issued a token (never the secret: only its id).
    TokenCreated {
        token_id: String,
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<Timestamp>,
    },
    /// The owner revoked a token: it is refused from now on.
    TokenRevoked { token_id: String },
    /// A broker started over this store, with its version and the deliveries still pending.
    BrokerStarted { version: String, pending: u64 },
    /// The broker is stopping gracefully, with the deliveries still pending.
    BrokerStopping { pending: u64 },
    /// A headless agent's conversation: a message handed to it through its
    /// protocol (the prompt of a turn), with the delivery that carried it.
    ConversationPrompt {
        name: String,
        delivery_id: DeliveryId,
        message_id: MessageId,
        from: String,
        text: String,
    },
    /// A headless agent's conversation: the agent's reply in a turn (its
    /// message chunks joined), with the message that started the turn.
    ConversationReply {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<MessageId>,
        text: String,
    },
    /// A message got a reply: a headless agent's final answer to the turn
    /// it started (`via: protocol`), or a message sent with `thread` set to
    /// its id (`via: message`, `reply_id` the reply message).
    MessageReplied {
        message_id: MessageId,
        from: String,
        via: crate::message::ReplyVia,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_id: Option<MessageId>,
    },
    /// A headless agent's conversation: a tool call it reported
    /// (`tool_call` / `tool_call_update`), with its id, title and status.
    ConversationToolCall {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<MessageId>,
        tool_call_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<String>,
    },
    /// A headless agent's conversation: an error — a refused input, a turn
    /// that ended refused or cancelled, the protocol gone mid-turn.
    ConversationError {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<MessageId>,
        error: String,
    },
}

impl EventKind {
    /// Decodes an event kind as stored by any version of Courier. A
    /// `delivery_stuck` stored before it carried a `reason` gets the one
    /// the rule of that time implied ([`StuckReason::implied_by`] its state).
    pub fn from_stored_json(data: &str) -> serde_json::Result<EventKind> {
        let error = match serde_json::from_str(data) {
            Ok(kind) => return Ok(kind),
            Err(e) => e,
        };
        let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str(data) else {
            return Err(error);
        };
        let legacy_stuck = fields.get("type").and_then(|t| t.as_str()) == Some("delivery_stuck")
            && !fields.contains_key("reason");
        let state = fields
            .get("state")
            .and_then(|s| serde_json::from_value::<DeliveryState>(s.clone()).ok());
        match state {
            Some(state) if legacy_stuck => {
                fields.insert(
                    "reason".into(),
                    serde_json::Value::from(StuckReason::implied_by(state).as_str()),
                );
                serde_json::from_value(serde_json::Value::Object(fields))
            }
            _ => Err(error),
        }
    }

    /// The deliveries this event is about (several for a `delivery_dropped`).
    pub fn delivery_ids(&self) -> Vec<&DeliveryId> {
        match self {
            EventKind::DeliveryQueued { delivery_id, .. }
            | EventKind::DeliveryInjecting { delivery_id, .. }
            | EventKind::DeliveryInjected { delivery_id, .. }
            | EventKind::DeliveryVerified { delivery_id, .. }
            | EventKind::DeliveryRetry { delivery_id, .. }
            | EventKind::DeliveryDead { delivery_id, .. }
            | EventKind::DeliveryReplayed { delivery_id, .. }
            | EventKind::DeliveryRead { delivery_id, .. }
            | EventKind::DeliveryStuck { delivery_id, .. }
            | EventKind::DeliveryForwarded { delivery_id, .. }
            | EventKind::DeliveryReceived { delivery_id, .. } => vec![delivery_id],
            EventKind::DeliveryDropped { dropped, .. } => {
                dropped.iter().map(|d| &d.delivery_id).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The conversation events of a headless agent (`courier transcript`).
    pub const CONVERSATION: [&'static str; 4] = [
        "conversation_prompt",
        "conversation_reply",
        "conversation_tool_call",
        "conversation_error",
    ];

    /// The wire name (`"delivery_queued"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::MessageAccepted { .. } => "message_accepted",
            EventKind::MessageRefused { .. } => "message_refused",
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
            EventKind::DeliveryOnScreen { .. } => "delivery_on_screen",
            EventKind::DeliveryForwarded { .. } => "delivery_forwarded",
            EventKind::DeliveryReceived { .. } => "delivery_received",
            EventKind::HostAway { .. } => "host_away",
            EventKind::HostBack { .. } => "host_back",
            EventKind::AgentMode { .. } => "agent_mode",
            EventKind::AgentFlushed { .. } => "agent_flushed",
            EventKind::AgentSpawned { .. } => "agent_spawned",
            EventKind::AgentReattached { .. } => "agent_reattached",
            EventKind::AgentReady { .. } => "agent_ready",
            EventKind::AgentIdle { .. } => "agent_idle",
            EventKind::AgentBusy { .. } => "agent_busy",
            EventKind::AgentHeld { .. } => "agent_held",
            EventKind::AgentUnheld { .. } => "agent_unheld",
            EventKind::AgentExited { .. } => "agent_exited",
            EventKind::AgentReleased { .. } => "agent_released",
            EventKind::AgentCrashed { .. } => "agent_crashed",
            EventKind::AgentRestarted { .. } => "agent_restarted",
            EventKind::AgentDead { .. } => "agent_dead",
            EventKind::AgentDone { .. } => "agent_done",
            EventKind::AgentContextLow { .. } => "agent_context_low",
            EventKind::AgentInterrupted { .. } => "agent_interrupted",
            EventKind::AgentChannel { .. } => "agent_channel",
            EventKind::ChannelJoined { .. } => "channel_joined",
            EventKind::ChannelLeft { .. } => "channel_left",
            EventKind::TokenCreated { .. } => "token_created",
            EventKind::TokenRevoked { .. } => "token_revoked",
            EventKind::BrokerStarted { .. } => "broker_started",
            EventKind::BrokerStopping { .. } => "broker_stopping",
            EventKind::ConversationPrompt { .. } => "conversation_prompt",
            EventKind::ConversationReply { .. } => "conversation_reply",
            EventKind::MessageReplied { .. } => "message_replied",
            EventKind::ConversationToolCall { .. } => "conversation_tool_call",
            EventKind::ConversationError { .. } => "conversation_error",
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

    #[test]
    fn held_and_unheld_name_the_agent_and_why() {
        let held = EventKind::AgentHeld {
            name: "bob".into(),
            reason: "typing: a person typed into bob".into(),
        };
        assert_eq!(
            serde_json::to_value(&held).unwrap(),
            serde_json::json!({"type": "agent_held", "name": "bob", "reason": "typing: a person typed into bob"})
        );
        let unheld = EventKind::AgentUnheld { name: "bob".into() };
        assert_eq!(
            serde_json::to_value(&unheld).unwrap(),
            serde_json::json!({"type": "agent_unheld", "name": "bob"})
        );
        for kind in [held, unheld] {
            let text = serde_json::to_string(&kind).unwrap();
            assert_eq!(EventKind::from_stored_json(&text).unwrap(), kind);
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&text).unwrap()["type"],
                kind.name()
            );
        }
    }

    fn stuck_event(reason: StuckReason) -> EventKind {
        EventKind::DeliveryStuck {
            delivery_id: "d1".into(),
            message_id: "m1".into(),
            agent: "bob".into(),
            state: DeliveryState::Queued,
            reason,
            seconds: 31,
            waited_ms: 31_250,
            screen: vec!["$ ".into()],
        }
    }

    #[test]
    fn delivery_stuck_names_its_reason() {
        let json = serde_json::to_value(stuck_event(StuckReason::AgentNotReady)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "delivery_stuck",
                "delivery_id": "d1",
                "message_id": "m1",
                "agent": "bob",
                "state": "queued",
                "reason": "agent_not_ready",
                "seconds": 31,
                "waited_ms": 31_250,
                "screen": ["$ "],
            })
        );
        for reason in StuckReason::ALL {
            let kind = stuck_event(reason);
            let text = serde_json::to_string(&kind).unwrap();
            assert_eq!(EventKind::from_stored_json(&text).unwrap(), kind);
        }
    }

    #[test]
    fn a_stuck_event_stored_before_reasons_reads_with_the_implied_one() {
        let old = r#"{"type":"delivery_stuck","delivery_id":"d1","message_id":"m1","agent":"bob","state":"queued","seconds":31,"waited_ms":31250,"screen":["$ "]}"#;
        assert_eq!(
            EventKind::from_stored_json(old).unwrap(),
            stuck_event(StuckReason::AgentIdle)
        );
        let old_in_flight = old.replace("\"queued\"", "\"injecting\"");
        match EventKind::from_stored_json(&old_in_flight).unwrap() {
            EventKind::DeliveryStuck { reason, state, .. } => {
                assert_eq!(
                    (reason, state),
                    (StuckReason::InFlight, DeliveryState::Injecting)
                );
            }
            other => panic!("decoded as {other:?}"),
        }
        // Anything else that does not decode still fails.
        assert!(EventKind::from_stored_json(r#"{"type":"delivery_stuck"}"#).is_err());
        assert!(EventKind::from_stored_json(r#"{"type":"no_such_event"}"#).is_err());
        assert!(EventKind::from_stored_json("not json").is_err());
    }
}
