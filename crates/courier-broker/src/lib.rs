//! Courier's broker: the runtime that owns agents' terminals and delivers.
//!
//! Components:
//! - [`broker`]: the [`Broker`] handle and the operations every entry point
//!   goes through (send, spawn, release, replay, stop);
//! - [`agent`]: one task per agent: readiness watcher and paced delivery loop;
//! - [`agent_control`]: what a person or the API changes of a running
//!   agent's delivery (mode, flushes, progress, typing);
//! - [`input_hold`]: deliveries wait while the input holds text or a person
//!   types ([`typing`]: a person's keystrokes, the typing window);
//! - [`agent_terminal`]: an agent's PTY, local or served by a session host;
//! - [`hosting`]: starting session hosts and reattaching to them on restart;
//! - [`agent_spec`]: how an agent is started, persisted for restarts;
//! - [`launch`]: a spec (raw command or preset) → what to run;
//! - [`bus`]: committed events fanned out to live stream clients;
//! - [`api`]: the HTTP API (axum) with bearer auth, SSE and WebSocket;
//! - [`ui`]: the dashboard under `/ui/` (embedded pages, login codes, sessions);
//! - [`server`]: binding, the connection file, serving until shutdown;
//! - [`supervisor`]: one task per agent process: the exit (`agent_crashed`),
//!   the restart policy ([`restart`]: restart or `agent_dead`), context-low
//!   episodes ([`context_low`]); [`crash`]: what an exit means for deliveries;
//! - [`agent_ops`]: restarts, dead, done and interrupt keys per agent;
//!   [`interrupt`], [`done`]: interrupting an agent, an agent reporting done;
//! - [`spawn_extras`]: resume, initial task, restart and interrupt fields of a spawn;
//! - [`pruner`]: deletes what the retention setting lets go, in bounded steps;
//! - [`acl_file`]: the rules of who may message whom, read at start;
//! - [`issued`]: observer tokens the owner issues, known by their hash;
//! - [`state_dir`]: the state directory, its lock and the connection file;
//! - [`config`], [`error`], [`token`], [`shutdown`], [`metrics`].

pub mod agent;
pub mod agent_control;
pub mod agent_ops;
mod agent_resume;
pub mod agent_terminal;
pub mod api;
pub mod auth;
pub mod broker;
pub mod bus;
pub mod config;
pub mod connections;
pub mod context_low;
pub mod control;
pub mod crash;
pub mod done;
pub mod error;
pub mod federation;
mod generation;
pub mod hosting;
pub mod input_hold;
pub mod interrupt;
pub mod launch;
pub mod spec;
pub mod metrics;
pub mod pruner;
mod recovery;
mod restart;
pub mod server;
pub mod shutdown;
pub mod state_dir;
pub mod supervisor;
pub mod typing;
pub mod ui;
pub mod watchdog;

pub use spec::AgentSpec;
pub use broker::Broker;
pub use config::{BrokerConfig, Durability};
pub use error::BrokerError;
