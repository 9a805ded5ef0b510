//! Courier's HTTP contract as types, written once: the broker serializes
//! them, the CLI and the MCP server deserialize them, and the OpenAPI
//! document (`GET /v1/openapi.json`, `courier openapi`) is generated from
//! them, so the three cannot disagree about a field.
//!
//! - [`deliveries`]: sending (request and receipt), messages with their
//!   deliveries, inboxes, read receipts, claims and dead letters.
//! - [`agents`]: the agent view with the `state` the broker computes once
//!   (core's [`AgentState`]), spawn answers, modes, flushes, interrupts,
//!   done reports, channels and `whoami`.
//! - [`tokens`]: issued observer tokens.
//! - [`status`]: health, the broker's status, federation, an agent's screen.
//! - [`events`]: the event log's page and gap, with core's one
//!   [`EventKind`] re-exported (not forked).
//! - [`error`]: the error body every 4xx/5xx carries.
//! - [`frames`]: the live terminal's WebSocket frames.
//! - [`openapi`]: the document, from these types and the operations table.
//!
//! Key order: `serde_json` here keeps no insertion order, so a `json!`
//! object is written with its keys sorted. Response structs list their
//! fields in that order, so the bytes the broker writes did not change when
//! it moved from `json!` to these types (tests pin it).
//!
//! Must not: do I/O, depend on an async runtime, the store, the terminal or
//! the broker; decide anything (core decides, the broker acts).

pub mod agents;
pub mod deliveries;
pub mod error;
pub mod events;
pub mod frames;
pub mod openapi;
mod present;
pub mod spawn;
pub mod status;
pub mod tokens;

#[cfg(test)]
mod wire_tests;

pub use courier_core::{AgentState, Event, EventKind, Reply, ReplyVia};
