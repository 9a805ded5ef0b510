//! What the forwarder holds between sweeps: deliveries sends handed over,
//! and those published and not answered yet (republished with a growing
//! wait until their host answers).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use courier_core::{Delivery, DeliveryId, Message};

use super::util::locked;

/// The longest wait before publishing an unanswered forward again.
const MAX_REPUBLISH: Duration = Duration::from_secs(30);
/// The first wait: longer than a commit round trip on a healthy link.
const FIRST_REPUBLISH: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct Forwarder {
    pub(super) wake: tokio::sync::Notify,
    /// Set when the store must be swept (not only the fresh ones published).
    sweep_asked: AtomicBool,
    /// Handed over by sends, not published yet.
    pub(super) fresh: Mutex<Vec<(Delivery, Message)>>,
    /// Published and not answered yet: when, and how many times.
    sent: Mutex<HashMap<DeliveryId, (Instant, u32)>>,
}

fn wait_after(times: u32) -> Duration {
    FIRST_REPUBLISH
        .saturating_mul(1 << times.min(8))
        .min(MAX_REPUBLISH)
}

impl Forwarder {
    /// Asks for a sweep of the store (new remote agents, a start, a loss).
    pub fn wake(&self) {
        self.ask_sweep();
        self.wake.notify_one();
    }

    /// Asks for a sweep at the next turn of the loop, without waking it.
    pub(super) fn ask_sweep(&self) {
        self.sweep_asked.store(true, Ordering::Release);
    }

    /// Deliveries a send just committed for agents of other hosts.
    pub fn hand_over(&self, message: &Message, deliveries: Vec<Delivery>) {
        if deliveries.is_empty() {
            return;
        }
        locked(&self.fresh).extend(deliveries.into_iter().map(|d| (d, message.clone())));
        self.wake.notify_one();
    }

    /// Their host answered about these (it holds them): never again.
    pub fn answered<'a>(&self, ids: impl IntoIterator<Item = &'a DeliveryId>) {
        let mut sent = locked(&self.sent);
        for id in ids {
            sent.remove(id);
        }
    }

    /// Whether `id` should be published now (never, or its wait is over);
    /// records the publish.
    pub(super) fn due(&self, id: &DeliveryId) -> bool {
        let mut sent = locked(&self.sent);
        let now = Instant::now();
        match sent.get_mut(id) {
            None => {
                sent.insert(id.clone(), (now, 0));
                true
            }
            Some((at, times)) => {
                if now.duration_since(*at) >= wait_after(*times) {
                    *at = now;
                    *times += 1;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Whether a sweep should run: asked for, or some wait is over.
    pub(super) fn sweep_due(&self) -> bool {
        if self.sweep_asked.swap(false, Ordering::AcqRel) {
            return true;
        }
        let now = Instant::now();
        locked(&self.sent)
            .values()
            .any(|(at, times)| now.duration_since(*at) >= wait_after(*times))
    }

    /// A publish failed: publish it again at the next sweep.
    pub(super) fn failed(&self, id: &DeliveryId) {
        locked(&self.sent).remove(id);
        self.ask_sweep();
    }

    /// Forgets what is no longer pending (answered, or ended here).
    pub(super) fn retain(&self, pending: &HashSet<DeliveryId>) {
        locked(&self.sent).retain(|id, _| pending.contains(id));
    }
}
