//! The command line: every subcommand, its flags and their documented defaults.
//! Precedence: flags > `COURIER_*` environment > defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "courier",
    version,
    about = "Durable, observable messaging between AI coding agents in terminals",
    long_about = "Courier runs agents (Claude Code, Codex, Gemini CLI, aider, any shell program) in \
pseudo-terminals it owns, queues messages for them durably, types each one in when the agent is \
ready, and proves delivery by reading the rendered screen.\n\nStart with `courier demo`."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// State directory of the broker (store, lock, connection file).
    /// Default: $XDG_STATE_HOME/courier or ~/.local/state/courier.
    #[arg(long, global = true, env = "COURIER_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Broker URL; default: read from the state directory's connection.json.
    #[arg(long, global = true, env = "COURIER_URL")]
    pub url: Option<String>,
    /// Bearer token; default: read from the state directory's connection.json.
    #[arg(long, global = true, env = "COURIER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the broker in the foreground (durable by default).
    Up(UpArgs),
    /// Ask the running broker to shut down gracefully.
    Down,
    /// Show whether a broker is running, its URL, agents and pending deliveries.
    Status,
    /// Start an agent: any command in a pseudo-terminal owned by the broker.
    Spawn(SpawnArgs),
    /// List agents with their state and queue depth.
    Agents,
    /// Send a message to an agent, a #channel or * (everyone).
    Send(SendArgs),
    /// Send a message to an agent and wait for its reply; prints the reply.
    #[command(
        long_about = "Send a message to an agent and wait for its reply, printed on stdout (--json: \
the outcome, the reply and the message's status as the broker sent it).\n\nThe reply to a \
headless agent (spawn --headless) is its final answer to the turn the message started. A terminal \
agent replies by sending a message with `thread` set to the message's id (courier send --thread \
ID, the API, or the MCP send tool); the first reply of either kind ends the wait.\n\nExit codes: \
0 a reply came; 1 the broker failed or could not be reached; 3 no reply within --timeout (the \
message stays in the queue or delivered); 4 the delivery ended without a reply coming: unverified, \
dropped or dead-lettered (the state and reason are printed), or the send reached nobody."
    )]
    Ask(AskArgs),
    /// Print events; --follow keeps streaming live ones.
    Events(EventsArgs),
    /// Print an agent's rendered screen.
    Screen { name: String },
    /// Print a headless agent's conversation: the messages it got, its replies, tool calls
    /// and errors (kept in the store); --follow keeps printing new turns.
    Transcript(TranscriptArgs),
    /// Find setup problems: the state directory, its lock, the store, the
    /// port, and each preset's CLI and version. Exit 1 on a failure.
    Doctor(DoctorArgs),
    /// Drive an agent's terminal yourself, live; detach with Ctrl-].
    #[command(
        long_about = "Drive an agent's terminal yourself, like `tmux attach`: your terminal shows the \
agent's screen and every byte it writes, live, and your keystrokes go to it as they are (raw mode). \
Your terminal's size becomes the agent's, now and whenever you resize the window. While you type, \
deliveries to the agent wait (`courier up --typing-hold-ms`), so no message lands in the middle of \
what you write.\n\nCtrl-] detaches and restores your terminal; so does the agent's exit or a lost \
connection, with a line that says why. Needs the owner's token to type; an agent's token may only \
watch its own terminal (--read-only)."
    )]
    Attach(AttachArgs),
    /// Stop an agent and every process it started.
    Release { name: String },
    /// Open the dashboard: prints its URL with a one-time login code (it works once, within 60
    /// s, and becomes a browser session cookie) and opens it with xdg-open (or $BROWSER) when a
    /// desktop is there.
    Open(OpenArgs),
    /// Join or leave channels, or list them.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Dead letters: dropped and dead deliveries.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Tokens the owner issues: read-only observers (a dashboard, a CI
    /// job, a person watching). Owner's token only.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show a message and the state of each of its deliveries (who has read it).
    Message { id: String },
    /// Your inbox, as the agent in COURIER_AGENT (run from the agent's shell); marks what it
    /// shows as read.
    Inbox(InboxArgs),
    /// Set when an agent's deliveries are typed in: idle (next idle boundary, the default),
    /// immediate (even while busy) or manual (held until `courier flush`). Persisted.
    Mode {
        name: String,
        #[arg(value_parser = ["idle", "immediate", "manual"])]
        mode: String,
    },
    /// Let every delivery queued for an agent through now (manual mode).
    Flush { name: String },
    /// Interrupt an agent's current turn: send its preset's interrupt keys (Esc for Claude
    /// Code, Codex, Gemini CLI and opencode; Ctrl-C for aider, a shell or any command).
    /// Refused while a dialog is on its screen (keys there are menu choices).
    Interrupt { name: String },
    /// Report that you (the agent in COURIER_AGENT, run from its shell) finished your task,
    /// with an optional result: event `agent_done`, and `done`/`result` in `courier agents`.
    Done(DoneArgs),
    /// Run by an agent CLI's lifecycle hook (e.g. Claude Code's UserPromptSubmit): reads the
    /// hook's JSON on stdin, prints the agent's pending messages as the hook's context output
    /// and marks them read (channel `hook`; they are never typed in).
    Hook {
        /// The hook event: UserPromptSubmit, SessionStart, PostToolUse or Stop.
        event: String,
    },
    /// Run a self-contained demo: a broker, three agents, messages, a summary.
    Demo(DemoArgs),
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
    /// Print the broker API's OpenAPI 3.1 document (JSON), generated from the protocol's types:
    /// the same document a broker serves at GET /v1/openapi.json. Needs no broker.
    Openapi,
    /// Serve MCP over stdio for the agent in COURIER_AGENT (agent CLIs start this).
    #[command(
        long_about = "Serve Courier's MCP tools (send_message, list_agents, list_channels, \
join_channel, leave_channel, read_inbox, message_status, set_delivery_mode, flush_inbox, \
report_done, whoami) \
over stdio. Agent CLIs that Courier spawns start it themselves with COURIER_URL, COURIER_AGENT and \
COURIER_TOKEN in its environment; it always acts as that agent."
    )]
    Mcp,
    /// Internal: keep one agent's terminal alive across broker restarts (the broker starts
    /// this; the spawn spec comes as JSON on stdin).
    #[command(hide = true)]
    SessionHost {
        /// Unix socket to serve the session on.
        #[arg(long)]
        socket: std::path::PathBuf,
        /// End the agent after this long (ms) with no broker attached.
        #[arg(long, default_value_t = 600_000)]
        orphan_timeout_ms: u64,
    },
    /// Internal: run in an agent's terminal, start its CLI's server on a Unix socket, then
    /// become its TUI joined to that server (the broker runs this for a preset with `served`).
    #[command(hide = true)]
    ServedTui(crate::served_tui::ServedTuiArgs),
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Keep everything in memory; pending deliveries are lost at shutdown.
    #[arg(long)]
    pub ephemeral: bool,
    /// Address to listen on. Default: 127.0.0.1, port chosen by the system.
    #[arg(long, env = "COURIER_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Most queued deliveries per agent before the oldest is dropped.
    #[arg(long, env = "COURIER_QUEUE_CAP", default_value_t = 256)]
    pub queue_cap: usize,
    /// Largest message body accepted, in bytes.
    #[arg(long, env = "COURIER_MAX_BODY", default_value_t = 64 * 1024)]
    pub max_body: usize,
    /// A delivery that makes no progress this long (ms) while its agent should take it (ready
    /// and idle), that waits this long for an agent that is not ready (never drew a prompt, a
    /// dialog nobody answers, exited), or that sits in flight this long is reported stuck
    /// (`delivery_stuck`, /healthz degraded).
    #[arg(long, env = "COURIER_STUCK_AFTER_MS", default_value_t = 30_000)]
    pub stuck_after_ms: u64,
    /// A queued delivery whose agent is ready but has been busy this long (ms) is reported
    /// stuck with reason `agent_busy` (an agent working forever, e.g. retrying an unreachable
    /// API). Default: 15 minutes.
    #[arg(long, env = "COURIER_BUSY_STUCK_AFTER_MS", default_value_t = 900_000)]
    pub busy_stuck_after_ms: u64,
    /// Events and finished deliveries older than this many hours are pruned (with their
    /// messages), hourly. Pending deliveries and dead letters are never pruned.
    #[arg(long, env = "COURIER_RETENTION_HOURS", default_value_t = 168)]
    pub retention_hours: u64,
    /// Agents outlive a crash of the broker (each runs under a session host) and the next
    /// start takes them over; a host nobody comes back to ends its agent after this many
    /// seconds. A graceful `courier down` ends every agent at once.
    #[arg(long, env = "COURIER_ORPHAN_TIMEOUT_S", default_value_t = 600)]
    pub orphan_timeout_s: u64,
    /// Keep agents' terminals in the broker process instead of session hosts: one process
    /// fewer per agent, but a crash of the broker ends every agent (and what was in flight
    /// then ends unverified rather than being settled from the screen).
    #[arg(long, env = "COURIER_NO_SESSION_HOSTS")]
    pub no_session_hosts: bool,
    /// Rules of who may message whom (TOML, `[[rule]]` tables; see the README), read once at
    /// start; a refused send is 403 acl_denied and a `message_refused` event. Default:
    /// <state dir>/acl.toml if it exists, else everyone may message everyone. A file with a
    /// mistake stops the start, naming its line.
    #[arg(long, env = "COURIER_ACL")]
    pub acl: Option<PathBuf>,
    /// Deliveries to an agent wait while a person types into it (`courier attach`, the
    /// terminal WebSocket, POST /v1/agents/{name}/input): until this many ms pass without a
    /// keystroke (`courier agents` shows `held: typing: …`; events `agent_held`,
    /// `agent_unheld`). 0 turns it off; a draft left in the input holds them either way.
    #[arg(long, env = "COURIER_TYPING_HOLD_MS", default_value_t = 3000)]
    pub typing_hold_ms: u64,
    /// Output chunks (one read of the agent's terminal each, up to 64 KiB) kept for a live
    /// terminal viewer that has not read them yet; a viewer further behind is sent a fresh
    /// screen (`{"type":"resync"}`) instead. Viewers never slow an agent down.
    #[arg(long, env = "COURIER_STREAM_BUFFER_CHUNKS", default_value_t = 256)]
    pub stream_buffer_chunks: usize,
    /// A host name the API answers to beside 127.0.0.1, localhost, [::1] and the --listen
    /// address (repeatable; env: comma separated). Any other `Host` header is refused with
    /// 421, so a web page cannot reach the broker by rebinding its own name to 127.0.0.1.
    #[arg(
        long,
        env = "COURIER_ALLOW_HOST",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub allow_host: Vec<String>,
    /// Most HTTP connections open at once; at the limit the oldest idle ones are closed to
    /// make room.
    #[arg(long, env = "COURIER_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// A connection that sends no whole request head for this many ms (after it opened, or
    /// after its last response) is closed.
    #[arg(long, env = "COURIER_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    #[command(flatten)]
    pub nats: NatsArgs,
}

