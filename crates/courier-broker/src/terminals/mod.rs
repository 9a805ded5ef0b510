//! **Terminals**: agents' terminals as the broker holds them.
//!
//! Owns: [`AgentTerminal`] (a PTY of this process or one served by a
//! session host, [`agent_terminal`]), starting session hosts and
//! reattaching to them ([`hosting`], [`reattach`]), and where a new
//! terminal comes from, with the previous broker's survivors until their
//! agents resume ([`opener`]).
//!
//! Must not: read or write the store's deliveries, judge a screen, or know
//! about agents beyond their names and spawn specs.

pub mod agent_terminal;
pub mod hosting;
pub mod opener;
pub mod reattach;

pub use agent_terminal::AgentTerminal;
pub use hosting::Hosting;
pub use opener::TerminalOpener;
