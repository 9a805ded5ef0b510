//! A person at an agent's keys: keystrokes from the terminal stream
//! (`GET /v1/agents/{name}/terminal`) and `POST /v1/agents/{name}/input`
//! go in exactly as typed (never sanitized: owner only), and each one is
//! remembered, so deliveries to that agent wait until the person has not
//! typed for the typing window (`--typing-hold-ms`). A message pasted into
//! the middle of what a person is writing would spoil both.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use courier_core::Timestamp;
use courier_core::time::{Clock, SystemClock};
use courier_terminal::{Terminal, TerminalError};
use tokio::sync::Notify;

use crate::agent_control::AgentControl;
use crate::agent_terminal::AgentTerminal;
use crate::broker::Broker;
use crate::error::BrokerError;

/// How long a keystroke holds deliveries by default (3 s).
pub const DEFAULT_TYPING_HOLD: Duration = Duration::from_secs(3);

/// Every held reason caused by typing starts with this.
pub const TYPING_PREFIX: &str = "typing:";

/// No keystroke yet.
const NEVER: i64 = i64::MIN;

/// When a person last typed into one agent.
#[derive(Debug)]
pub struct Typing {
    last: AtomicI64,
    window: Duration,
}

impl Typing {
    /// Keystrokes hold deliveries for `window` (zero: never).
    pub fn new(window: Duration) -> Self {
        Typing {
            last: AtomicI64::new(NEVER),
            window,
        }
    }

    /// Records a keystroke at `at`.
    pub fn typed(&self, at: Timestamp) {
        self.last.fetch_max(at.0, Ordering::SeqCst);
    }

    /// The last keystroke, if any.
    pub fn last(&self) -> Option<Timestamp> {
        match self.last.load(Ordering::SeqCst) {
            NEVER => None,
            ms => Some(Timestamp(ms)),
        }
    }

    /// How much longer deliveries wait at `now`; `None` when they need not.
    pub fn hold_left(&self, now: Timestamp) -> Option<Duration> {
        hold_left(self.last(), now, self.window)
    }

    /// The held reason while typing holds deliveries.
    pub fn reason(&self) -> String {
        format!(
            "{TYPING_PREFIX} a person is typing into this agent; deliveries wait until {} ms pass without a keystroke",
            self.window.as_millis()
        )
    }
}

/// The rule: a keystroke at `last` holds deliveries until `window` has
/// passed; what is left of it at `now`.
pub fn hold_left(last: Option<Timestamp>, now: Timestamp, window: Duration) -> Option<Duration> {
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    let since = now.millis_since(last?);
    (since < window_ms).then(|| Duration::from_millis(window_ms - since))
}

/// Whether a held reason is the typing window's.
pub fn is_typing_reason(reason: &str) -> bool {
    reason.starts_with(TYPING_PREFIX)
}

/// A person's way into one agent's terminal.
#[derive(Clone)]
pub struct PersonInput {
    session: Arc<AgentTerminal>,
    control: Arc<AgentControl>,
    wake: Arc<Notify>,
}

impl PersonInput {
    /// Remembers the keystroke, so the agent's delivery loop holds at once,
    /// then writes `bytes` as they are.
    pub async fn write(&self, bytes: &[u8]) -> Result<(), TerminalError> {
        self.control.typing.typed(SystemClock.now());
        self.wake.notify_one();
        self.session.write(bytes).await
    }

    /// The agent's terminal (to watch it, or resize it).
    pub fn terminal(&self) -> &Arc<AgentTerminal> {
        &self.session
    }
}

impl Broker {
    /// The way a person types into agent `name`.
    pub async fn person_input(&self, name: &str) -> Result<PersonInput, BrokerError> {
        let agents = self.inner.agents.lock().await;
        let agent = agents
            .get(name)
            .ok_or_else(|| BrokerError::unknown_agent(name))?;
        Ok(PersonInput {
            session: agent.session.clone(),
            control: agent.control.clone(),
            wake: agent.wake.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keystroke_holds_for_the_window_then_lets_go() {
        let window = Duration::from_millis(3000);
        let t0 = Timestamp(1_000_000);
        assert_eq!(hold_left(None, t0, window), None, "nobody typed");
        assert_eq!(
            hold_left(Some(t0), t0, window),
            Some(Duration::from_millis(3000))
        );
        assert_eq!(
            hold_left(Some(t0), t0.plus_millis(2999), window),
            Some(Duration::from_millis(1))
        );
        assert_eq!(hold_left(Some(t0), t0.plus_millis(3000), window), None);
        // A clock that went back holds at most one window.
        assert_eq!(
            hold_left(Some(t0), Timestamp(t0.0 - 500), window),
            Some(window)
        );
        assert_eq!(hold_left(Some(t0), t0, Duration::ZERO), None, "disabled");
    }

    #[test]
    fn the_latest_keystroke_counts_and_the_reason_says_typing() {
        let typing = Typing::new(Duration::from_millis(100));
        assert_eq!(typing.last(), None);
        typing.typed(Timestamp(50));
        typing.typed(Timestamp(20));
        assert_eq!(typing.last(), Some(Timestamp(50)));
        assert_eq!(
            typing.hold_left(Timestamp(120)),
            Some(Duration::from_millis(30))
        );
        assert_eq!(typing.hold_left(Timestamp(150)), None);
        assert!(is_typing_reason(&typing.reason()));
        assert!(!is_typing_reason("input_not_empty: a draft"));
    }
}
