//! Who is calling, once a request is authenticated (`auth.rs` puts it in
//! the request's extensions).

use axum::http::StatusCode;
use courier_core::recipient::validate_agent_name;

use super::error::ApiError;

/// Who is calling: the broker's owner (the connection file's token) or one
/// agent (its own `COURIER_TOKEN`), which may act only as itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Owner,
    Agent(String),
    /// An observer token the owner issued, by its id: reads only.
    Observer(String),
}

impl Identity {
    /// Passes the owner, and an agent acting on `name` when `name` is itself;
    /// refuses another agent with 403 `code` ("cannot {what} of {name}").
    pub fn act_on(&self, name: &str, code: &'static str, what: &str) -> Result<(), ApiError> {
        validate_agent_name(name)?;
        match self {
            Identity::Agent(me) if me != name => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                code,
                format!(
                    "agent {me:?} cannot {what} of {name:?}; an agent token acts only as itself"
                ),
            )),
            _ => Ok(()),
        }
    }
}
