//! **Lifecycle**: an agent's life from spawn to release.
//!
//! Owns: spawning (checks, the name reserved and claimed in the workspace,
//! the first generation, the commit of agent + channels + task:
//! [`spawn`]), starting one generation of an agent — its process (or the
//! survivor taken over), identity, event and tasks ([`generation`]) —, the
//! supervisor of each generation (exit, crash, restart policy, context
//! low: [`supervisor`], [`context_low`]), restarts ([`restart`]: one
//! restarter serves the supervisors' requests), giving up ([`dead`]), an
//! agent reporting done ([`done`]), interrupting it ([`interrupt`]) and
//! releasing it ([`release`]). [`state`] holds the parts it works with.
//!
//! Must not: type into an agent or settle a delivery itself (it calls
//! `delivery/` for what an exit or an end means for deliveries), decide a
//! restart (core's `RestartPolicy::decide` does), or know about HTTP.

pub mod context_low;
pub mod dead;
pub mod done;
pub mod generation;
pub mod interrupt;
pub mod release;
pub mod restart;
pub mod spawn;
pub mod state;
pub mod supervisor;

pub use state::Lifecycle;