/// Joining a workspace of several hosts over NATS JetStream (see
/// docs/federation.md). Without `--nats` the broker is on its own.
#[derive(Debug, Args)]
pub struct NatsArgs {
    /// Join a workspace through this NATS server (JetStream on), e.g.
    /// nats://127.0.0.1:4222; several, comma separated. Agent names become
    /// unique across the workspace, and messages reach agents of every host.
    #[arg(long = "nats", env = "COURIER_NATS_URL", value_name = "URL")]
    pub url: Option<String>,
    /// The workspace to join (brokers of one workspace see each other).
    #[arg(long, env = "COURIER_WORKSPACE", default_value = "default")]
    pub workspace: String,
    /// This broker's name in the workspace (letters, digits, '-', '_').
    /// Default: the machine's host name.
    #[arg(long, env = "COURIER_HOST_ID")]
    pub host_id: Option<String>,
    /// NATS credentials file (JWT and NKey seed).
    #[arg(long, env = "COURIER_NATS_CREDS", value_name = "FILE")]
    pub nats_creds: Option<PathBuf>,
    /// NATS user (with --nats-password).
    #[arg(long, env = "COURIER_NATS_USER")]
    pub nats_user: Option<String>,
    /// NATS password.
    #[arg(long, env = "COURIER_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// NATS token.
    #[arg(long, env = "COURIER_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// CA certificate(s) to trust for NATS over TLS (PEM).
    #[arg(long, env = "COURIER_NATS_TLS_CA", value_name = "FILE")]
    pub nats_tls_ca: Option<PathBuf>,
    /// Client certificate for mutual TLS (PEM; with --nats-tls-key).
    #[arg(long, env = "COURIER_NATS_TLS_CERT", value_name = "FILE")]
    pub nats_tls_cert: Option<PathBuf>,
    /// Client key for mutual TLS (PEM).
    #[arg(long, env = "COURIER_NATS_TLS_KEY", value_name = "FILE")]
    pub nats_tls_key: Option<PathBuf>,
    /// Refuse to talk to NATS without TLS.
    #[arg(long, env = "COURIER_NATS_REQUIRE_TLS")]
    pub nats_require_tls: bool,
    /// Replicas of the workspace's streams and bucket (3 in a cluster).
    #[arg(long, env = "COURIER_NATS_REPLICAS", default_value_t = 1)]
    pub nats_replicas: usize,
    /// nats-server's monitoring URL (http://host:8222): checked at join, with
    /// a warning when JetStream does not sync every write to disk.
    #[arg(long, env = "COURIER_NATS_MONITOR", value_name = "URL")]
    pub nats_monitor: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  courier attach alice              # drive alice; Ctrl-] to detach\n  courier attach alice --read-only   # watch only"
)]
pub struct AttachArgs {
    /// The agent to attach to.
    pub name: String,
    /// Watch only: nothing you type is sent (except Ctrl-], which detaches), and the agent's
    /// size is left as it is.
    #[arg(long)]
    pub read_only: bool,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Only print the URL; start no browser.
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Args)]
pub struct InboxArgs {
    /// The agent whose inbox to read. Default: $COURIER_AGENT.
    #[arg(long, env = "COURIER_AGENT")]
    pub agent: Option<String>,
    /// Only messages not read yet.
    #[arg(long)]
    pub unread: bool,
    /// Do not mark what is shown as read.
    #[arg(long)]
    pub peek: bool,
    /// Most messages shown.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  courier spawn claude --name alice        # a preset: the CLI with Courier's MCP server\n  courier spawn shell --name bob --channel team\n  courier spawn --name py -- python3 -i    # any command\n  courier spawn claude --name carol --task 'fix the flaky test' --restart on-failure\n  courier spawn claude --headless --name dan   # Claude Code over stream-json, no terminal\n  courier spawn --headless --protocol claude-stream-json --name eve -- ./my-agent"
)]
pub struct SpawnArgs {
    /// A preset: claude, codex, gemini, opencode, aider or shell (user
    /// presets in ~/.config/courier/presets.toml). Omit it to run a command
    /// given after `--`.
    pub preset: Option<String>,
    /// Name of the agent (letters, digits, '-', '_', '.').
    #[arg(long)]
    pub name: String,
    /// Channels to join at once (repeatable, with or without '#').
    #[arg(long = "channel")]
    pub channels: Vec<String>,
    /// Working directory of the agent. Default: the current directory.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Environment variables KEY=VALUE (repeatable).
    #[arg(long = "env", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,
    /// Extra argument for the preset's CLI (repeatable).
    #[arg(long = "arg", allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// The command and its arguments, after `--` (instead of a preset).
    #[arg(last = true)]
    pub command: Vec<String>,
    /// A first message for the agent, stored with the spawn and typed in once it is ready
    /// (exactly once, even if the broker crashes right after the spawn).
    #[arg(long)]
    pub task: Option<String>,
    /// Resume the CLI's session with this id (presets with a resume option only).
    #[arg(long, conflicts_with = "continue_last")]
    pub resume: Option<String>,
    /// Continue the CLI's most recent session in the working directory (presets only).
    #[arg(long = "continue")]
    pub continue_last: bool,
    /// Start the agent again when it ends: never (default), on-failure (a non-zero exit or a
    /// signal) or always.
    #[arg(long, value_parser = ["never", "on-failure", "always"])]
    pub restart: Option<String>,
    /// With --restart: past this many restarts within the window, the agent is dead.
    /// Default: 5.
    #[arg(long, requires = "restart")]
    pub max_restarts: Option<u32>,
    /// With --restart: the window restarts are counted in, in seconds. Default: 300.
    #[arg(long, requires = "restart")]
    pub restart_window_s: Option<u64>,
    /// With --restart: the wait before each restart in ms, comma separated (the last one
    /// repeats). Default: 500,1000,2000,5000,10000.
    #[arg(long, requires = "restart", value_delimiter = ',')]
    pub backoff_ms: Vec<u64>,
    /// A regex that shows the agent's context running low on its screen (repeatable;
    /// added to the preset's): one `agent_context_low` event per episode.
    #[arg(long = "context-low-pattern")]
    pub context_low_patterns: Vec<String>,
    /// A regex of the agent's working status line, e.g. 'esc to interrupt' (repeatable; added
    /// to the preset's): while it is on screen the agent is busy and idle mode types nothing.
    #[arg(long = "busy-pattern")]
    pub busy_patterns: Vec<String>,
    /// A regex of what the agent draws when a turn has ended (repeatable; added to the
    /// preset's): a busy line with one of these below it is history.
    #[arg(long = "idle-pattern")]
    pub idle_patterns: Vec<String>,
    /// Run the agent headless: its CLI on pipes with no PTY, spoken to in its own protocol — a
    /// preset's headless mode (`gemini` runs `gemini --acp`; `claude` runs `claude -p
    /// --input-format stream-json --output-format stream-json --verbose
    /// --replay-user-messages`; `codex` runs `codex app-server`) or a command speaking --protocol. Messages go through the
    /// `native` channel, proven by the protocol's report of the turn that carries them
    /// (verification `protocol`); its conversation is kept as events: `courier transcript
    /// NAME`. No terminal to attach to.
    #[arg(long)]
    pub headless: bool,
    /// The protocol a headless agent speaks on its stdio: `acp` (the Agent Client Protocol,
    /// JSON-RPC) or `claude-stream-json` (Claude Code's stream-json; a message is proven only
    /// when the CLI echoes it, `--replay-user-messages`, before the turn's `result`, else it
    /// ends `unverified`) or `codex-app-server` (Codex's app server; a message is proven when
    /// the turn `turn/start` answered with shows it as a `userMessage` item and then
    /// completes). Default: the preset's headless protocol, else `acp`.
    #[arg(long, requires = "headless", value_parser = ["acp", "claude-stream-json", "codex-app-server"])]
    pub protocol: Option<String>,
    /// The channel that delivers messages to it: `keystrokes` (typed into its terminal, proven
    /// on the screen), `hooks` (its CLI's lifecycle hook runs `courier hook`), `both`
    /// (whichever claims a message first) or `native` (the CLI's own protocol: headless, or
    /// with its TUI kept when the preset's TUI shares it — `codex` runs its app server and
    /// `codex --remote` in the terminal, Courier is a second client of that server, and
    /// messages are typed into the TUI while the server is gone). Default: `native` with
    /// --headless, else the preset's (`codex`: native), else `keystrokes`.
    #[arg(long, value_parser = ["keystrokes", "hooks", "both", "native"])]
    pub delivery: Option<String>,
    /// How each message is framed so the agent's program runs none of it: `auto`
    /// (default: from the program reading its terminal at each delivery), `none`, or an
    /// interpreter (`sh`, `bash`, `zsh`, `fish`, `python`, `node`, `ruby`, …).
    #[arg(long)]
    pub framing: Option<String>,
}

