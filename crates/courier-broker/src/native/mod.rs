//! **Native**: agent CLIs spoken to in their own protocol, headless.
//!
//! Owns: a headless agent's process, run with pipes and no PTY
//! ([`process`], which gives the broker the same [`courier_terminal::Terminal`]
//! handle a PTY agent has, so its supervisor, restarts, exit events and
//! release are those of every agent); JSON-RPC 2.0 over its stdio
//! ([`jsonrpc`]); and the Agent Client Protocol client over it ([`acp`]:
//! `initialize`, `session/new`, `session/prompt` and its `stopReason`,
//! `session/update` notifications, `session/cancel`).
//!
//! Must not: take, settle or record a delivery (`delivery/native.rs` asks
//! this client to carry one and settles by core's `settle_protocol`), or
//! decide what a protocol's answer means for a delivery.

pub mod acp;
pub mod jsonrpc;
pub mod process;

pub use acp::{AcpClient, PromptAnswer, Update};
pub use process::HeadlessProcess;
