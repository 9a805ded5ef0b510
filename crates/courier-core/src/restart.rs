//! The restart policy of an agent: whether an exit is restarted, after what
//! backoff, and when too many restarts within a window make the agent
//! `dead`. Pure: the caller keeps the history and passes the time in.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Most restarts a policy may allow within its window.
pub const MAX_RESTARTS_LIMIT: u32 = 1000;
/// Longest window a policy may count restarts in (7 days).
pub const MAX_WINDOW_S: u64 = 7 * 24 * 3600;
/// Longest single backoff (1 hour).
pub const MAX_BACKOFF_MS: u64 = 3_600_000;
/// Most steps a backoff list may have.
pub const MAX_BACKOFF_STEPS: usize = 32;

/// When an agent's program is started again after it ended.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RestartMode {
    /// Never: an exit ends the agent (`exited`) until a person spawns it again.
    #[default]
    Never,
    /// After a crash only: a non-zero exit code or a signal.
    OnFailure,
    /// After any exit, a clean one too.
    Always,
}

impl RestartMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RestartMode::Never => "never",
            RestartMode::OnFailure => "on-failure",
            RestartMode::Always => "always",
        }
    }
}

/// The wait before each restart: a list (the nth restart in the window
/// waits the nth entry, the last one repeating), or a doubling from
/// `initial` up to `max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Backoff {
    Steps(Vec<u64>),
    Doubling { initial: u64, max: u64 },
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::Steps(vec![500, 1_000, 2_000, 5_000, 10_000])
    }
}

impl Backoff {
    /// The wait before restart number `attempt` (1-based) in the window.
    pub fn delay_ms(&self, attempt: u32) -> u64 {
        let index = attempt.saturating_sub(1);
        match self {
            Backoff::Steps(steps) => steps
                .get(index as usize)
                .or(steps.last())
                .copied()
                .unwrap_or(0),
            Backoff::Doubling { initial, max } => {
                let factor = 1u64.checked_shl(index.min(63)).unwrap_or(u64::MAX);
                initial.saturating_mul(factor).min(*max)
            }
        }
    }
}

fn default_max_restarts() -> u32 {
    5
}

fn default_window_s() -> u64 {
    300
}

fn default_resume() -> bool {
    true
}

/// An agent's restart policy, as given at spawn (and persisted with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    #[serde(default)]
    pub policy: RestartMode,
    /// At most this many restarts within `window_s`; one more exit makes
    /// the agent `dead` (default 5).
    #[serde(default = "default_max_restarts")]
    pub max_restarts: u32,
    /// The window restarts are counted in, in seconds (default 300).
    #[serde(default = "default_window_s")]
    pub window_s: u64,
    /// The wait before each restart (default 500, 1000, 2000, 5000, 10000 ms).
    #[serde(default)]
    pub backoff_ms: Backoff,
    /// Restart a preset's CLI with its "continue the last session" option
    /// when the preset has one (default true).
    #[serde(default = "default_resume")]
    pub resume: bool,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            policy: RestartMode::Never,
            max_restarts: default_max_restarts(),
            window_s: default_window_s(),
            backoff_ms: Backoff::default(),
            resume: default_resume(),
        }
    }
}

/// What to do after an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartDecision {
    /// The policy does not restart this exit (`never`, or a clean exit
    /// under `on-failure`): the agent stays `exited`.
    Stay,
    /// Restart number `attempt` in the window, after `delay_ms`.
    Restart { attempt: u32, delay_ms: u64 },
    /// `restarts` restarts already happened within the window: the agent is dead.
    Dead { restarts: u32 },
}

