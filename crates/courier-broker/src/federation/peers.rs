//! The other hosts this broker heard from: when last, whether leaving,
//! whether reported away.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use super::util::locked;

#[derive(Default)]
pub struct Presence {
    peers: Mutex<BTreeMap<String, Peer>>,
}

#[derive(Debug, Clone)]
pub(super) struct Peer {
    pub(super) last_seen: Option<Instant>,
    pub(super) leaving: bool,
    /// Reported away (`host_away`) and not back since.
    pub(super) away: bool,
}

impl Presence {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Peer>> {
        locked(&self.peers)
    }
}
