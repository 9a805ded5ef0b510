//! What the broker refuses or fails at, in two kinds that answer
//! differently: a [`ClientError`] is the request's fault (a 4xx that names
//! the field where there is one: the client can change the request and
//! succeed); a [`Fault`] is the broker's own (a 5xx, logged with the
//! operation that failed: the same request may succeed once the broker's
//! store, terminal, disk or network is back). Every error says which kind
//! it is; the conversions from the other crates' errors decide per variant
//! (see each `From`).

pub mod federation;

use std::path::PathBuf;

use courier_core::{CoreError, DeliveryId};
use courier_store::StoreError;
use courier_terminal::TerminalError;

use self::federation::FederationError;
use crate::spec::limits::SpecLimit;
use crate::state_dir::StateDirError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The request is wrong (4xx).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The broker could not do what a valid request asked (5xx).
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// A request the broker refuses: what was wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A rule of delivery (a name, a body, the ACL, …), checked by core.
    #[error(transparent)]
    Refused(CoreError),
    #[error("no agent named {0:?}")]
    UnknownAgent(String),
    #[error("no delivery with id {0}")]
    UnknownDelivery(DeliveryId),
    #[error("an agent named {0:?} is already running")]
    AgentExists(String),
    /// The agent's program ended: its terminal takes no more input.
    #[error("agent {0:?} is not running (its terminal closed)")]
    NotRunning(String),
    /// A headless agent has no terminal: keys and resizes have nowhere to go.
    #[error("agent {0:?} is headless: it has no terminal to type into (send it a message)")]
    Headless(String),
    /// Federation: the name belongs to an agent of another host.
    #[error("the name {name:?} is taken in the workspace by an agent of host {host:?}")]
    NameTaken { name: String, host: String },
    /// One field holds a value the broker cannot use.
    #[error("{field}: {problem}")]
    InvalidField { field: String, problem: String },
    /// Fields that cannot go together, or none of a required choice.
    #[error("{problem}")]
    InvalidCombination {
        fields: &'static [&'static str],
        problem: &'static str,
    },
    /// A delivery forwarded to another host is operated there.
    #[error("delivery {id} lives on host {host:?}: replay it there")]
    OnOtherHost { id: DeliveryId, host: String },
    /// The preset the spawn named cannot launch (unknown, cannot resume,
    /// its CLI not installed, …).
    #[error(transparent)]
    Preset(courier_presets::PresetError),
    /// The program (or working directory) the spawn named cannot start.
    #[error(transparent)]
    Spawn(TerminalError),
}

/// Something the broker failed at, with what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error(transparent)]
    Store(StoreError),
    /// A PTY, a session host, or a write to an agent's terminal.
    #[error(transparent)]
    Terminal(TerminalError),
    #[error(transparent)]
    StateDir(#[from] StateDirError),
    /// The preset file could not be read.
    #[error(transparent)]
    PresetFile(courier_presets::PresetError),
    #[error("no randomness for {what}: {source}")]
    NoRandomness {
        what: &'static str,
        source: getrandom::Error,
    },
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot prepare the sessions directory in {}: {source}", dir.display())]
    SessionsDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// Launching an agent needed the broker's own files or directories.
    #[error("cannot {action}: {source}")]
    Launch {
        action: String,
        source: std::io::Error,
    },
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Federation(#[from] FederationError),
    /// The workspace directory cannot be reached, so a name cannot be
    /// claimed (uniqueness across hosts would not hold).
    #[error("the workspace directory is unreachable: {0}")]
    FederationUnavailable(String),
    #[error("the broker is shutting down")]
    ShuttingDown,
}

impl Fault {
    /// What the broker was doing, for the log line of a 5xx.
    pub fn operation(&self) -> &'static str {
        match self {
            Fault::Store(_) => "store",
            Fault::Terminal(_) => "terminal",
            Fault::StateDir(_) => "state directory",
            Fault::PresetFile(_) => "read the preset file",
            Fault::NoRandomness { .. } => "generate a token",
            Fault::Bind { .. } => "listen",
            Fault::SessionsDir { .. } => "prepare the sessions directory",
            Fault::Launch { .. } => "launch an agent",
            Fault::Encode { .. } => "encode",
            Fault::Federation(_) | Fault::FederationUnavailable(_) => "federation",
            Fault::ShuttingDown => "shut down",
        }
    }
}