#[derive(Debug, Args)]
pub struct DoneArgs {
    /// What you produced or concluded (for whoever waits on you).
    pub result: Option<String>,
    /// The agent that is done. Default: $COURIER_AGENT.
    #[arg(long, env = "COURIER_AGENT")]
    pub agent: Option<String>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Recipient: an agent name, #channel, or * for every agent.
    pub to: String,
    /// The message; read from stdin when absent or "-".
    pub text: Option<String>,
    /// Sender name. Default: $COURIER_AGENT, else "human".
    #[arg(long, env = "COURIER_AGENT", default_value = "human")]
    pub from: String,
    /// Id of the message this one replies to.
    #[arg(long)]
    pub thread: Option<String>,
    /// Key that makes a retried send harmless (remembered 24 h).
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The agent to ask.
    pub name: String,
    /// The message.
    pub text: String,
    /// How long to wait for the reply: e.g. 90s, 10m, 1h30m.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub timeout: u64,
    /// Sender name. Default: $COURIER_AGENT, else "human".
    #[arg(long, env = "COURIER_AGENT", default_value = "human")]
    pub from: String,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Keep streaming live events.
    #[arg(long, short)]
    pub follow: bool,
    /// Only events after this seq.
    #[arg(long, default_value_t = 0)]
    pub since: u64,
}

