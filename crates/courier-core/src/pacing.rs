//! The delay between consecutive injections into one agent.
//!
//! - An idle agent gets its first delivery at once.
//! - The delay starts at [`INITIAL_DELAY_MS`].
//! - **verified**: the streak grows; every [`STREAK_TO_HALVE`] consecutive
//!   verified outcomes halve the delay, down to the floor.
//! - **unverified**: the streak resets, the delay stays. It can never lower
//!   the delay, and it does not back off either.
//! - **failed**: the streak resets and the delay backs off along
//!   [`BACKOFF_LADDER_MS`] (the next step above the current delay, capped).

use crate::time::Timestamp;

pub const INITIAL_DELAY_MS: u64 = 100;
pub const DEFAULT_FLOOR_MS: u64 = 25;
pub const STREAK_TO_HALVE: u32 = 3;
pub const BACKOFF_LADDER_MS: [u64; 6] = [100, 200, 500, 1000, 2000, 5000];

/// How an injection ended, as pacing sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Verified,
    Unverified,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pacer {
    delay_ms: u64,
    floor_ms: u64,
    streak: u32,
    last_injection: Option<Timestamp>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new(DEFAULT_FLOOR_MS)
    }
}

impl Pacer {
    pub fn new(floor_ms: u64) -> Self {
        let floor_ms = floor_ms.clamp(1, INITIAL_DELAY_MS);
        Pacer {
            delay_ms: INITIAL_DELAY_MS,
            floor_ms,
            streak: 0,
            last_injection: None,
        }
    }

    pub fn delay_ms(&self) -> u64 {
        self.delay_ms
    }

    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// Records that an injection started at `now`.
    pub fn injected_at(&mut self, now: Timestamp) {
        self.last_injection = Some(now);
    }

    /// The earliest moment the next injection may start: at once for the
    /// first one, else the last injection plus the current delay.
    pub fn next_allowed(&self) -> Option<Timestamp> {
        self.last_injection.map(|t| t.plus_millis(self.delay_ms))
    }

    /// Whether an injection may start at `now`.
    pub fn may_inject(&self, now: Timestamp) -> bool {
        self.next_allowed().is_none_or(|t| now >= t)
    }

    pub fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Verified => {
                self.streak += 1;
                if self.streak.is_multiple_of(STREAK_TO_HALVE) {
                    self.delay_ms = (self.delay_ms / 2).max(self.floor_ms);
                }
            }
            Outcome::Unverified => self.streak = 0,
            Outcome::Failed => {
                self.streak = 0;
                self.delay_ms = BACKOFF_LADDER_MS
                    .into_iter()
                    .find(|step| *step > self.delay_ms)
                    .unwrap_or(BACKOFF_LADDER_MS[BACKOFF_LADDER_MS.len() - 1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_injection_is_immediate_then_delayed() {
        let mut p = Pacer::default();
        assert!(p.may_inject(Timestamp(0)));
        p.injected_at(Timestamp(1000));
        assert!(!p.may_inject(Timestamp(1099)));
        assert!(p.may_inject(Timestamp(1100)));
    }

    #[test]
    fn three_verified_halve_down_to_the_floor() {
        let mut p = Pacer::new(25);
        let mut seen = vec![];
        for _ in 0..12 {
            p.record(Outcome::Verified);
            seen.push(p.delay_ms());
        }
        assert_eq!(seen, [100, 100, 50, 50, 50, 25, 25, 25, 25, 25, 25, 25]);
    }

    #[test]
    fn unverified_breaks_the_streak_without_backing_off() {
        let mut p = Pacer::default();
        p.record(Outcome::Verified);
        p.record(Outcome::Verified);
        p.record(Outcome::Unverified);
        assert_eq!((p.delay_ms(), p.streak()), (100, 0));
        p.record(Outcome::Verified);
        p.record(Outcome::Verified);
        assert_eq!(p.delay_ms(), 100, "streak restarted after unverified");
    }

    #[test]
    fn failures_climb_the_ladder_to_the_cap() {
        let mut p = Pacer::default();
        let mut seen = vec![];
        for _ in 0..7 {
            p.record(Outcome::Failed);
            seen.push(p.delay_ms());
        }
        assert_eq!(seen, [200, 500, 1000, 2000, 5000, 5000, 5000]);
        let mut q = Pacer::new(25);
        for _ in 0..6 {
            q.record(Outcome::Verified);
        }
        assert_eq!(q.delay_ms(), 25);
        q.record(Outcome::Failed);
        assert_eq!(q.delay_ms(), 100);
    }
}
