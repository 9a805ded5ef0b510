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
    #[serde(default)]
    pub queue_depth: usize,
    #[serde(default)]
    pub status: AgentStatus,
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
}

/// `GET /v1/agents/{name}/inbox`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    #[serde(default)]
    pub agent: String,
    #[serde(default)]
    pub deliveries: Vec<InboxItem>,
}

/// `GET /v1/whoami`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whoami {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}
