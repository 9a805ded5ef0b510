//! How a delivery in flight ends: the decisions the broker's delivery loop,
//! its crash handling and its restart recovery ask for, as pure functions.
//!
//! The broker does the effects (it types, it commits each transition, it
//! counts, it sleeps); these functions say which transitions, in which
//! order, and what they mean for the queue and for pacing:
//!
//! - [`settle_attempt`]: one injection attempt's report → a [`Settlement`]
//!   (transitions, the counter, whether the queue progressed, whether the
//!   text was left in the input, the pacing signal). An attempt the agent
//!   never saw (busy, refused by the screen, nothing reached an exited
//!   process) goes back to the queue without counting an attempt; one that
//!   was taken in without reaching Enter passes through `injected` first;
//!   one in flight when the agent exited ends `unverified`, `agent_exited`.
//! - [`settle_pending`]: a pending delivery whose agent or session is gone
//!   ([`Gone`]: exited, released, dead, or a broker restart onto a new
//!   session) → the transitions that end it. A pending delivery is never
//!   failed because its agent went away.
//! - [`settle_protocol`]: a native channel's [`ProtocolReport`] (the agent
//!   CLI's own protocol as witness) → the same kind of [`Settlement`]:
//!   `verified` (`protocol`) only for the turn that carries the message, a
//!   refusal `unverified` with the CLI's reason, a crash like any crash.
//! - [`settle_resumed`]: a delivery left in flight on a session that
//!   survived a broker restart, once the surviving screen decided it.
//!
//! Reasons are byte-for-byte those of `docs/delivery.md` (tests and the
//! documentation pin them); the few rules that can only read a reason's
//! text live in [`reasons`].

mod attempt;
mod exit;
mod gone;
mod outcome;
mod protocol;
pub mod reasons;
mod resumed;

pub use attempt::{Attempt, Counted, Settlement, outcome_at_exit, settle_attempt};
pub use exit::Exit;
pub use gone::{Gone, settle_pending};
pub use outcome::InjectionOutcome;
pub use protocol::{ProtocolAttempt, ProtocolReport, settle_protocol};
pub use reasons::ScreenRefusal;
pub use resumed::{Resumed, settle_resumed};

#[cfg(test)]
mod attempt_tests;
#[cfg(test)]
mod gone_tests;
#[cfg(test)]
mod properties;
