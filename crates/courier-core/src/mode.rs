//! How and when an agent takes its deliveries: the per-agent delivery mode,
//! the channel a delivery went through, and the stuck-delivery rule.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::delivery::{Delivery, DeliveryState};
use crate::time::Timestamp;

/// When an agent's queued deliveries are typed in. Persisted per agent.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    /// At the next idle boundary (the default).
    #[default]
    Idle,
    /// At once, even while the agent is busy.
    Immediate,
    /// Held in the queue, durably, until a person or the API flushes it.
    Manual,
}

impl DeliveryMode {
    pub const ALL: [DeliveryMode; 3] = [
        DeliveryMode::Idle,
        DeliveryMode::Immediate,
        DeliveryMode::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::Idle => "idle",
            DeliveryMode::Immediate => "immediate",
            DeliveryMode::Manual => "manual",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        DeliveryMode::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

impl std::fmt::Display for DeliveryMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The way a delivery reached its agent. One delivery, one channel: a
/// delivery claimed by one channel is no longer queued for any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryChannel {
    /// Keystrokes into the agent's pseudo-terminal, proven on the screen.
    Pty,
    /// Context handed to the agent by a lifecycle hook of its CLI.
    Hook,
    /// The agent CLI's own protocol (ACP over a headless agent's stdio),
    /// proven by the protocol's report of the turn that carries it.
    Native,
}

impl DeliveryChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryChannel::Pty => "pty",
            DeliveryChannel::Hook => "hook",
            DeliveryChannel::Native => "native",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pty" => Some(DeliveryChannel::Pty),
            "hook" => Some(DeliveryChannel::Hook),
            "native" => Some(DeliveryChannel::Native),
            _ => None,
        }
    }
}

/// Which channels an agent's CLI takes deliveries through (chosen by its preset).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChannelPolicy {
    /// Only keystrokes into the terminal (the default).
    #[default]
    Keystrokes,
    /// Only hooks: the broker never types a delivery in.
    Hooks,
    /// Whichever claims a delivery first; never both.
    Both,
    /// The agent CLI's own protocol (a headless agent: ACP over its
    /// stdio); nothing is typed, the protocol reports each turn.
    Native,
}

impl ChannelPolicy {
    /// Whether the terminal task may type deliveries in.
    pub fn types_keystrokes(self) -> bool {
        matches!(self, ChannelPolicy::Keystrokes | ChannelPolicy::Both)
    }

    /// Whether the agent's delivery loop takes deliveries from the queue
    /// (keystrokes or the native protocol; not with hooks only).
    pub fn loop_delivers(self) -> bool {
        !matches!(self, ChannelPolicy::Hooks)
    }

    /// The wire name (`keystrokes`, `hooks`, `both`, `native`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelPolicy::Keystrokes => "keystrokes",
            ChannelPolicy::Hooks => "hooks",
            ChannelPolicy::Both => "both",
            ChannelPolicy::Native => "native",
        }
    }
}

/// The protocol a headless agent's CLI speaks on its stdio (chosen by the
/// preset's headless mode or the spawn).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum NativeProtocol {
    /// The Agent Client Protocol: JSON-RPC 2.0 (`gemini --acp`). The default.
    #[default]
    Acp,
    /// Claude Code's stream-json: user messages in, `system`/`assistant`/
    /// `user`/`result` messages out, one JSON object a line
    /// (`claude -p --input-format stream-json --output-format stream-json`).
    ClaudeStreamJson,
    /// Codex's app server: JSON-RPC 2.0 without the `jsonrpc` member
    /// (`codex app-server`), a thread and its turns.
    CodexAppServer,
}

impl NativeProtocol {
    /// The wire name (`acp`, `claude-stream-json`, `codex-app-server`).
    pub fn as_str(self) -> &'static str {
        match self {
            NativeProtocol::Acp => "acp",
            NativeProtocol::ClaudeStreamJson => "claude-stream-json",
            NativeProtocol::CodexAppServer => "codex-app-server",
        }
    }

    /// Whether this is the default (for `skip_serializing_if`).
    pub fn is_default(&self) -> bool {
        *self == NativeProtocol::default()
    }
}

