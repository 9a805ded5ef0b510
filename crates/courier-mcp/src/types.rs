//! The broker's answers, as far as this server reads them. Every field the
//! broker may leave out has a default, so a newer broker with more fields
//! (or fewer optional ones) still decodes.

use serde::{Deserialize, Serialize};

/// One delivery: one message to one recipient agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub message_id: String,
    /// The recipient.
    #[serde(default)]
    pub agent: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// How it reached its agent: `pty` (typed in) or `hook` (handed over by
    /// a hook or `read_inbox`, never typed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// When its agent confirmed it read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
    /// Federation: the host of the workspace that holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_to: Option<String>,
}

/// `POST /v1/messages`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceipt {
    pub message_id: String,
    #[serde(default)]
    pub duplicate: bool,
    #[serde(default)]
    pub deliveries: Vec<DeliveryInfo>,
    /// Older deliveries evicted from full queues by this send.
    #[serde(default)]
    pub dropped: Vec<DeliveryInfo>,
    /// Recipients of a channel or broadcast message the broker's ACL
    /// refused (they got nothing).
    #[serde(default)]
    pub refused: Vec<Refused>,
}

/// A recipient the ACL refused, and the rule that refused it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub agent: String,
    pub rule: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    #[serde(default)]
    pub code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub busy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited: Option<ExitInfo>,
    /// Why deliveries wait although it is ready: its input holds text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
}

fn nothing_queued() -> Option<usize> {
    Some(0)
}

/// One entry of `GET /v1/agents`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub name: String,
    #[serde(default)]
    pub command: Vec<String>,
    /// Without `#`.
    #[serde(default)]
    pub channels: Vec<String>,
    /// `None` when the broker could not count it (`null`); an agent of
    /// another host has none here (absent: nothing queued on this host).
    #[serde(default = "nothing_queued")]
    pub queue_depth: Option<usize>,
    /// The broker's one state label (`idle`, `busy`, `held`, `dead`, …:
    /// `courier_core::AgentState`), the same the CLI and dashboard show.
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub status: AgentStatus,
    /// Why it is dead (with state `dead`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_reason: Option<String>,
    /// `idle`, `immediate` or `manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentList {
    #[serde(default)]
    pub agents: Vec<AgentInfo>,
}

/// One entry of `GET /v1/channels`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// With `#`.
    pub name: String,
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelList {
    #[serde(default)]
    pub channels: Vec<ChannelInfo>,
}

/// Joining or leaving a channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipChange {
    /// With `#`.
    pub channel: String,
    #[serde(default)]
    pub agent: String,
    /// False when the agent already was (joining) or was not (leaving) a member.
    #[serde(default)]
    pub changed: bool,
}

/// A stored message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageInfo {
    pub id: String,
    #[serde(default)]
    pub from: String,
    /// An agent name, `#channel` or `*`.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// A delivery to me with its message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    #[serde(flatten)]
    pub delivery: DeliveryInfo,
    pub message: MessageInfo,
    /// Set by this server, not the broker: the body was left out because
    /// the delivery is still on its way through the terminal, and showing
    /// it here too would deliver it twice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_withheld: bool,
}

/// `GET /v1/agents/{name}/inbox`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    #[serde(default)]
    pub agent: String,
    #[serde(default)]
    pub deliveries: Vec<InboxItem>,
}

/// What `read_inbox` returns: what it claimed and the recent inbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxRead {
    #[serde(default)]
    pub agent: String,
    /// Queued deliveries this call took over (now `read`, channel `hook`),
    /// oldest first: they are never typed into the terminal.
    #[serde(default)]
    pub claimed: Vec<InboxItem>,
    /// The most recent other deliveries, newest first.
    #[serde(default)]
    pub deliveries: Vec<InboxItem>,
    /// The agent's delivery mode, when the broker said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Why the inbox could not be listed after a claim succeeded: the
    /// claimed ones are shown anyway, since they are read now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_error: Option<String>,
}

/// `PUT /v1/agents/{name}/mode`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeChange {
    #[serde(default)]
    pub agent: String,
    pub mode: String,
}

/// `POST /v1/agents/{name}/flush`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flushed {
    #[serde(default)]
    pub agent: String,
    /// How many queued deliveries were let through.
    #[serde(default)]
    pub flushed: u64,
}

/// `POST /v1/agents/{name}/done`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoneReport {
    #[serde(default)]
    pub agent: String,
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub result: Option<String>,
}

/// `GET /v1/messages/{id}`: a message and each of its deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageStatus {
    pub message: MessageInfo,
    #[serde(default)]
    pub deliveries: Vec<DeliveryInfo>,
    /// Recipients that confirmed they read it.
    #[serde(default)]
    pub read_by: Vec<String>,
}

/// `GET /v1/whoami`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whoami {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}
