//! The broker's answers are `courier_protocol`'s types (re-exported here
//! for this server's modules); what is this server's own is how
//! `read_inbox` hands deliveries to the model: an item whose text may be
//! withheld, and the whole answer.

use serde::{Deserialize, Serialize};

pub use courier_protocol::agents::{
    AgentList, AgentView, ChannelList, DoneReport, Flushed, MembershipChange, ModeChange, Whoami,
};
pub use courier_protocol::deliveries::{DeliveryView, Inbox, MessageStatus, SendReceipt};

/// A delivery to me with its message, as `read_inbox` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    /// The delivery as the broker listed it, with its `message`.
    #[serde(flatten)]
    pub delivery: DeliveryView,
    /// Set by this server, not the broker: the body was left out because
    /// the delivery is still on its way through the terminal, and showing
    /// it here too would deliver it twice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_withheld: bool,
}

impl From<DeliveryView> for InboxItem {
    fn from(delivery: DeliveryView) -> Self {
        InboxItem {
            delivery,
            body_withheld: false,
        }
    }
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
