//! How and when an agent takes its deliveries: the per-agent delivery mode,
//! the channel a delivery went through, and the stuck-delivery rule.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::delivery::{Delivery, DeliveryState};
use crate::time::Timestamp;

/// When an agent's queued deliveries are typed in. Persisted per agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryChannel {
    /// Keystrokes into the agent's pseudo-terminal, proven on the screen.
    Pty,
    /// Context handed to the agent by a lifecycle hook of its CLI.
    Hook,
}

impl DeliveryChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryChannel::Pty => "pty",
            DeliveryChannel::Hook => "hook",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pty" => Some(DeliveryChannel::Pty),
            "hook" => Some(DeliveryChannel::Hook),
            _ => None,
        }
    }
}

/// Which channels an agent's CLI takes deliveries through (chosen by its preset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelPolicy {
    /// Only keystrokes into the terminal (the default).
    #[default]
    Keystrokes,
    /// Only hooks: the broker never types a delivery in.
    Hooks,
    /// Whichever claims a delivery first; never both.
    Both,
}

impl ChannelPolicy {
    /// Whether the terminal task may type deliveries in.
    pub fn types_keystrokes(self) -> bool {
        !matches!(self, ChannelPolicy::Hooks)
    }
}

/// What the watchdog knows about an agent at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentView {
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

/// Whether `delivery` has made no progress for longer than `bound` at `now`.
///
/// The wait is measured from the later of the delivery's own last change and
/// the agent's last progress: "stuck" means the agent's queue stopped
/// moving, so a long backlog that drains steadily (each delivery waits its
/// turn behind the others) never counts, however old its tail is.
///
/// - queued: only while its agent is idle and accepting (a busy agent or a
///   manual mode explains the wait);
/// - injecting / injected: always (one delivery attempt is bounded by its
///   windows; sitting in flight longer than the bound means the agent's input
///   goes nowhere or the task is wedged);
/// - finished states are never stuck.
///
/// Returns the time it has been waiting when it is stuck.
pub fn stuck_for(
    delivery: &Delivery,
    agent: AgentView,
    now: Timestamp,
    bound: Duration,
) -> Option<Duration> {
    let since = stuck_since(delivery, agent);
    let waited = Duration::from_millis(now.millis_since(since));
    let counts = match delivery.state {
        DeliveryState::Queued => agent.idle && agent.accepting,
        DeliveryState::Injecting | DeliveryState::Injected => true,
        _ => false,
    };
    (counts && waited > bound).then_some(waited)
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
        for c in [DeliveryChannel::Pty, DeliveryChannel::Hook] {
            assert_eq!(DeliveryChannel::parse(c.as_str()), Some(c));
        }
        assert_eq!(DeliveryMode::default(), DeliveryMode::Idle);
        assert!(!ChannelPolicy::Hooks.types_keystrokes());
    }

    #[test]
    fn queued_counts_only_while_the_agent_should_take_it() {
        let d = queued_at(0);
        let bound = Duration::from_millis(100);
        let idle = AgentView {
            idle: true,
            accepting: true,
            last_progress: None,
        };
        assert_eq!(stuck_for(&d, idle, Timestamp(100), bound), None);
        assert_eq!(
            stuck_for(&d, idle, Timestamp(250), bound),
            Some(Duration::from_millis(250))
        );
        let busy = AgentView {
            idle: false,
            accepting: true,
            last_progress: None,
        };
        assert_eq!(stuck_for(&d, busy, Timestamp(250), bound), None);
        let manual = AgentView {
            idle: true,
            accepting: false,
            last_progress: None,
        };
        assert_eq!(stuck_for(&d, manual, Timestamp(250), bound), None);
    }

    #[test]
    fn in_flight_counts_always_and_finished_never() {
        let mut d = queued_at(0);
        let bound = Duration::from_millis(100);
        let busy = AgentView {
            idle: false,
            accepting: false,
            last_progress: None,
        };
        d.state = DeliveryState::Injecting;
        assert!(stuck_for(&d, busy, Timestamp(101), bound).is_some());
        d.state = DeliveryState::Verified;
        assert!(stuck_for(&d, busy, Timestamp(10_000), bound).is_none());
    }

    #[test]
    fn a_backlog_that_drains_is_never_stuck_one_that_stops_is() {
        let bound = Duration::from_millis(100);
        // Queued long ago, behind others, while the agent keeps taking its
        // deliveries in: measured from the last progress, not from its age.
        let tail = queued_at(0);
        let draining = |at: i64| AgentView {
            idle: true,
            accepting: true,
            last_progress: Some(Timestamp(at)),
        };
        for now in (1_000..5_000).step_by(50) {
            assert_eq!(
                stuck_for(&tail, draining(now - 50), Timestamp(now), bound),
                None
            );
        }
        // The queue stops moving: stuck once the bound passed since the
        // last progress, and the wait counts from it.
        let stopped = draining(5_000);
        assert_eq!(stuck_for(&tail, stopped, Timestamp(5_100), bound), None);
        assert_eq!(
            stuck_for(&tail, stopped, Timestamp(5_150), bound),
            Some(Duration::from_millis(150))
        );
        assert_eq!(stuck_since(&tail, stopped), Timestamp(5_000));
        // A delivery that changed after the last progress (just requeued, or
        // in flight since) counts from its own change.
        let mut fresh = queued_at(6_000);
        assert_eq!(stuck_since(&fresh, stopped), Timestamp(6_000));
        fresh.state = DeliveryState::Injecting;
        assert_eq!(stuck_for(&fresh, stopped, Timestamp(6_100), bound), None);
        assert!(stuck_for(&fresh, stopped, Timestamp(6_101), bound).is_some());
    }
}
