//! **Spec**: how an agent is started, as a client asks for it and as it is
//! persisted so a restarted broker spawns it again.
//!
//! Owns: [`AgentSpec`] and its checks ([`agent_spec`]), the bounds a spawn
//! request must stay within ([`limits`]), which CLI session a spawn resumes
//! ([`resume`]), and the initial task message ([`task`]).
//!
//! Must not: start anything, read files or the store: a spec is data and
//! its checks are pure.

pub mod agent_spec;
pub mod limits;
pub mod resume;
pub mod task;

pub use agent_spec::AgentSpec;
pub use limits::SpecLimit;
pub use resume::ResumeSpec;
