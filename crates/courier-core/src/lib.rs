//! Courier's delivery logic, free of I/O and of any async runtime.
//!
//! Everything here is a plain value or a pure function, so that the rules of
//! `docs/delivery.md` can be checked with unit and property tests:
//!
//! - [`time`]: timestamps and the [`time::Clock`] that tests control.
//! - [`ids`], [`recipient`], [`message`]: what a sender sends.
//! - [`delivery`]: one message to one agent, and the state machine whose
//!   transitions return the [`event::EventKind`]s they cause.
//! - [`agent_state`]: the one state label of an agent every client shows.
//! - [`mode`]: delivery modes, channels (pty, hook) and the stuck rule.
//! - [`fanout`]: who receives a message (never its own sender).
//! - [`acl`]: who may message whom (allow/deny rules, first match wins).
//! - [`queue`]: the per-agent queue cap that evicts the oldest *queued* delivery.
//! - [`pacing`]: the delay between injections into one agent.
//! - [`retry`]: how many attempts before a delivery is dead.
//! - [`restart`]: whether an agent that exited is started again, and when it is dead.
//! - [`settle`]: how a delivery in flight ends: an injection attempt's report,
//!   or its agent gone, → its transitions, counter and pacing signal.
//! - [`sanitize`], [`framing`]: what is typed into a terminal.
//! - [`display`]: what Courier prints for a person (no escape reaches a
//!   terminal); [`invisible`]: the bidi and invisible characters both show.
//! - [`remote`]: federation: a delivery forwarded to another host follows
//!   that host's events.
//!
//! Crates above this one (store, terminal, broker) own the I/O and call in here
//! for every decision.

pub mod acl;
pub mod agent_state;
pub mod delivery;
pub mod display;
pub mod error;
pub mod event;
pub mod fanout;
pub mod framing;
pub mod ids;
pub mod invisible;
pub mod message;
pub mod mode;
pub mod pacing;
pub mod queue;
pub mod recipient;
pub mod remote;
pub mod restart;
pub mod retry;
pub mod sanitize;
pub mod settle;
pub mod time;

pub use acl::{Acl, AclCheck, Refusal};
pub use agent_state::{AgentFacts, AgentState, Locality, agent_state};
pub use delivery::{Delivery, DeliveryState, Transition, Verification};
pub use error::CoreError;
pub use event::{Event, EventKind};
pub use ids::{DeliveryId, MessageId};
pub use message::{Message, NewMessage, Reply, ReplyVia};
pub use mode::{ChannelPolicy, DeliveryChannel, DeliveryMode, NativeProtocol, StuckReason};
pub use recipient::Recipient;
pub use restart::{Backoff, RestartDecision, RestartMode, RestartPolicy};
pub use time::Timestamp;
