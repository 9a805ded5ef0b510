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
    /// How far the sweep's pass through the store's backlog got.
    pass: Mutex<SweepPass>,
}

/// One pass of sweeps through the pending forwards, a page at a time: a
/// backlog longer than a page is read on, never its oldest page again.
#[derive(Default)]
struct SweepPass {
    /// Queue position the next page starts after (0: the oldest).
    after: u64,
    /// Pending forwards seen in this pass so far.
    seen: HashSet<DeliveryId>,
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

    /// Where the sweep's next page starts.
    pub(super) fn sweep_from(&self) -> u64 {
        locked(&self.pass).after
    }

    /// A page of the sweep was read: `next` set, the pass reads on from
    /// there at the next turn; else the pass is over, what it did not see
    /// is no longer pending (answered, or ended here) and is forgotten, and
    /// the next pass starts from the oldest again.
    pub(super) fn page_read<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a DeliveryId>,
        next: Option<u64>,
    ) {
        let mut pass = locked(&self.pass);
        pass.seen.extend(ids.into_iter().cloned());
        match next {
            Some(next) => {
                pass.after = next;
                self.ask_sweep();
            }
            None => {
                let seen = std::mem::take(&mut pass.seen);
                pass.after = 0;
                locked(&self.sent).retain(|id, _| seen.contains(id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<DeliveryId> {
        names.iter().map(|n| DeliveryId::new(*n)).collect()
    }

    #[test]
    fn a_sweep_pass_reads_on_and_forgets_only_at_its_end() {
        let forwarder = Forwarder::default();
        for id in ids(&["a", "b", "c"]) {
            assert!(forwarder.due(&id));
        }
        assert_eq!(forwarder.sweep_from(), 0);
        // A full page: the pass goes on after it, and asks for the next.
        forwarder.sweep_due();
        forwarder.page_read(&ids(&["a"]), Some(7));
        assert_eq!(forwarder.sweep_from(), 7);
        assert!(forwarder.sweep_due(), "the next page is asked for");
        assert_eq!(
            locked(&forwarder.sent).len(),
            3,
            "nothing forgotten mid-pass"
        );
        // The last page: "b" was answered meanwhile (not seen), "c" is still pending.
        forwarder.page_read(&ids(&["c"]), None);
        assert_eq!(
            forwarder.sweep_from(),
            0,
            "the next pass starts from the oldest"
        );
        let sent = locked(&forwarder.sent);
        assert!(
            sent.contains_key(&DeliveryId::new("a")) && sent.contains_key(&DeliveryId::new("c"))
        );
        assert!(!sent.contains_key(&DeliveryId::new("b")));
    }
}
