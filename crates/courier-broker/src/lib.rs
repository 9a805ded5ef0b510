//! Courier's broker: the runtime that owns agents' terminals and delivers.
//!
//! Components, from the bottom up (a component imports only those above
//! it in this list; `crates/courier/tests/architecture/module_graph.rs`
//! fails on a cycle):
//! - the shared pieces: [`config`], [`error`], [`metrics`], [`shutdown`],
//!   [`state_dir`], [`bus`] (committed events to live streams),
//!   [`connections`] (the HTTP connection limits), and [`services`], the
//!   bundle every component takes;
//! - [`spec`]: how an agent is started (the spawn request, persisted);
//! - [`launch`]: a spec → what to run, and how messages to it are framed;
//! - [`auth`]: tokens, identities, dashboard sessions, the ACL file;
//! - [`native`]: headless agents' processes on pipes and the protocol
//!   clients over their stdio (ACP);
//! - [`terminals`]: agents' PTYs, local or under session hosts, or a
//!   headless agent's process;
//! - [`agents`]: the registry of running agents, their status, control
//!   and screen watcher;
//! - [`federation`]: brokers of several hosts in one workspace over NATS;
//! - [`delivery`]: sends, the per-agent delivery loop, holds, resumes,
//!   receipts and the stuck watchdog;
//! - [`lifecycle`]: spawn, generations, supervision, restart, dead, done,
//!   interrupt, release;
//! - [`pruner`]: retention, in bounded steps;
//! - [`broker`]: the [`Broker`] facade every entry point goes through;
//! - [`api`], [`ui`], [`server`]: the HTTP API, the dashboard, serving.

pub mod agents;
pub mod api;
pub mod auth;
pub mod broker;
pub mod bus;
pub mod config;
pub mod connections;
pub mod delivery;
pub mod error;
pub mod federation;
pub mod launch;
pub mod lifecycle;
pub mod metrics;
pub mod native;
pub mod pruner;
pub mod server;
pub mod services;
pub mod shutdown;
pub mod spec;
pub mod state_dir;
pub mod terminals;
pub mod ui;

pub use broker::Broker;
pub use config::{BrokerConfig, Durability};
pub use error::BrokerError;
pub use spec::AgentSpec;
