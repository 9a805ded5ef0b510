//! What this broker last saw of the workspace directory, and the names
//! claimed for spawns under way.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::util::locked;
use super::wire::DirectoryEntry;

/// What this broker last saw of the bucket: name → (entry, revision).
#[derive(Default)]
pub struct Directory {
    entries: Mutex<HashMap<String, (DirectoryEntry, u64)>>,
    /// Names claimed for a spawn whose agent is not in the store yet: the
    /// sync must not take such a name for one of a released agent.
    spawning: Mutex<HashSet<String>>,
}

impl Directory {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (DirectoryEntry, u64)>> {
        locked(&self.entries)
    }

    pub(super) fn set(&self, name: &str, entry: DirectoryEntry, revision: u64) {
        self.lock().insert(name.to_string(), (entry, revision));
    }

    pub(super) fn remove(&self, name: &str) -> Option<DirectoryEntry> {
        self.lock().remove(name).map(|(e, _)| e)
    }

    pub fn snapshot(&self) -> HashMap<String, (DirectoryEntry, u64)> {
        self.lock().clone()
    }

    /// The host holding `name`, if any.
    pub fn host_of(&self, name: &str) -> Option<String> {
        self.lock().get(name).map(|(e, _)| e.host.clone())
    }

    pub(super) fn spawning(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        locked(&self.spawning)
    }
}
