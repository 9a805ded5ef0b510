//! What one program's composer taught about Enter. Pure.
//!
//! Some composers ignore an Enter, or turn it into a newline, when it comes
//! less than some window after a paste; the window is theirs and unknown.
//! Each delivery tells where it lies: an Enter that did not submit came too
//! early (`lo`), the one that did was late enough (`hi`). The next delivery
//! sends its first Enter halfway between (a binary search that settles
//! within a few messages on the window), and a retry never before `hi`.
//!
//! A composer that needs a second Enter whatever the timing (a multi-line
//! editor whose first Enter adds a line) makes `lo` reach `hi`: then timing
//! explains nothing, and the memory starts over.

use std::time::Duration;

/// Below this, the search has found the window.
const RESOLUTION: Duration = Duration::from_millis(10);
/// Longest first wait ever learned: past it, the composer is not a timing
/// case worth waiting for on every message.
const MAX_LEARNED: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnterTiming {
    /// An Enter this long after the paste did not submit.
    lo: Duration,
    /// An Enter this long after the paste submitted (only once an Enter
    /// failed first: until then nothing says a window exists).
    hi: Option<Duration>,
}

impl EnterTiming {
    /// When to send the first Enter, after the end of the paste.
    pub fn first_gap(&self) -> Duration {
        match self.hi {
            None => Duration::ZERO,
            Some(hi) if hi <= self.lo + RESOLUTION => hi,
            Some(hi) => self.lo + (hi - self.lo) / 2,
        }
    }

    /// No retry Enter before this, after the end of the paste.
    pub fn floor(&self) -> Duration {
        self.hi.unwrap_or(Duration::ZERO)
    }

    /// One delivery's Enters, as times after the end of its paste, of which
    /// the last submitted the text.
    pub fn record(&mut self, enters: &[Duration]) {
        let Some((&ok, failed)) = enters.split_last() else {
            return;
        };
        match failed.last() {
            Some(&late_fail) => {
                self.lo = self.lo.max(late_fail);
                self.hi = Some(self.hi.map_or(ok, |hi| hi.min(ok)));
            }
            // Submitted at once: the window (if any) is no longer than that.
            None => self.hi = self.hi.map(|hi| hi.min(ok)),
        }
        let explained = self.hi.is_some_and(|hi| self.lo < hi && hi <= MAX_LEARNED);
        if self.hi.is_some() && !explained {
            *self = EnterTiming::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A composer that drops every Enter before `window`.
    fn deliver(t: &mut EnterTiming, window: Duration) -> Duration {
        let mut at = t.first_gap().max(ms(13));
        let mut enters = vec![at];
        while at < window {
            at = (at + ms(40)).max(t.floor());
            enters.push(at);
        }
        t.record(&enters);
        enters[0]
    }

    #[test]
    fn nothing_is_learned_from_a_composer_that_takes_the_first_enter() {
        let mut t = EnterTiming::default();
        t.record(&[ms(13)]);
        assert_eq!(t, EnterTiming::default());
        assert_eq!(t.first_gap(), Duration::ZERO);
    }

    #[test]
    fn the_search_settles_on_the_window() {
        let mut t = EnterTiming::default();
        let firsts: Vec<Duration> = (0..12).map(|_| deliver(&mut t, ms(150))).collect();
        let last = *firsts.last().unwrap();
        assert!(
            last >= ms(150) && last <= ms(150) + RESOLUTION * 4,
            "{firsts:?}"
        );
        assert!(t.floor() >= ms(150));
    }

    #[test]
    fn a_composer_that_always_needs_two_enters_is_not_a_window() {
        let mut t = EnterTiming::default();
        for _ in 0..20 {
            let first = t.first_gap().max(ms(13));
            let second = (first + ms(20)).max(t.floor());
            t.record(&[first, second]);
            assert!(t.first_gap() <= ms(60), "{t:?}");
        }
    }

    #[test]
    fn a_window_longer_than_the_bound_is_forgotten() {
        let mut t = EnterTiming::default();
        t.record(&[ms(13), ms(1500)]);
        assert_eq!(t, EnterTiming::default());
    }
}
