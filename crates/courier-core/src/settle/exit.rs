//! How an agent's process ended, as the settling rules need it.

use serde::{Deserialize, Serialize};

/// How a program ended: core's own copy of the terminal's exit status (same
/// fields, same wire form, same text), so the rules here need no terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// Exit code, when it exited normally.
    pub code: Option<i32>,
    /// Signal number, when a signal ended it.
    pub signal: Option<i32>,
}

impl Exit {
    /// Whether the exit is a crash: a non-zero code or a signal.
    pub fn is_crash(&self) -> bool {
        self.signal.is_some() || self.code.is_some_and(|c| c != 0)
    }
}

/// The words every `agent_exited` reason carries after "the agent process";
/// they must stay those of the terminal's exit status, which event readers
/// and tests already see.
impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (_, Some(sig)) => write!(f, "killed by signal {sig}"),
            (Some(code), None) => write!(f, "exited with code {code}"),
            (None, None) => f.write_str("exited"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_is_a_failure_code_or_a_signal() {
        let exit = |code, signal| Exit { code, signal };
        assert!(exit(Some(101), None).is_crash());
        assert!(exit(None, Some(9)).is_crash());
        assert!(!exit(Some(0), None).is_crash());
        assert!(!exit(None, None).is_crash());
    }

    #[test]
    fn reads_like_the_terminals_exit_status() {
        let exit = |code, signal| Exit { code, signal }.to_string();
        assert_eq!(exit(Some(101), None), "exited with code 101");
        assert_eq!(exit(Some(0), Some(15)), "killed by signal 15");
        assert_eq!(exit(None, None), "exited");
    }
}
