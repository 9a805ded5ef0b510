//! **Delivery**: taking deliveries out of an agent's queue and ending each
//! one, with proof.
//!
//! Owns: accepting a send ([`send`]); the per-agent loop that waits, claims,
//! carries and commits ([`deliver_loop`], one attempt in [`attempt`],
//! whatever the agent's channel: keystrokes, or its own protocol in
//! [`native`]; in `immediate` mode, messages steered into the turn the
//! loop follows by [`steer_lane`]; a served agent's TUI as the protocol's
//! second witness, [`screen_witness`]); the
//! input hold (nothing typed into an input that holds text:
//! [`input_hold`]); settling what a previous broker left in flight, from a
//! surviving screen ([`resume`]) or at start for new sessions
//! ([`recovery`]); what an agent's exit or end means for its deliveries
//! ([`crash`], [`ended`]); read receipts, hook claims, modes and flushes
//! ([`requests`]); and the stuck-delivery watchdog ([`watchdog`]).
//!
//! Must not: start, restart or end an agent's process (`lifecycle/`), or
//! decide a rule core owns (states, pacing, framing, stuck bounds): it asks
//! `courier_core` and records what core says.

pub mod attempt;
pub mod crash;
pub mod deliver_loop;
pub mod ended;
pub mod input_hold;
pub mod native;
pub mod recovery;
pub mod requests;
pub mod resume;
pub mod screen_witness;
pub mod send;
pub mod steer_lane;
pub mod watchdog;

pub use watchdog::{Stuck, Watchdog};
