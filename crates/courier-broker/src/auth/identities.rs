//! Agents' own tokens: an agent proves who it is with its `COURIER_TOKEN`
//! and may act only as itself. Only the hash is looked up; the plain token
//! is kept in memory, by agent, so a restart hands the new process the same
//! one (its session host and the files a preset wrote hold it anyway).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::token::token_hash;

/// The running agents' tokens.
#[derive(Debug, Default)]
pub struct AgentIdentities {
    /// SHA-256 of a token → the agent it belongs to.
    by_hash: Mutex<HashMap<String, String>>,
    /// Agent → its token.
    by_agent: Mutex<HashMap<String, String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AgentIdentities {
    /// `agent` is known by `token` from now on.
    pub fn insert(&self, agent: &str, token: &str) {
        lock(&self.by_hash).insert(token_hash(token), agent.to_string());
        lock(&self.by_agent).insert(agent.to_string(), token.to_string());
    }

    /// The agent a token belongs to, if it is an agent's token.
    pub fn agent_for_token(&self, token: &str) -> Option<String> {
        lock(&self.by_hash).get(&token_hash(token)).cloned()
    }

    /// `agent`'s token, for its next generation.
    pub fn token_of(&self, agent: &str) -> Option<String> {
        lock(&self.by_agent).get(agent).cloned()
    }

    /// Lets go of `agent`'s token (hash and plain).
    pub fn forget(&self, agent: &str) {
        lock(&self.by_hash).retain(|_, name| name != agent);
        lock(&self.by_agent).remove(agent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_agent_until_forgotten() {
        let ids = AgentIdentities::default();
        ids.insert("a", "tok-a");
        ids.insert("b", "tok-b");
        assert_eq!(ids.agent_for_token("tok-a").as_deref(), Some("a"));
        assert_eq!(ids.token_of("b").as_deref(), Some("tok-b"));
        ids.forget("a");
        assert_eq!(ids.agent_for_token("tok-a"), None);
        assert_eq!(ids.token_of("a"), None);
        assert_eq!(ids.agent_for_token("tok-b").as_deref(), Some("b"));
    }
}
