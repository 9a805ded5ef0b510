//! **Launch**: an agent spec (a raw command or a preset) turned into what to
//! run, with what it needs to be delivered to.
//!
//! Owns: resolving a preset with the agent's identity, its MCP wiring and
//! screen patterns ([`plan`]); the framing rule of an agent and its decision
//! per delivery from the process reading the terminal ([`framing_policy`]);
//! which version of a CLI is installed against its preset's ([`cli_version`]).
//!
//! Must not: start a process, touch the store or the agents registry (the
//! lifecycle starts what a plan says), or know about HTTP.

pub mod cli_version;
pub mod framing_policy;
pub mod plan;
pub mod served;

pub use framing_policy::{FramingDecision, FramingPolicy};
pub use plan::{Identity, Launch, Places, plan};
