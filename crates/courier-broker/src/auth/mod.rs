//! **Auth**: who is calling, and what they may do.
//!
//! Owns: the owner's and observers' tokens ([`token`], [`issued`]: observer
//! tokens known by their hash, durable in the store), agents' own tokens
//! ([`identities`]), the dashboard's login codes and sessions
//! ([`sessions`]), and the ACL file of who may message whom ([`acl_file`],
//! judged by core's `acl`).
//!
//! Must not: know about HTTP (the API's `api/auth.rs` is the one place that
//! authorizes a request, with these), or keep a token in plain text beyond
//! memory (only hashes are stored).

pub mod acl_file;
pub mod identities;
pub mod issued;
pub mod sessions;
pub mod token;