/// What the watchdog knows about an agent at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentView {
    /// The agent's screen has shown it ready for input (and it has not
    /// exited since). Not ready: still starting, a dialog, a blank or never
    /// quiet screen, or gone.
    pub ready: bool,
    /// Ready, but its screen is changing (the agent works).
    pub busy: bool,
    /// Ready and not busy: a queued delivery should be moving.
    pub idle: bool,
    /// Queued deliveries are allowed to move (not manual, or being flushed;
    /// keystrokes allowed).
    pub accepting: bool,
    /// The last time the agent's queue moved: a delivery of it was taken in
    /// (verified, unverified, claimed by a hook), or the agent task started
    /// (a backlog left from before cannot have moved earlier). `None`: unknown.
    pub last_progress: Option<Timestamp>,
}

/// Why a delivery counts as stuck. Wire names (snake_case, stable):
/// `agent_not_ready`, `agent_busy`, `agent_idle`, `in_flight`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StuckReason {
    /// Queued while its agent never became ready (or is no longer): still
    /// starting, a dialog, a screen that never settles, or exited.
    AgentNotReady,
    /// Queued while its agent is ready but has been working for longer than
    /// the (longer) busy bound.
    AgentBusy,
    /// Queued while its agent is ready and idle: its delivery task is not
    /// taking it.
    AgentIdle,
    /// Being typed in or typed in (`injecting`, `injected`) for too long.
    InFlight,
}

impl StuckReason {
    pub const ALL: [StuckReason; 4] = [
        StuckReason::AgentNotReady,
        StuckReason::AgentBusy,
        StuckReason::AgentIdle,
        StuckReason::InFlight,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StuckReason::AgentNotReady => "agent_not_ready",
            StuckReason::AgentBusy => "agent_busy",
            StuckReason::AgentIdle => "agent_idle",
            StuckReason::InFlight => "in_flight",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        StuckReason::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The reason the rule before reasons existed implied for a delivery
    /// reported stuck in `state` (only queued-while-idle, or in flight).
    pub fn implied_by(state: DeliveryState) -> Self {
        match state {
            DeliveryState::Queued => StuckReason::AgentIdle,
            _ => StuckReason::InFlight,
        }
    }
}

impl std::fmt::Display for StuckReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The watchdog's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StuckBounds {
    /// For a queued delivery whose agent is not ready, or ready and idle,
    /// and for one in flight (`--stuck-after-ms`).
    pub stuck_after: Duration,
    /// For a queued delivery whose ready agent keeps working: meant to be
    /// longer, since an agent's turn may legitimately take many minutes
    /// (`--busy-stuck-after-ms`).
    pub busy_stuck_after: Duration,
}

impl StuckBounds {
    /// The shorter of the two: how fine the watchdog must look.
    pub fn shortest(self) -> Duration {
        self.stuck_after.min(self.busy_stuck_after)
    }
}

/// A delivery that counts as stuck: how long it has waited, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StuckWait {
    pub waited: Duration,
    pub reason: StuckReason,
}

/// Whether `delivery` has made no progress for longer than its bound at
/// `now`, and why.
///
/// The wait is measured from the later of the delivery's own last change and
/// the agent's last progress: "stuck" means the agent's queue stopped
/// moving, so a long backlog that drains steadily (each delivery waits its
/// turn behind the others) never counts, however old its tail is.
///
/// - queued, agent not accepting (manual mode, hooks only): never (a person
///   or a hook holds it on purpose);
/// - queued, agent not ready: [`StuckReason::AgentNotReady`] after
///   `stuck_after` (a program that never draws a prompt, a dialog nobody
///   answers, an agent that exited);
/// - queued, agent ready and busy: [`StuckReason::AgentBusy`] after
///   `busy_stuck_after` (an agent working forever, e.g. retrying an
///   unreachable API);
/// - queued, agent ready and idle: [`StuckReason::AgentIdle`] after
///   `stuck_after` (its delivery task is not taking it);
/// - injecting / injected: [`StuckReason::InFlight`] after `stuck_after`,
///   whatever the agent does (one delivery attempt is bounded by its
///   windows; sitting in flight longer than the bound means the agent's
///   input goes nowhere or the task is wedged);
/// - finished states are never stuck.
pub fn stuck_for(
    delivery: &Delivery,
    agent: AgentView,
    now: Timestamp,
    bounds: StuckBounds,
) -> Option<StuckWait> {
    let (reason, bound) = match delivery.state {
        DeliveryState::Queued if !agent.accepting => return None,
        DeliveryState::Queued if !agent.ready => (StuckReason::AgentNotReady, bounds.stuck_after),
        DeliveryState::Queued if agent.busy || !agent.idle => {
            (StuckReason::AgentBusy, bounds.busy_stuck_after)
        }
        DeliveryState::Queued => (StuckReason::AgentIdle, bounds.stuck_after),
        DeliveryState::Injecting | DeliveryState::Injected => {
            (StuckReason::InFlight, bounds.stuck_after)
        }
        _ => return None,
    };
    let since = stuck_since(delivery, agent);
    let waited = Duration::from_millis(now.millis_since(since));
    (waited > bound).then_some(StuckWait { waited, reason })
}

