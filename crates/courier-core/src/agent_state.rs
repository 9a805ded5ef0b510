//! The one state label of an agent, as every client shows it (the CLI's
//! `courier agents`, MCP's `list_agents`, the dashboard). The broker
//! gathers the facts it has and serves the result as `state` in every
//! agent view, so no client computes its own and they cannot disagree.
//!
//! Precedence, first match wins (the earlier one says more about why
//! nothing is typed into the agent):
//!
//! 1. `away` / `remote`: an agent of another host of the workspace (away:
//!    that host stopped answering); nothing below is known of it here.
//! 2. `dead`: its process ended and its restart policy gave up.
//! 3. `restarting`: its process ended and a restart is due.
//! 4. `exited`: its process ended and is not restarted.
//! 5. `stuck`: a delivery to it made no progress within its bound (the
//!    watchdog's `delivery_stuck`).
//! 6. `held`: its input holds text (a draft, a message not submitted, a
//!    person typing), so nothing is typed.
//! 7. `busy`: it works (its screen changes, or a busy pattern is on it).
//! 8. `starting`: not ready yet (starting, a dialog, a screen that never
//!    settles).
//! 9. `ready`: ready, with deliveries queued for it.
//! 10. `done`: ready, nothing queued, and it reported its task done.
//! 11. `idle`: ready, nothing queued.

use serde::{Deserialize, Serialize};

/// An agent's state label. Wire names (snake_case, stable): `away`,
/// `remote`, `dead`, `restarting`, `exited`, `stuck`, `held`, `busy`,
/// `starting`, `ready`, `done`, `idle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Away,
    Remote,
    Dead,
    Restarting,
    Exited,
    Stuck,
    Held,
    Busy,
    Starting,
    Ready,
    Done,
    Idle,
}

impl AgentState {
    /// Every state, in precedence order.
    pub const ALL: [AgentState; 12] = [
        AgentState::Away,
        AgentState::Remote,
        AgentState::Dead,
        AgentState::Restarting,
        AgentState::Exited,
        AgentState::Stuck,
        AgentState::Held,
        AgentState::Busy,
        AgentState::Starting,
        AgentState::Ready,
        AgentState::Done,
        AgentState::Idle,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Away => "away",
            AgentState::Remote => "remote",
            AgentState::Dead => "dead",
            AgentState::Restarting => "restarting",
            AgentState::Exited => "exited",
            AgentState::Stuck => "stuck",
            AgentState::Held => "held",
            AgentState::Busy => "busy",
            AgentState::Starting => "starting",
            AgentState::Ready => "ready",
            AgentState::Done => "done",
            AgentState::Idle => "idle",
        }
    }
}

impl std::fmt::Display for AgentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an agent lives, as the workspace directory says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locality {
    /// On this broker: every other fact below is this broker's own.
    #[default]
    Local,
    /// On another host that answers.
    Remote,
    /// On another host that stopped answering.
    Away,
}

/// What the broker knows of an agent, gathered from its status, its
/// operating entry, the watchdog and its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentFacts {
    pub locality: Locality,
    /// Its restart policy gave up.
    pub dead: bool,
    /// Its process ended and a restart is scheduled.
    pub restarting: bool,
    /// Its current process ended.
    pub exited: bool,
    /// At least one delivery to it is stuck.
    pub stuck: bool,
    /// Its input holds text, so deliveries wait.
    pub held: bool,
    /// Its screen shows it working (changing, or a busy pattern on it).
    pub busy: bool,
    /// Its screen has shown it ready for input.
    pub ready: bool,
    /// Deliveries queued for it.
    pub queued: usize,
    /// It reported its task done.
    pub done: bool,
}

/// The state of an agent with these facts (see the module's precedence).
pub fn agent_state(facts: &AgentFacts) -> AgentState {
    match facts.locality {
        Locality::Away => return AgentState::Away,
        Locality::Remote => return AgentState::Remote,
        Locality::Local => {}
    }
    if facts.dead {
        AgentState::Dead
    } else if facts.restarting {
        AgentState::Restarting
    } else if facts.exited {
        AgentState::Exited
    } else if facts.stuck {
        AgentState::Stuck
    } else if facts.held {
        AgentState::Held
    } else if facts.busy {
        AgentState::Busy
    } else if !facts.ready {
        AgentState::Starting
    } else if facts.queued > 0 {
        AgentState::Ready
    } else if facts.done {
        AgentState::Done
    } else {
        AgentState::Idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_fact() -> AgentFacts {
        AgentFacts {
            locality: Locality::Local,
            dead: true,
            restarting: true,
            exited: true,
            stuck: true,
            held: true,
            busy: true,
            ready: true,
            queued: 3,
            done: true,
        }
    }

    /// Takes the facts away one by one, in precedence order: each step
    /// uncovers the next state, so every state beats all below it.
    #[test]
    fn each_state_wins_over_every_one_below_it() {
        let mut facts = every_fact();
        let mut seen = vec![agent_state(&facts)];
        let steps: [fn(&mut AgentFacts); 8] = [
            |f| f.dead = false,
            |f| f.restarting = false,
            |f| f.exited = false,
            |f| f.stuck = false,
            |f| f.held = false,
            |f| f.busy = false,
            |f| f.queued = 0,
            |f| f.done = false,
        ];
        for step in steps {
            step(&mut facts);
            seen.push(agent_state(&facts));
        }
        use AgentState::*;
        assert_eq!(
            seen,
            [
                Dead, Restarting, Exited, Stuck, Held, Busy, Ready, Done, Idle
            ]
        );
    }

    #[test]
    fn not_ready_is_starting_unless_something_above_explains_it() {
        let starting = AgentFacts {
            queued: 2,
            done: true,
            ..AgentFacts::default()
        };
        assert_eq!(agent_state(&starting), AgentState::Starting);
        // A busy pattern on screen before the first prompt: working.
        let working = AgentFacts {
            busy: true,
            ..starting
        };
        assert_eq!(agent_state(&working), AgentState::Busy);
        // An exited process is not ready either, and says why.
        let exited = AgentFacts {
            exited: true,
            ..starting
        };
        assert_eq!(agent_state(&exited), AgentState::Exited);
    }

    #[test]
    fn another_hosts_agent_is_remote_or_away_whatever_else_is_set() {
        let remote = AgentFacts {
            locality: Locality::Remote,
            ..every_fact()
        };
        assert_eq!(agent_state(&remote), AgentState::Remote);
        let away = AgentFacts {
            locality: Locality::Away,
            ..AgentFacts::default()
        };
        assert_eq!(agent_state(&away), AgentState::Away);
    }

    #[test]
    fn wire_names_are_the_serde_names_and_in_precedence_order() {
        let names: Vec<String> = AgentState::ALL
            .iter()
            .map(|s| {
                let wire = serde_json::to_value(s).unwrap();
                assert_eq!(wire, s.as_str());
                s.to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "away",
                "remote",
                "dead",
                "restarting",
                "exited",
                "stuck",
                "held",
                "busy",
                "starting",
                "ready",
                "done",
                "idle"
            ]
        );
    }
}
