//! The running agents of this host, by name, and the names being spawned.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::MutexGuard;

use super::handle::AgentHandle;
use super::person::PersonInput;
use crate::error::BrokerError;
use crate::terminals::AgentTerminal;

/// The agents running on this host.
#[derive(Default)]
pub struct Registry {
    agents: tokio::sync::Mutex<BTreeMap<String, AgentHandle>>,
    /// Names being spawned right now, so two concurrent spawns of one name
    /// cannot both start a process (the map learns a name only once its
    /// process runs).
    spawning: Mutex<HashSet<String>>,
}

impl Registry {
    /// The map itself, locked (held briefly: never across a delivery).
    pub async fn lock(&self) -> MutexGuard<'_, BTreeMap<String, AgentHandle>> {
        self.agents.lock().await
    }

    /// Whether `name` runs here.
    pub async fn contains(&self, name: &str) -> bool {
        self.agents.lock().await.contains_key(name)
    }

    /// Wakes the delivery loops of these agents (those of this host).
    pub async fn wake(&self, names: &[String]) {
        let agents = self.agents.lock().await;
        for name in names {
            if let Some(agent) = agents.get(name) {
                agent.wake.notify_one();
            }
        }
    }

    /// Wakes one agent's delivery loop, if it runs here.
    pub async fn wake_one(&self, name: &str) {
        if let Some(agent) = self.agents.lock().await.get(name) {
            agent.wake.notify_one();
        }
    }

    /// Puts a started generation of `name` in the map (replacing the
    /// previous one's handle, whose tasks ended).
    pub async fn insert(&self, name: String, handle: AgentHandle) {
        self.agents.lock().await.insert(name, handle);
    }

    /// Takes `name` out of the map; the caller ends it.
    pub async fn remove(&self, name: &str) -> Option<AgentHandle> {
        self.agents.lock().await.remove(name)
    }

    /// Takes every agent out of the map (the broker is stopping).
    pub async fn take_all(&self) -> BTreeMap<String, AgentHandle> {
        std::mem::take(&mut *self.agents.lock().await)
    }

    /// Runs `f` on an agent's terminal.
    pub async fn with_session<R>(
        &self,
        name: &str,
        f: impl FnOnce(&Arc<AgentTerminal>) -> R,
    ) -> Result<R, BrokerError> {
        let agents = self.agents.lock().await;
        let agent = agents
            .get(name)
            .ok_or_else(|| BrokerError::unknown_agent(name))?;
        Ok(f(&agent.session))
    }

    /// The way a person types into agent `name`.
    pub async fn person_input(&self, name: &str) -> Result<PersonInput, BrokerError> {
        let agents = self.agents.lock().await;
        let agent = agents
            .get(name)
            .ok_or_else(|| BrokerError::unknown_agent(name))?;
        Ok(PersonInput::new(
            agent.session.clone(),
            agent.control.clone(),
            agent.wake.clone(),
        ))
    }

    /// Holds `name` while its agent is being spawned; `None` when another
    /// spawn holds it.
    pub fn reserve(&self, name: &str) -> Option<NameReservation<'_>> {
        let mut held = self.spawning.lock().unwrap_or_else(PoisonError::into_inner);
        held.insert(name.to_string()).then(|| NameReservation {
            names: &self.spawning,
            name: name.to_string(),
        })
    }
}

/// A name held while its agent is being spawned; released on drop.
pub struct NameReservation<'a> {
    names: &'a Mutex<HashSet<String>>,
    name: String,
}

impl Drop for NameReservation<'_> {
    fn drop(&mut self) {
        self.names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.name);
    }
}