#[derive(Debug, Args)]
pub struct TranscriptArgs {
    /// The agent (spawned with --headless).
    pub name: String,
    /// Keep printing new turns as they come.
    #[arg(long, short)]
    pub follow: bool,
    /// Only what happened after this event seq.
    #[arg(long, default_value_t = 0)]
    pub since: u64,
}

#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// List channels and their members.
    List,
    /// Add an agent to a channel.
    Join { channel: String, agent: String },
    /// Remove an agent from a channel.
    Leave { channel: String, agent: String },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dropped and dead deliveries.
    List,
    /// Put a dropped or dead delivery back in its agent's queue.
    Replay { delivery_id: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token; it is printed once and stored only as a hash.
    Create(TokenCreateArgs),
    /// List issued tokens: id, label, kind, state, created and expiry (never the token).
    List,
    /// Revoke a token: it is refused (401) from now on.
    Revoke { id: String },
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A read-only token: agents, screens, events, messages; it can never send, type, spawn,
    /// release, replay, change modes or channels, flush, read/claim an inbox or shut down.
    #[arg(long, required = true)]
    pub observer: bool,
    /// How long it works: e.g. 90s, 30m, 12h, 7d, 2w, 1h30m. Default: until revoked.
    #[arg(long, value_parser = parse_duration)]
    pub expires: Option<u64>,
    /// A label to tell it apart in `courier token list`.
    #[arg(long)]
    pub name: Option<String>,
}

/// `90s`, `30m`, `12h`, `7d`, `2w`, `1h30m` or plain seconds → seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a duration like 90s, 30m, 12h, 7d, 2w or 1h30m");
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds);
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(total)
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Messages each agent sends.
    #[arg(long, default_value_t = 4)]
    pub rounds: u32,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Exit 1 on a warning too (a CLI version that drifted from its preset,
    /// a state directory others can list, ...).
    #[arg(long)]
    pub strict: bool,
    /// With --nats (or COURIER_NATS_URL): also check the workspace's NATS
    /// server (it answers, JetStream is on, and with --nats-monitor that it
    /// syncs every write). Creates nothing there.
    #[command(flatten)]
    pub nats: NatsArgs,
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("2w"), Ok(1_209_600));
        assert_eq!(parse_duration("45"), Ok(45));
        for bad in ["", "h", "5x", "1h30", "0s", "99999999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
