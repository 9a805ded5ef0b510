//! What a person or a client sees of one running agent, kept current by
//! its screen watcher and its delivery loop (a `watch` channel).

use courier_core::{ChannelPolicy, DeliveryId, DeliveryMode};
use courier_terminal::{ExitInfo, ReadyBy};
use serde::Serialize;

use crate::launch::framing_policy::FramingDecision;

/// What a person or a client sees of an agent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentStatus {
    pub ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_by: Option<ReadyBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<String>,
    pub busy: bool,
    /// The working status line on screen (a busy pattern matched): busy
    /// however quiet the screen, and `idle` mode types nothing meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exited: Option<ExitInfo>,
    pub delay_ms: u64,
    /// The delivery being typed right now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivering: Option<DeliveryId>,
    /// Why deliveries wait although the agent is ready: its input holds
    /// text (see `delivery/input_hold.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// When queued deliveries are typed in (`idle`, `immediate`, `manual`).
    pub mode: DeliveryMode,
    /// Which channels deliver to it (`keystrokes`, `hooks`, `both`).
    pub channels: ChannelPolicy,
    /// How a message typed into it now is framed, and why (from the
    /// process reading its terminal; refreshed by every listing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framing: Option<FramingDecision>,
}
