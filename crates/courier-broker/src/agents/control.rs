//! What a person or the API changes of a running agent's delivery: its
//! mode, the flushes that let deliveries through in `manual` mode, when its
//! queue last moved (for the watchdog), and when a person last typed into
//! it (see `typing.rs`).

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use courier_core::time::{Clock, SystemClock};
use courier_core::{ChannelPolicy, DeliveryMode, Timestamp};
use tokio::sync::watch;

use super::typing::Typing;

/// What a person or the API changes of a running agent's delivery.
#[derive(Debug)]
pub struct AgentControl {
    pub mode: watch::Sender<DeliveryMode>,
    /// Deliveries a flush still lets through in `manual` mode.
    pub flush: AtomicUsize,
    pub channels: ChannelPolicy,
    /// Milliseconds since the epoch of the last time this agent's queue
    /// moved (a delivery taken in by the terminal or a hook; the agent's
    /// start before that): what the watchdog measures "no progress" from.
    last_progress: AtomicI64,
    /// When a person last typed into the agent, and how long that holds
    /// deliveries.
    pub typing: Typing,
}

impl AgentControl {
    /// `typing_hold`: how long a person's keystroke holds deliveries.
    pub fn new(mode: DeliveryMode, channels: ChannelPolicy, typing_hold: Duration) -> Self {
        AgentControl {
            mode: watch::Sender::new(mode),
            flush: AtomicUsize::new(0),
            channels,
            last_progress: AtomicI64::new(SystemClock.now().0),
            typing: Typing::new(typing_hold),
        }
    }

    /// Records that the agent's queue moved at `at`.
    pub fn progressed(&self, at: Timestamp) {
        self.last_progress.fetch_max(at.0, Ordering::SeqCst);
    }

    /// The last time the agent's queue moved (see [`AgentControl::progressed`]).
    pub fn last_progress(&self) -> Timestamp {
        Timestamp(self.last_progress.load(Ordering::SeqCst))
    }

    /// How many of `wanted` queued deliveries a hook may take now, and how
    /// many flush units that used. `manual` holds deliveries for every
    /// channel, not only keystrokes: a hook takes only what a flush let
    /// through, sharing the same units as the terminal task (so a flush of
    /// N lets N through, whichever channel takes them). Other modes: all.
    pub fn take_for_hook(&self, wanted: usize) -> (usize, usize) {
        if *self.mode.borrow() != DeliveryMode::Manual {
            return (wanted, 0);
        }
        let before = self
            .flush
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n - n.min(wanted))
            })
            .unwrap_or_else(|n| n);
        let took = before.min(wanted);
        (took, took)
    }

    /// Gives back `units` of flush a hook claim took but did not use.
    pub fn give_back_units(&self, units: usize) {
        if units > 0 {
            self.flush.fetch_add(units, Ordering::SeqCst);
        }
    }

    /// Whether the terminal task may take a queued delivery now.
    pub fn accepting(&self) -> bool {
        self.channels.loop_delivers()
            && (*self.mode.borrow() != DeliveryMode::Manual
                || self.flush.load(Ordering::SeqCst) > 0)
    }

    /// Whether the terminal task may take one delivery now: `None` when
    /// held; `Some(true)` when it used one unit of a flush (manual mode),
    /// to be given back if the claim finds nothing; `Some(false)` otherwise.
    pub(crate) fn take_one(&self) -> Option<bool> {
        if !self.channels.loop_delivers() {
            return None;
        }
        if *self.mode.borrow() != DeliveryMode::Manual {
            return Some(false);
        }
        self.flush
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .ok()
            .map(|_| true)
    }

    /// Gives back the unit of flush a claim that found nothing used (only
    /// if it used one: a mode change meanwhile must not create a unit).
    pub(crate) fn give_back(&self, took_unit: bool) {
        if took_unit {
            self.flush.fetch_add(1, Ordering::SeqCst);
        }
    }
}
