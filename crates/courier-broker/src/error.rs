//! What the broker refuses or fails at.

use courier_core::CoreError;
use courier_store::StoreError;
use courier_terminal::TerminalError;

use crate::state_dir::StateDirError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Refused(#[from] CoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Terminal(#[from] TerminalError),
    #[error(transparent)]
    StateDir(#[from] StateDirError),
    #[error(transparent)]
    Preset(#[from] courier_presets::PresetError),
    #[error("no agent named {0:?}")]
    UnknownAgent(String),
    #[error("an agent named {0:?} is already running")]
    AgentExists(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the broker is shutting down")]
    ShuttingDown,
    /// Federation: the name belongs to an agent of another host.
    #[error("the name {name:?} is taken in the workspace by an agent of host {host:?}")]
    NameTaken { name: String, host: String },
    /// Federation: the workspace directory cannot be reached, so a name
    /// cannot be claimed (uniqueness across hosts would not hold).
    #[error("the workspace directory is unreachable: {0}")]
    FederationUnavailable(String),
}
