//! **Agents**: the agents running on this host, one entry per name.
//!
//! Owns: the registry of running agents and the names being spawned
//! ([`registry`]); each agent's handle ([`handle`]: terminal, status,
//! control, framing, its generation's tasks), status ([`status`]), delivery
//! control (mode, flushes, progress: [`control`]), a person's typing and
//! keystrokes ([`typing`], [`person`]), its operating record across
//! restarts (restart policy, restarts, dead, done, context low:
//! [`ops`]), the context its tasks share ([`context`]), the screen
//! watcher that reports readiness and busy/idle ([`watcher`]), and a
//! headless agent's watcher, which does so from its protocol
//! ([`native_watcher`]), and the protocol a terminal agent's TUI shares,
//! where it stands ([`served_link`]), joined and kept joined while the agent
//! lives ([`served_joiner`]).
//!
//! Must not: take or settle a delivery (that is `delivery/`), start, restart
//! or end a process (that is `lifecycle/`), or know about HTTP.

pub mod context;
pub mod control;
pub mod handle;
pub mod listing;
pub mod native_watcher;
pub mod ops;
pub mod person;
pub mod registry;
pub mod served_joiner;
pub mod served_link;
pub mod status;
pub mod typing;
pub mod watcher;

pub use context::AgentContext;
pub use control::AgentControl;
pub use handle::AgentHandle;
pub use ops::OpsBoard;
pub use person::PersonInput;
pub use registry::Registry;
pub use status::AgentStatus;