impl RestartPolicy {
    /// Refuses values a client could use to make the broker spin or sleep
    /// for ever; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.max_restarts > MAX_RESTARTS_LIMIT {
            return Err(format!(
                "max_restarts must be at most {MAX_RESTARTS_LIMIT} (got {})",
                self.max_restarts
            ));
        }
        if self.window_s == 0 || self.window_s > MAX_WINDOW_S {
            return Err(format!(
                "window_s must be 1..={MAX_WINDOW_S} (got {})",
                self.window_s
            ));
        }
        match &self.backoff_ms {
            Backoff::Steps(steps) => {
                if steps.is_empty() || steps.len() > MAX_BACKOFF_STEPS {
                    return Err(format!(
                        "backoff_ms must have 1 to {MAX_BACKOFF_STEPS} steps (got {})",
                        steps.len()
                    ));
                }
                if let Some(step) = steps.iter().find(|s| **s > MAX_BACKOFF_MS) {
                    return Err(format!(
                        "each backoff_ms step must be at most {MAX_BACKOFF_MS} (got {step})"
                    ));
                }
            }
            Backoff::Doubling { initial, max } => {
                if *max > MAX_BACKOFF_MS || initial > max {
                    return Err(format!(
                        "backoff_ms needs initial <= max <= {MAX_BACKOFF_MS} (got initial {initial}, max {max})"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether an exit (`crashed`: a non-zero code or a signal) is one this
    /// policy restarts at all.
    pub fn restarts(&self, crashed: bool) -> bool {
        match self.policy {
            RestartMode::Never => false,
            RestartMode::OnFailure => crashed,
            RestartMode::Always => true,
        }
    }

    /// What to do after an exit at `now`, given when the earlier restarts
    /// happened (`history`, any order; entries outside the window are ignored).
    pub fn decide(&self, crashed: bool, history: &[Timestamp], now: Timestamp) -> RestartDecision {
        if !self.restarts(crashed) {
            return RestartDecision::Stay;
        }
        let window_ms = self.window_s.saturating_mul(1000);
        let recent = history
            .iter()
            .filter(|t| now.millis_since(**t) < window_ms && **t <= now)
            .count();
        let recent = u32::try_from(recent).unwrap_or(u32::MAX);
        if recent >= self.max_restarts {
            return RestartDecision::Dead { restarts: recent };
        }
        let attempt = recent + 1;
        RestartDecision::Restart {
            attempt,
            delay_ms: self.backoff_ms.delay_ms(attempt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: RestartMode) -> RestartPolicy {
        RestartPolicy {
            policy: mode,
            max_restarts: 2,
            window_s: 60,
            backoff_ms: Backoff::Steps(vec![100, 300]),
            resume: true,
        }
    }

    #[test]
    fn never_stays_and_on_failure_restarts_only_crashes() {
        let now = Timestamp(1_000_000);
        assert_eq!(
            policy(RestartMode::Never).decide(true, &[], now),
            RestartDecision::Stay
        );
        assert_eq!(
            policy(RestartMode::OnFailure).decide(false, &[], now),
            RestartDecision::Stay
        );
        assert_eq!(
            policy(RestartMode::OnFailure).decide(true, &[], now),
            RestartDecision::Restart {
                attempt: 1,
                delay_ms: 100
            }
        );
        assert_eq!(
            policy(RestartMode::Always).decide(false, &[], now),
            RestartDecision::Restart {
                attempt: 1,
                delay_ms: 100
            }
        );
    }

    #[test]
    fn past_the_limit_within_the_window_the_agent_is_dead() {
        let p = policy(RestartMode::Always);
        let now = Timestamp(1_000_000);
        let one = [Timestamp(990_000)];
        assert_eq!(
            p.decide(true, &one, now),
            RestartDecision::Restart {
                attempt: 2,
                delay_ms: 300
            }
        );
        let two = [Timestamp(990_000), Timestamp(995_000)];
        assert_eq!(
            p.decide(true, &two, now),
            RestartDecision::Dead { restarts: 2 }
        );
        // Restarts older than the window no longer count.
        let old = [Timestamp(900_000), Timestamp(930_000)];
        assert_eq!(
            p.decide(true, &old, now),
            RestartDecision::Restart {
                attempt: 1,
                delay_ms: 100
            }
        );
    }

    #[test]
    fn backoff_repeats_its_last_step_or_doubles_up_to_max() {
        let steps = Backoff::Steps(vec![10, 20]);
        assert_eq!([1, 2, 3, 9].map(|a| steps.delay_ms(a)), [10, 20, 20, 20]);
        let doubling = Backoff::Doubling {
            initial: 100,
            max: 1000,
        };
        assert_eq!(
            [1, 2, 3, 4, 5, 200].map(|a| doubling.delay_ms(a)),
            [100, 200, 400, 800, 1000, 1000]
        );
    }

    #[test]
    fn json_takes_a_list_or_initial_and_max_and_defaults_to_never() {
        let p: RestartPolicy = serde_json::from_str(r#"{"policy":"on-failure"}"#).unwrap();
        assert_eq!(p.policy, RestartMode::OnFailure);
        assert_eq!((p.max_restarts, p.window_s), (5, 300));
        let p: RestartPolicy =
            serde_json::from_str(r#"{"policy":"always","backoff_ms":{"initial":5,"max":50}}"#)
                .unwrap();
        assert_eq!(p.backoff_ms.delay_ms(3), 20);
        let p: RestartPolicy = serde_json::from_str(r#"{"backoff_ms":[1,2]}"#).unwrap();
        assert_eq!(p.policy, RestartMode::Never);
        assert!(serde_json::from_str::<RestartPolicy>(r#"{"policy":"sometimes"}"#).is_err());
    }

    #[test]
    fn check_refuses_what_would_spin_or_sleep_for_ever() {
        let ok = policy(RestartMode::Always);
        assert_eq!(ok.check(), Ok(()));
        for bad in [
            RestartPolicy {
                max_restarts: MAX_RESTARTS_LIMIT + 1,
                ..ok.clone()
            },
            RestartPolicy {
                window_s: 0,
                ..ok.clone()
            },
            RestartPolicy {
                backoff_ms: Backoff::Steps(vec![]),
                ..ok.clone()
            },
            RestartPolicy {
                backoff_ms: Backoff::Steps(vec![MAX_BACKOFF_MS + 1]),
                ..ok.clone()
            },
            RestartPolicy {
                backoff_ms: Backoff::Doubling { initial: 9, max: 1 },
                ..ok.clone()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