/// Short constructors for the errors built most often.
impl BrokerError {
    pub fn unknown_agent(name: &str) -> BrokerError {
        ClientError::UnknownAgent(name.to_string()).into()
    }

    pub fn agent_exists(name: String) -> BrokerError {
        ClientError::AgentExists(name).into()
    }

    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> BrokerError {
        ClientError::InvalidField {
            field: field.to_string(),
            problem: problem.to_string(),
        }
        .into()
    }

    pub fn no_randomness(what: &'static str, source: getrandom::Error) -> BrokerError {
        Fault::NoRandomness { what, source }.into()
    }

    pub fn launch(action: impl Into<String>, source: std::io::Error) -> BrokerError {
        Fault::Launch {
            action: action.into(),
            source,
        }
        .into()
    }

    pub fn shutting_down() -> BrokerError {
        Fault::ShuttingDown.into()
    }
}

impl From<CoreError> for BrokerError {
    fn from(e: CoreError) -> Self {
        ClientError::Refused(e).into()
    }
}

/// A store error is the client's only when it names a rule the request
/// broke or a delivery that does not exist; any other is the storage's.
impl From<StoreError> for BrokerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(core) => ClientError::Refused(core).into(),
            StoreError::UnknownDelivery { id } => ClientError::UnknownDelivery(id).into(),
            other => Fault::Store(other).into(),
        }
    }
}

/// A program that cannot be spawned and a pattern that does not compile
/// come from the spawn's own fields, and a terminal closed because its
/// program ended is a request to an agent that no longer runs; every other
/// terminal failure (a PTY, a thread, a session host, a write) is the
/// broker's.
impl From<TerminalError> for BrokerError {
    fn from(e: TerminalError) -> Self {
        match e {
            TerminalError::Spawn { .. } => ClientError::Spawn(e).into(),
            TerminalError::Pattern { what, .. } => BrokerError::invalid(pattern_field(what), e),
            TerminalError::WriterClosed { agent } => ClientError::NotRunning(agent).into(),
            TerminalError::NoTerminal { agent } => ClientError::Headless(agent).into(),
            other => Fault::Terminal(other).into(),
        }
    }
}

/// The spawn field a terminal pattern comes from (`what` of
/// [`TerminalError::Pattern`]).
fn pattern_field(what: &str) -> &str {
    match what {
        "prompt" => "prompt_pattern",
        "dialog" => "dialog_patterns",
        "collapsed paste" => "collapsed_paste_patterns",
        "busy" => "busy_patterns",
        "idle" => "idle_patterns",
        other => other,
    }
}

impl From<StateDirError> for BrokerError {
    fn from(e: StateDirError) -> Self {
        Fault::StateDir(e).into()
    }
}

/// The client chose the preset, so what the preset cannot do is the
/// client's (as a CLI that is not installed: 422 with a hint); only a
/// preset file the broker cannot read is the broker's.
impl From<courier_presets::PresetError> for BrokerError {
    fn from(e: courier_presets::PresetError) -> Self {
        match e {
            courier_presets::PresetError::Read { .. } => Fault::PresetFile(e).into(),
            other => ClientError::Preset(other).into(),
        }
    }
}

impl From<SpecLimit> for BrokerError {
    fn from(e: SpecLimit) -> Self {
        BrokerError::invalid(e.field, e.problem)
    }
}

impl From<FederationError> for BrokerError {
    fn from(e: FederationError) -> Self {
        Fault::Federation(e).into()
    }
}
