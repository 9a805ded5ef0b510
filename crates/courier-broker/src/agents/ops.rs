//! What the broker knows about operating each agent beyond delivery: its
//! restart policy and the restarts it used, whether it is restarting or
//! dead, what it reported when done, a context-low episode, and how to
//! interrupt it. One entry per agent name, kept across its restarts and
//! removed when it is released.

use std::collections::HashMap;
use std::sync::Mutex;

use courier_core::{RestartPolicy, Timestamp};
use courier_terminal::ReadinessConfig;
use serde::Serialize;

/// The agent is down for good: its restart policy gave up.
#[derive(Debug, Clone, Serialize)]
pub struct Dead {
    pub since: Timestamp,
    pub restarts: u32,
    pub reason: String,
}

/// What the agent reported when it finished its task.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    pub at: Timestamp,
    pub result: Option<String>,
}

/// One agent's entry.
#[derive(Debug, Clone, Default)]
pub struct AgentOps {
    /// Keys `courier interrupt` sends.
    pub interrupt_keys: String,
    /// Its dialogs (an interrupt is never typed into one).
    pub readiness: ReadinessConfig,
    pub policy: RestartPolicy,
    /// When each restart (tried or done) happened, for the policy's window.
    pub history: Vec<Timestamp>,
    /// Restarts done since it was spawned.
    pub restarts: u32,
    /// Waiting to be restarted: (attempt, when).
    pub restarting: Option<(u32, Timestamp)>,
    pub dead: Option<Dead>,
    pub done: Option<Done>,
    /// The line of the current context-low episode.
    pub context_low: Option<String>,
}

#[derive(Debug, Default)]
pub struct OpsBoard {
    agents: Mutex<HashMap<String, AgentOps>>,
}

impl OpsBoard {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AgentOps>> {
        self.agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records how a (re)started generation of `name` is operated; keeps
    /// its restart history, clears `restarting`, `dead` and `done` (a new
    /// process has not finished anything yet).
    pub fn started(
        &self,
        name: &str,
        policy: RestartPolicy,
        interrupt_keys: String,
        readiness: ReadinessConfig,
    ) {
        let mut agents = self.lock();
        let entry = agents.entry(name.to_string()).or_default();
        entry.policy = policy;
        entry.interrupt_keys = interrupt_keys;
        entry.readiness = readiness;
        entry.restarting = None;
        entry.dead = None;
        entry.done = None;
        entry.context_low = None;
    }

    /// Forgets `name` (released).
    pub fn forget(&self, name: &str) {
        self.lock().remove(name);
    }

    /// A copy of `name`'s entry.
    pub fn get(&self, name: &str) -> Option<AgentOps> {
        self.lock().get(name).cloned()
    }

    /// Runs `f` on `name`'s entry, if it has one.
    pub fn update<R>(&self, name: &str, f: impl FnOnce(&mut AgentOps) -> R) -> Option<R> {
        self.lock().get_mut(name).map(f)
    }

    /// Whether `name` is dead (its restart policy gave up).
    pub fn is_dead(&self, name: &str) -> bool {
        self.lock().get(name).is_some_and(|o| o.dead.is_some())
    }

    /// Every dead agent, by name.
    pub fn dead(&self) -> Vec<(String, Dead)> {
        let mut dead: Vec<(String, Dead)> = self
            .lock()
            .iter()
            .filter_map(|(name, ops)| ops.dead.clone().map(|d| (name.clone(), d)))
            .collect();
        dead.sort_by(|a, b| a.0.cmp(&b.0));
        dead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_keeps_the_history_and_clears_dead_and_done() {
        let board = OpsBoard::default();
        board.started(
            "a",
            RestartPolicy::default(),
            "\u{3}".into(),
            ReadinessConfig::default(),
        );
        board.update("a", |o| {
            o.history.push(Timestamp(5));
            o.done = Some(Done {
                at: Timestamp(6),
                result: Some("ok".into()),
            });
        });
        let done = board.get("a").and_then(|o| o.done).unwrap();
        assert_eq!(done.result.as_deref(), Some("ok"));
        board.started(
            "a",
            RestartPolicy::default(),
            "\u{1b}".into(),
            ReadinessConfig::default(),
        );
        let ops = board.get("a").unwrap();
        assert_eq!(ops.history, [Timestamp(5)]);
        assert!(ops.done.is_none());
        assert_eq!(ops.interrupt_keys, "\u{1b}");
        board.forget("a");
        assert!(board.get("a").is_none());
    }
}
