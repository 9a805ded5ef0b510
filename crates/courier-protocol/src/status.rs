//! The broker's own state: `/healthz`, `GET /v1/status`, `GET /v1/federation`,
//! and an agent's rendered screen (`GET /v1/agents/{name}/screen`).

use courier_core::{DeliveryId, DeliveryState, MessageId, StuckReason, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `GET /healthz`: `ok`, `degraded` (still 200: the broker serves; a stuck
/// delivery or a dead agent is for a person, not for a liveness probe to
/// kill it), or `stopping` (503).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// Agents whose restart policy gave up (with `degraded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead: Option<Vec<DeadAgent>>,
    /// `ok`, `degraded` or `stopping`.
    pub status: String,
    /// Deliveries the watchdog holds stuck (with `degraded`), without their
    /// screen rows: this route needs no token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stuck: Option<Vec<StuckDelivery>>,
}

/// A delivery that made no progress within its bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StuckDelivery {
    pub agent: String,
    pub delivery_id: DeliveryId,
    pub message_id: MessageId,
    /// Why it counts: `agent_not_ready`, `agent_busy`, `agent_idle`, `in_flight`.
    pub reason: StuckReason,
    /// The last non-blank rows of the agent's screen (`/v1/status` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<Vec<String>>,
    /// No progress since then (`/v1/status` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    pub state: DeliveryState,
    pub waited_ms: u64,
    /// The reason for a person: what the agent was doing.
    pub why: String,
}

/// An agent whose restart policy gave up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeadAgent {
    pub name: String,
    pub reason: String,
    pub restarts: u32,
    pub since: Timestamp,
}

/// `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BrokerStatus {
    /// Where the rules of who may message whom came from.
    pub acl: AclSummary,
    /// Agents running on this host.
    pub agents: usize,
    pub dead: Vec<DeadAgent>,
    /// The store is a file that survives a restart (not `--ephemeral`).
    pub durable: bool,
    pub federation: FederationStatus,
    /// The newest event's seq.
    pub last_seq: u64,
    /// Deliveries queued or in flight.
    pub pending: usize,
    pub pid: u32,
    /// The store's path.
    pub store: String,
    pub stuck: Vec<StuckDelivery>,
    pub uptime_ms: u64,
    pub version: String,
}

/// The ACL in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AclSummary {
    /// `allow` or `deny`: what a send no rule matches gets.
    pub default: String,
    /// The rules file (`courier up --acl`); `null` without one.
    pub file: Option<String>,
    pub rules: usize,
}

/// `GET /v1/federation` (and `federation` of the status): the workspace
/// this broker joined, if any (`courier up --nats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FederationStatus {
    /// Connected to the NATS server now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    pub enabled: bool,
    /// This broker's host id in the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The workspace's streams and directory are set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined: Option<bool>,
    /// The other hosts this one knows of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<Peer>>,
    /// Deliveries waiting to be forwarded to another host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_forwards: Option<usize>,
    /// The NATS URL, with any credential redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
}

/// Another host of the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Peer {
    pub host: String,
    /// Since its last heartbeat, if this broker heard one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_ms: Option<u64>,
    /// `active` or `away`.
    pub presence: String,
}

/// `GET /v1/agents/{name}/screen`: the rendered screen, as plain rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Screen {
    /// The program is on the alternate screen (a full-screen TUI).
    pub alternate_screen: bool,
    /// With `format=ansi`: the screen with its attributes, as escape sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ansi: Option<String>,
    /// The program enabled bracketed paste.
    pub bracketed_paste: bool,
    /// (row, col), zero based.
    pub cursor: [u16; 2],
    pub name: String,
    /// Visible rows, plain text.
    pub rows: Vec<String>,
    /// The newest scrollback rows asked for (`scrollback=N`), oldest first.
    pub scrollback: Vec<String>,
    /// (rows, cols).
    pub size: [u16; 2],
}
