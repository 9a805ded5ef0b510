//! The event log as the API serves it. The events themselves are core's
//! [`Event`] and [`EventKind`] (one enum, re-exported, never forked): the
//! JSON form is `{"seq":…,"time":…,"type":…,…}`, each kind documented in
//! `docs/delivery.md`.

pub use courier_core::{Event, EventKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `GET /v1/events?since=SEQ&limit=N`: one page of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EventsPage {
    pub events: Vec<Event>,
    /// Events after the cursor were pruned before this reader read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<Gap>,
    /// The newest seq in the log.
    pub last_seq: u64,
}

/// `GET /v1/agents/{name}/transcript?since=SEQ&limit=N`: a headless
/// agent's conversation — the messages it got, its replies, tool calls and
/// errors (`conversation_*` events) — after a seq, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Transcript {
    pub name: String,
    pub events: Vec<Event>,
    /// The newest seq in the log: the cursor to follow from when `events`
    /// is empty.
    pub last_seq: u64,
}

/// Events `after`+1 .. `next_seq`-1 were pruned before the client read
/// them. In a page it is `gap`; on a stream it is an item of its own
/// with `"type":"gap"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename = "gap")]
#[schemars(rename = "Gap")]
pub struct Gap {
    pub after: u64,
    pub missed: u64,
    pub next_seq: u64,
}

/// One item of a live stream (`/v1/events/stream`, `/v1/events/ws`): an
/// event, or word that events were pruned before the reader got them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StreamItem {
    Event(Event),
    Gap(Gap),
}

/// The query of `GET /v1/events` and its streams.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EventsQuery {
    /// Events after this seq (default 0: from the start of the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// At most this many (default 1000, at most 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// The query of `GET /v1/events/stream` (SSE; `Last-Event-ID` wins) and
/// `GET /v1/events/ws`: replay after this seq, then follow live.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StreamQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
}
