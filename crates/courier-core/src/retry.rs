//! How many times a delivery is tried before it is dead.

/// Default number of attempts (first try included) before a delivery is dead.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included; at least 1.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

impl RetryPolicy {
    /// Whether a delivery that has failed `failures` times may be tried again.
    pub fn may_retry(&self, failures: u32) -> bool {
        failures < self.max_attempts.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_attempts_by_default() {
        let p = RetryPolicy::default();
        assert!(p.may_retry(1));
        assert!(p.may_retry(2));
        assert!(!p.may_retry(3));
    }

    #[test]
    fn zero_means_one_attempt() {
        assert!(!RetryPolicy { max_attempts: 0 }.may_retry(1));
    }
}
