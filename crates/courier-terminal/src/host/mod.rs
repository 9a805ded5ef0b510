//! Sessions that outlive the broker.
//!
//! A *session host* is a small process that owns one agent's PTY (a
//! [`crate::Session`]) and serves it on a Unix socket; the broker talks to
//! it through [`RemoteSession`], which implements [`crate::Terminal`] like
//! a local session. When the broker is killed, the host and its agent keep
//! running; the restarted broker connects again, gets the screen as it is,
//! and can prove from it what happened to a delivery that was in flight
//! (see [`crate::resume`]).
//!
//! - [`adopter`]: the host adopts and reaps the orphans of the agent's
//!   session, so the session lies below it;
//! - [`frame`]: the wire format (kind, length, payload);
//! - [`server`]: the host side ([`serve`]);
//! - [`client`]: the broker side ([`RemoteSession`]).

pub mod adopter;
pub mod client;
pub mod frame;
pub mod server;

pub use client::RemoteSession;
pub use server::{HostEnd, HostOptions, serve};
