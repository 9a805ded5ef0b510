//! Broker settings with their documented defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub mod federation;

/// How long a keystroke holds deliveries by default (3 s).
pub const DEFAULT_TYPING_HOLD: Duration = Duration::from_secs(3);

/// The user's preset file: `$COURIER_PRESETS`, else
/// `$XDG_CONFIG_HOME/courier/presets.toml`, else `~/.config/courier/presets.toml`.
pub fn default_presets_file() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("COURIER_PRESETS") {
        return Some(PathBuf::from(path));
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME") {
        return Some(PathBuf::from(dir).join("courier/presets.toml"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/courier/presets.toml"))
}

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Durability {
    /// SQLite file in this state directory (the default).
    Durable { state_dir: PathBuf },
    /// In-memory store: pending deliveries are lost at shutdown (warned).
    Ephemeral { state_dir: Option<PathBuf> },
}

/// Default of [`BrokerConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default of [`BrokerConfig::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub durability: Durability,
    /// Default 127.0.0.1:0 (loopback, a free port).
    pub listen: SocketAddr,
    /// Bearer token; a random one when `None`.
    pub token: Option<String>,
    /// Queued deliveries per agent before the oldest is dropped (256).
    pub queue_cap: usize,
    /// Largest body accepted (64 KiB).
    pub max_body_bytes: usize,
    /// How long in-flight verification may take at shutdown (3 s).
    pub shutdown_grace: Duration,
    /// Readiness fallback for programs whose screen never looks ready (15 s).
    pub ready_fallback: Duration,
    /// A delivery that makes no progress this long while its agent should
    /// take it (ready and idle), or while its agent is not ready, or that
    /// sits in flight this long, is reported stuck (30 s).
    pub stuck_after: Duration,
    /// A queued delivery whose agent is ready but has been working (busy)
    /// this long is reported stuck (15 min): longer than `stuck_after`,
    /// since one turn of an agent may take many minutes.
    pub busy_stuck_after: Duration,
    /// Events and finished deliveries older than this are pruned, with
    /// their messages (7 days); dead letters and pending work never are.
    pub retention: Duration,
    /// How often pruning runs (1 h; also once at start).
    pub prune_every: Duration,
    /// The program to run as `PROGRAM session-host` for each agent of a
    /// durable broker (the `courier` binary), so agents outlive a crash of
    /// the broker; `None`: agents' PTYs live in this process.
    pub session_host: Option<PathBuf>,
    /// How long a session host keeps its agent with no broker attached (10 min).
    pub orphan_timeout: Duration,
    /// User presets overriding the built-in ones (see [`default_presets_file`]).
    pub presets_file: Option<PathBuf>,
    /// Who may message whom (no rules: everyone may), checked by every
    /// send in the store's transaction; see [`crate::acl_file`].
    pub acl: std::sync::Arc<courier_core::Acl>,
    /// The file the ACL came from, if any (shown in `/v1/status`).
    pub acl_path: Option<PathBuf>,
    /// Deliveries to an agent wait this long after a person's last keystroke
    /// into it (3 s; zero: typing never holds).
    pub typing_hold: Duration,
    /// Output chunks a live terminal viewer may fall behind before it is
    /// resynchronised with a fresh screen (256).
    pub stream_buffer_chunks: usize,
    /// Join a workspace over NATS (`courier up --nats`); `None`: one host.
    pub federation: Option<federation::FederationConfig>,
    /// Host names the API answers to beside 127.0.0.1, localhost, [::1]
    /// and the bound address (`--allow-host`); any other `Host` is 421.
    pub allow_hosts: Vec<String>,
    /// Most HTTP connections open at once (512); at the limit the oldest
    /// idle ones are closed to make room (see [`crate::connections`]).
    pub max_connections: usize,
    /// A connection that has not sent a whole request head this long after
    /// it opened or after its last response is closed (10 s).
    pub header_read_timeout: Duration,
}

impl BrokerConfig {
    pub fn new(durability: Durability) -> Self {
        BrokerConfig {
            durability,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            queue_cap: courier_core::queue::DEFAULT_QUEUE_CAP,
            max_body_bytes: courier_core::message::DEFAULT_MAX_BODY_BYTES,
            shutdown_grace: Duration::from_secs(3),
            ready_fallback: Duration::from_secs(15),
            stuck_after: Duration::from_secs(30),
            busy_stuck_after: Duration::from_secs(15 * 60),
            retention: Duration::from_secs(7 * 24 * 3600),
            session_host: None,
            orphan_timeout: Duration::from_secs(600),
            prune_every: Duration::from_secs(3600),
            presets_file: default_presets_file(),
            acl: std::sync::Arc::new(courier_core::Acl::allow_all()),
            acl_path: None,
            typing_hold: DEFAULT_TYPING_HOLD,
            stream_buffer_chunks: courier_terminal::DEFAULT_OUTPUT_CHUNKS,
            federation: None,
            allow_hosts: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
    }

    /// The watchdog's bounds, as core's rule takes them.
    pub fn stuck_bounds(&self) -> courier_core::mode::StuckBounds {
        courier_core::mode::StuckBounds {
            stuck_after: self.stuck_after,
            busy_stuck_after: self.busy_stuck_after,
        }
    }

    pub fn state_dir(&self) -> Option<&PathBuf> {
        match &self.durability {
            Durability::Durable { state_dir } => Some(state_dir),
            Durability::Ephemeral { state_dir } => state_dir.as_ref(),
        }
    }
}