/// Since when `delivery` counts as waiting for [`stuck_for`]: the later of
/// its last change and its agent's last progress.
pub fn stuck_since(delivery: &Delivery, agent: AgentView) -> Timestamp {
    agent
        .last_progress
        .map_or(delivery.updated_at, |p| p.max(delivery.updated_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued_at(ms: i64) -> Delivery {
        Delivery::queued("d".into(), "m".into(), "bob", "alice", Timestamp(ms))
    }

    #[test]
    fn names_round_trip() {
        for m in DeliveryMode::ALL {
            assert_eq!(DeliveryMode::parse(m.as_str()), Some(m));
        }
        for c in [
            DeliveryChannel::Pty,
            DeliveryChannel::Hook,
            DeliveryChannel::Native,
        ] {
            assert_eq!(DeliveryChannel::parse(c.as_str()), Some(c));
        }
        assert_eq!(DeliveryMode::default(), DeliveryMode::Idle);
        assert!(!ChannelPolicy::Hooks.types_keystrokes());
        assert!(!ChannelPolicy::Native.types_keystrokes());
        assert!(ChannelPolicy::Native.loop_delivers());
        assert!(!ChannelPolicy::Hooks.loop_delivers());
    }

    const BOUNDS: StuckBounds = StuckBounds {
        stuck_after: Duration::from_millis(100),
        busy_stuck_after: Duration::from_millis(1_000),
    };

    fn view(ready: bool, busy: bool, accepting: bool) -> AgentView {
        AgentView {
            ready,
            busy,
            idle: ready && !busy,
            accepting,
            last_progress: None,
        }
    }

    fn stuck(waited_ms: u64, reason: StuckReason) -> Option<StuckWait> {
        Some(StuckWait {
            waited: Duration::from_millis(waited_ms),
            reason,
        })
    }

    #[test]
    fn reason_names_are_stable_snake_case() {
        let names: Vec<&str> = StuckReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            ["agent_not_ready", "agent_busy", "agent_idle", "in_flight"]
        );
        for r in StuckReason::ALL {
            assert_eq!(StuckReason::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.as_str())
            );
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(StuckReason::parse("stuck"), None);
        assert_eq!(
            StuckReason::implied_by(DeliveryState::Queued),
            StuckReason::AgentIdle
        );
        assert_eq!(
            StuckReason::implied_by(DeliveryState::Injected),
            StuckReason::InFlight
        );
        assert_eq!(BOUNDS.shortest(), Duration::from_millis(100));
    }

    #[test]
    fn queued_while_ready_and_idle_is_agent_idle_after_the_bound() {
        let d = queued_at(0);
        let idle = view(true, false, true);
        assert_eq!(stuck_for(&d, idle, Timestamp(100), BOUNDS), None);
        assert_eq!(
            stuck_for(&d, idle, Timestamp(250), BOUNDS),
            stuck(250, StuckReason::AgentIdle)
        );
    }

    #[test]
    fn queued_while_not_ready_is_agent_not_ready_after_the_same_bound() {
        let d = queued_at(0);
        let starting = view(false, false, true);
        assert_eq!(stuck_for(&d, starting, Timestamp(100), BOUNDS), None);
        assert_eq!(
            stuck_for(&d, starting, Timestamp(101), BOUNDS),
            stuck(101, StuckReason::AgentNotReady)
        );
        // Not ready wins over whatever busy says (a screen that never
        // settles is not ready, not busy).
        let churning = view(false, true, true);
        assert_eq!(
            stuck_for(&d, churning, Timestamp(101), BOUNDS),
            stuck(101, StuckReason::AgentNotReady)
        );
    }

    #[test]
    fn queued_while_busy_is_agent_busy_only_after_the_longer_bound() {
        let d = queued_at(0);
        let busy = view(true, true, true);
        assert_eq!(stuck_for(&d, busy, Timestamp(250), BOUNDS), None);
        assert_eq!(stuck_for(&d, busy, Timestamp(1_000), BOUNDS), None);
        assert_eq!(
            stuck_for(&d, busy, Timestamp(1_001), BOUNDS),
            stuck(1_001, StuckReason::AgentBusy)
        );
    }

    #[test]
    fn queued_never_counts_while_the_agent_does_not_accept() {
        let d = queued_at(0);
        for (ready, busy) in [(true, false), (true, true), (false, false)] {
            let held = view(ready, busy, false);
            assert_eq!(stuck_for(&d, held, Timestamp(1_000_000), BOUNDS), None);
        }
    }

    #[test]
    fn in_flight_counts_after_the_bound_whatever_the_agent_does() {
        let mut d = queued_at(0);
        for state in [DeliveryState::Injecting, DeliveryState::Injected] {
            d.state = state;
            for agent in [
                view(true, false, true),
                view(true, true, true),
                view(false, false, true),
                view(true, true, false),
            ] {
                assert_eq!(stuck_for(&d, agent, Timestamp(100), BOUNDS), None);
                assert_eq!(
                    stuck_for(&d, agent, Timestamp(101), BOUNDS),
                    stuck(101, StuckReason::InFlight)
                );
            }
        }
    }

    #[test]
    fn finished_states_are_never_stuck() {
        let mut d = queued_at(0);
        for state in [
            DeliveryState::Verified,
            DeliveryState::Unverified,
            DeliveryState::Read,
            DeliveryState::Dropped,
            DeliveryState::Dead,
        ] {
            d.state = state;
            for agent in [view(true, false, true), view(false, false, true)] {
                assert_eq!(stuck_for(&d, agent, Timestamp(10_000_000), BOUNDS), None);
            }
        }
    }

    #[test]
    fn a_backlog_that_drains_is_never_stuck_one_that_stops_is() {
        // Queued long ago, behind others, while the agent keeps taking its
        // deliveries in: measured from the last progress, not from its age.
        let tail = queued_at(0);
        let draining = |at: i64| AgentView {
            last_progress: Some(Timestamp(at)),
            ..view(true, false, true)
        };
        for now in (1_000..5_000).step_by(50) {
            assert_eq!(
                stuck_for(&tail, draining(now - 50), Timestamp(now), BOUNDS),
                None
            );
        }
        // The queue stops moving: stuck once the bound passed since the
        // last progress, and the wait counts from it.
        let stopped = draining(5_000);
        assert_eq!(stuck_for(&tail, stopped, Timestamp(5_100), BOUNDS), None);
        assert_eq!(
            stuck_for(&tail, stopped, Timestamp(5_150), BOUNDS),
            stuck(150, StuckReason::AgentIdle)
        );
        assert_eq!(stuck_since(&tail, stopped), Timestamp(5_000));
        // The busy bound counts from the last progress too.
        let working = AgentView {
            last_progress: Some(Timestamp(5_000)),
            ..view(true, true, true)
        };
        assert_eq!(stuck_for(&tail, working, Timestamp(6_000), BOUNDS), None);
        assert_eq!(
            stuck_for(&tail, working, Timestamp(6_001), BOUNDS),
            stuck(1_001, StuckReason::AgentBusy)
        );
        // A delivery that changed after the last progress (just requeued, or
        // in flight since) counts from its own change.
        let mut fresh = queued_at(6_000);
        assert_eq!(stuck_since(&fresh, stopped), Timestamp(6_000));
        fresh.state = DeliveryState::Injecting;
        assert_eq!(stuck_for(&fresh, stopped, Timestamp(6_100), BOUNDS), None);
        assert_eq!(
            stuck_for(&fresh, stopped, Timestamp(6_101), BOUNDS),
            stuck(101, StuckReason::InFlight)
        );
    }
}
