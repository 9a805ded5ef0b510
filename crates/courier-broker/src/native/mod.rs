//! **Native**: agent CLIs spoken to in their own protocol, headless.
//!
//! Owns: a headless agent's process, run with pipes and no PTY
//! ([`process`], which gives the broker the same [`courier_terminal::Terminal`]
//! handle a PTY agent has, so its supervisor, restarts, exit events and
//! release are those of every agent); JSON-RPC 2.0 over its stdio
//! ([`jsonrpc`]); and the Agent Client Protocol client over it ([`acp`]:
//! `initialize`, `session/new`, `session/prompt` and its `stopReason`,
//! `session/update` notifications, `session/cancel`); Claude Code's
//! stream-json client ([`claude`]: user lines in, the `isReplay` echo that
//! acknowledges one, `assistant` messages, the turn's `result`, the
//! `initialize`/`interrupt` control requests); Codex's app-server client
//! ([`codex`]: `thread/start`, `turn/start`, the `userMessage` item that
//! shows the input in the turn, `turn/completed`, `turn/interrupt`; what it
//! reads of the server's messages in `codex_wire`); what
//! each reports of a turn
//! in the same words ([`turn`]); and [`session`], the one face of any
//! that the rest of the broker speaks to.
//!
//! Must not: take, settle or record a delivery (`delivery/native.rs` asks
//! this client to carry one and settles by core's `settle_protocol`), or
//! decide what a protocol's answer means for a delivery.

pub mod acp;
pub mod claude;
pub mod codex;
mod codex_wire;
pub mod jsonrpc;
pub mod process;
pub mod session;
pub mod turn;
pub mod websocket;

pub use acp::AcpClient;
pub use process::HeadlessProcess;
pub use session::NativeSession;
pub use turn::{PromptAnswer, Update};
