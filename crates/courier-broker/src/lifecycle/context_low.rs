//! "Context running low" from the screen: a preset's (or the spawn's)
//! patterns matched on the rendered screen, raised once per episode.
//!
//! An episode starts when a pattern first shows and ends only after no
//! pattern has shown on any settled screen for [`EPISODE_GAP`]: a TUI that
//! redraws the same footer on every keystroke (or clears the screen
//! between frames) does not raise it again. Pure: the caller passes the
//! screen text and the time.

use std::time::{Duration, Instant};

use regex::Regex;

/// How long the patterns must stay off the screen before a new showing is
/// a new episode.
pub const EPISODE_GAP: Duration = Duration::from_secs(5);

/// The episode state of one agent's screen.
#[derive(Debug)]
pub struct ContextLow {
    patterns: Vec<Regex>,
    /// In an episode: the pattern was last seen then (or is still showing).
    seen_at: Option<Instant>,
    showing: bool,
}

impl ContextLow {
    pub fn new(patterns: Vec<Regex>) -> Self {
        ContextLow {
            patterns,
            seen_at: None,
            showing: false,
        }
    }

    /// Whether there is anything to watch for.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Looks at a settled screen's text at `now`; `Some(line)` when this
    /// starts a new episode (the line the first match is on, trimmed).
    pub fn observe(&mut self, text: &str, now: Instant) -> Option<String> {
        let found = self.patterns.iter().find_map(|p| p.find(text));
        let Some(m) = found else {
            if self.showing {
                self.showing = false;
                self.seen_at = Some(now);
            }
            if self
                .seen_at
                .is_some_and(|at| now.saturating_duration_since(at) >= EPISODE_GAP)
            {
                self.seen_at = None;
            }
            return None;
        };
        let new_episode = self.seen_at.is_none();
        self.showing = true;
        self.seen_at = Some(now);
        if !new_episode {
            return None;
        }
        let start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = text[m.end()..]
            .find('\n')
            .map_or(text.len(), |i| m.end() + i);
        Some(text[start..end].trim().to_string())
    }

    /// Whether an episode is under way (the pattern shows, or showed less
    /// than [`EPISODE_GAP`] ago).
    pub fn in_episode(&self) -> bool {
        self.seen_at.is_some()
    }

    /// When to look again without a screen change, so an episode can end
    /// while the screen stays still.
    pub fn next_check(&self, now: Instant) -> Option<Instant> {
        match (self.showing, self.seen_at) {
            (false, Some(at)) => Some((at + EPISODE_GAP).max(now)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> ContextLow {
        ContextLow::new(vec![Regex::new(r"\b\d% context left").unwrap()])
    }

    #[test]
    fn one_event_per_episode_across_redraws() {
        let mut t = tracker();
        let t0 = Instant::now();
        assert_eq!(t.observe("> \n 45% context left", t0), None);
        assert_eq!(
            t.observe("> hi\n  7% context left  ", t0 + Duration::from_millis(10)),
            Some("7% context left".to_string())
        );
        // Redraws, a cleared frame, the same footer again: same episode.
        assert_eq!(
            t.observe("> hi\n 6% context left", t0 + Duration::from_millis(20)),
            None
        );
        assert_eq!(t.observe("", t0 + Duration::from_millis(30)), None);
        assert_eq!(
            t.observe("5% context left", t0 + Duration::from_millis(40)),
            None
        );
    }

    #[test]
    fn a_new_episode_needs_the_pattern_gone_for_the_gap() {
        let mut t = tracker();
        let t0 = Instant::now();
        assert!(t.observe("3% context left", t0).is_some());
        let gone = t0 + Duration::from_secs(1);
        assert_eq!(t.observe("compacted", gone), None);
        assert_eq!(t.next_check(gone), Some(gone + EPISODE_GAP));
        assert_eq!(t.observe("compacted", gone + EPISODE_GAP), None);
        assert_eq!(t.next_check(gone + EPISODE_GAP), None);
        assert_eq!(
            t.observe(
                "9% context left",
                gone + EPISODE_GAP + Duration::from_millis(1)
            ),
            Some("9% context left".to_string())
        );
    }
}
