//! Agents as the API shows them, and the small requests and answers that
//! operate one: raw input, mode, flush, interrupt, done, channels, whoami.
//!
//! An agent's `state` is computed once, by the broker
//! (`courier_core::agent_state`); clients show it and compute none.

use courier_core::{AgentState, ChannelPolicy, DeliveryId, DeliveryMode, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::present;

/// An agent as `GET /v1/agents`, `GET /v1/agents/{name}` and a spawn
/// show it. A local agent has its command, status and operating fields
/// (`restarts`, `dead`, `done`, …); an agent of another host of the
/// workspace has `remote: true`, its `host` and `presence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AgentView {
    /// Channels it is a member of, without `#`.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Program and arguments (local agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// The screen line that showed its context window running low.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_low: Option<String>,
    /// Its restart policy gave up (state `dead`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_reason: Option<String>,
    /// Which channels deliver to it (`keystrokes`, `hooks`, `both`, `native`).
    /// `native` says the agent is headless, and only a headless agent has
    /// it: no terminal (no screen to mirror, no keys), its conversation at
    /// `GET /v1/agents/{name}/transcript`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<ChannelPolicy>,
    /// It reported its task done (`POST /v1/agents/{name}/done`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<Timestamp>,
    /// Federation: the host it runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// When queued deliveries are typed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DeliveryMode>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The preset it was spawned from (`null` for a raw command; absent
    /// for a remote agent).
    #[serde(
        default,
        deserialize_with = "present::or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub preset: Option<Option<String>>,
    /// A remote agent's host: `present` or `away`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<String>,
    /// Deliveries queued for it; `null` when the store could not count
    /// them (never claimed empty) and for an agent of another host.
    #[serde(default)]
    pub queue_depth: Option<usize>,
    /// Set (true) for an agent of another host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<bool>,
    /// Its restart policy: `never`, `on-failure` or `always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    /// A restart under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarting: Option<Restarting>,
    /// Restarts so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u32>,
    /// What it reported with `done` (`null` when it gave none).
    #[serde(
        default,
        deserialize_with = "present::or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub result: Option<Option<String>>,
    /// The one state label every client shows, computed by the broker.
    pub state: AgentState,
    /// Its terminal as the broker sees it (local agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AgentStatusView>,
}

/// A restart under way: which attempt, and when it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Restarting {
    pub at: Timestamp,
    pub attempt: u32,
}

/// A local agent's terminal as the broker sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct AgentStatusView {
    pub busy: bool,
    pub channels: ChannelPolicy,
    /// The delay before its next injection (pacing).
    pub delay_ms: u64,
    /// The delivery being typed right now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivering: Option<DeliveryId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exited: Option<ExitInfo>,
    /// How a message typed into it now is framed, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framing: Option<FramingView>,
    /// Why deliveries wait although it is ready: its input holds text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    pub mode: DeliveryMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<String>,
    pub ready: bool,
    /// What made it ready: `prompt`, `cursor`, `reading_line` or `fallback`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_by: Option<String>,
    /// The working status line on screen (a busy pattern matched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working: Option<String>,
}

/// How a program ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExitInfo {
    /// Exit code, when it exited normally.
    pub code: Option<i32>,
    /// Signal number, when a signal ended it.
    pub signal: Option<i32>,
}

/// An agent's framing and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FramingView {
    /// `none`, `hash-comment`, `slash-comment`, `zsh-quoted` or `prefix`.
    pub framing: String,
    /// Why, e.g. `foreground: zsh (pid 123, via env)`.
    pub why: String,
}

/// `GET /v1/agents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AgentList {
    pub agents: Vec<AgentView>,
}

/// `POST /v1/agents/{name}/input`: keystrokes from a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputRequest {
    /// Bytes to type, as UTF-8 text (sent as is: this is a person at the keys).
    pub text: String,
}

/// `PUT /v1/agents/{name}/mode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeRequest {
    /// `idle`, `immediate` or `manual` (422 invalid_mode otherwise).
    pub mode: String,
}

/// The answer to a mode change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ModeChange {
    pub agent: String,
    pub mode: DeliveryMode,
}

/// `POST /v1/agents/{name}/flush`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Flushed {
    pub agent: String,
    /// How many queued deliveries were let through.
    pub flushed: u64,
}

/// `POST /v1/agents/{name}/interrupt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Interrupted {
    pub agent: String,
    /// The keys typed (the preset's interrupt keys, else Ctrl-C).
    pub keys: String,
}

/// `POST /v1/agents/{name}/done` (optional body; empty: no result).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DoneRequest {
    /// What the agent produced or concluded, for whoever waits on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// The answer to a done report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DoneReport {
    pub agent: String,
    pub done: bool,
    pub result: Option<String>,
}

/// `POST /v1/channels/{channel}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The agent that joins (an agent token: only itself).
    pub agent: String,
}

/// Joining or leaving a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MembershipChange {
    pub agent: String,
    /// False when the agent already was (joining) or was not (leaving) a member.
    pub changed: bool,
    /// With `#`.
    pub channel: String,
}

/// One entry of `GET /v1/channels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelView {
    pub members: Vec<String>,
    /// With `#`.
    pub name: String,
}

/// `GET /v1/channels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelList {
    pub channels: Vec<ChannelView>,
}

/// Whose token a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Owner,
    Agent,
    Observer,
}

/// `GET /v1/whoami`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Whoami {
    /// The agent's name (kind `agent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub kind: TokenKind,
    /// The issued token's id (kind `observer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
}

/// The query of `GET /v1/agents/{name}/screen`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScreenQuery {
    /// `text` (default) or `ansi` (with attributes, as escape sequences).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Scrollback rows to include (text format; at most 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrollback: Option<usize>,
}
