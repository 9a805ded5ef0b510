//! One message to one agent, and its state machine.
//!
//! ```text
//! queued ──begin_injection──▶ injecting ──written──▶ injected ──verified──▶ verified (echo)
//!   │                            │                      └──unverified──▶ unverified (timeout_fallback, reason)
//!   │                            ├──requeue (restart, new session; also from injected)──▶ queued
//!   │                            └──failed──▶ queued (attempt+1, retry) … ▶ dead (reason)
//!   └──drop (queue cap)──▶ dropped            dropped / dead ──replay──▶ queued
//!   └──read (claimed by a hook)──▶ read       verified / unverified ──read──▶ read
//!   └──(federation) another host committed it──▶ forwarded, then follows
//!      that host's events (`remote::mirror`)
//! ```
//!
//! [`Delivery::apply`] is the only way a delivery changes: it returns the new
//! delivery and the events the change causes, or refuses the transition.

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::event::{DroppedDelivery, EventKind};
use crate::ids::{DeliveryId, MessageId};
use crate::mode::DeliveryChannel;
use crate::retry::RetryPolicy;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Queued,
    Injecting,
    Injected,
    Verified,
    Unverified,
    Dropped,
    Dead,
    /// The agent itself confirmed it took the delivery in (its inbox, or a
    /// hook that handed it over).
    Read,
    /// Federation: the agent lives on another host, whose store committed
    /// the delivery; it goes on there, and this copy follows its events.
    Forwarded,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 9] = [
        DeliveryState::Queued,
        DeliveryState::Injecting,
        DeliveryState::Injected,
        DeliveryState::Verified,
        DeliveryState::Unverified,
        DeliveryState::Dropped,
        DeliveryState::Dead,
        DeliveryState::Read,
        DeliveryState::Forwarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Injecting => "injecting",
            DeliveryState::Injected => "injected",
            DeliveryState::Verified => "verified",
            DeliveryState::Unverified => "unverified",
            DeliveryState::Dropped => "dropped",
            DeliveryState::Dead => "dead",
            DeliveryState::Read => "read",
            DeliveryState::Forwarded => "forwarded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        DeliveryState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// No further transition happens on its own (replay is a person's choice).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            DeliveryState::Verified
                | DeliveryState::Unverified
                | DeliveryState::Dropped
                | DeliveryState::Dead
                | DeliveryState::Read
        )
    }

    /// Reached the agent (proven or not): may become `read`.
    pub fn is_delivered(self) -> bool {
        matches!(self, DeliveryState::Verified | DeliveryState::Unverified)
    }

    /// Taken out of the queue and not finished: the queue cap must not evict it.
    pub fn is_in_flight(self) -> bool {
        matches!(self, DeliveryState::Injecting | DeliveryState::Injected)
    }

    /// Ended without reaching the agent: listed as a dead letter, replayable.
    pub fn is_dead_letter(self) -> bool {
        matches!(self, DeliveryState::Dropped | DeliveryState::Dead)
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a finished injection was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// The rendered screen showed the text.
    Echo,
    /// The window ended without proof either way.
    TimeoutFallback,
    /// The agent CLI's own protocol reported the turn that carries the
    /// message (a native channel, e.g. ACP's `session/prompt` answered).
    Protocol,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Echo => "echo",
            Verification::TimeoutFallback => "timeout_fallback",
            Verification::Protocol => "protocol",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "echo" => Some(Verification::Echo),
            "timeout_fallback" => Some(Verification::TimeoutFallback),
            "protocol" => Some(Verification::Protocol),
            _ => None,
        }
    }
}

/// Why a delivery was evicted by the queue cap.
pub const REASON_QUEUE_FULL: &str = "queue_full";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: DeliveryId,
    pub message_id: MessageId,
    /// The recipient.
    pub agent: String,
    /// The message's sender (named when the delivery is dropped).
    pub from: String,
    pub state: DeliveryState,
    /// Attempts that failed so far (0 on the first try).
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The terminal session an injection went to, so a restart can tell
    /// whether the process that saw it still lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The channel that delivered it (`pty` once typed in, `hook` when a
    /// hook handed it over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<DeliveryChannel>,
    /// When the agent confirmed it read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<Timestamp>,
    /// Federation, sending host: the host whose store committed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_to: Option<String>,
    /// Federation, receiving host: the host it was forwarded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_host: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A requested change of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// queued → injecting, into the given session (a terminal's, or a
    /// headless agent's) through `channel` (`pty` or `native`).
    BeginInjection {
        session: String,
        channel: DeliveryChannel,
    },
    /// injecting → injected: every byte was written.
    Written,
    /// injected → verified (`echo`).
    Verified,
    /// injected → verified (`protocol`): the agent CLI's protocol reported
    /// the turn that carries it.
    ProtocolVerified,
    /// injected → unverified (`timeout_fallback`), with the screen rows
    /// that show why when there are some (e.g. the text left in the input).
    Unverified { reason: String, screen: Vec<String> },
    /// Write error, agent gone or no trace on screen: retry or dead.
    Failed { reason: String },
    /// injecting / injected → queued without counting an attempt: the
    /// session that was written to is gone, and the new one never saw the
    /// text (broker restart).
    Requeue { reason: String },
    /// queued → dropped (queue cap or a person).
    Drop { reason: String },
    /// dropped / dead → queued, by a person or the API.
    Replay,
    /// The agent confirmed it took the delivery in. `channel: None`:
    /// verified / unverified → read (it came through its recorded channel);
    /// `channel: Some(c)`: queued → read, claimed and handed over by `c`
    /// (a hook) so no other channel delivers it.
    Read { channel: Option<DeliveryChannel> },
}

impl Transition {
    pub fn name(&self) -> &'static str {
        match self {
            Transition::BeginInjection { .. } => "begin injection",
            Transition::Written => "be marked written",
            Transition::Verified | Transition::ProtocolVerified => "be verified",
            Transition::Unverified { .. } => "be marked unverified",
            Transition::Failed { .. } => "fail",
            Transition::Requeue { .. } => "be requeued",
            Transition::Drop { .. } => "be dropped",
            Transition::Replay => "be replayed",
            Transition::Read { channel: None } => "be marked read",
            Transition::Read { channel: Some(_) } => "be claimed by a hook",
        }
    }
}

impl Delivery {
    /// A new delivery in the queue.
    pub fn queued(
        id: DeliveryId,
        message_id: MessageId,
        agent: impl Into<String>,
        from: impl Into<String>,
        now: Timestamp,
    ) -> Self {
        Delivery {
            id,
            message_id,
            agent: agent.into(),
            from: from.into(),
            state: DeliveryState::Queued,
            attempt: 0,
            verification: None,
            reason: None,
            session: None,
            channel: None,
            read_at: None,
            forwarded_to: None,
            origin_host: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The event that announces a newly queued delivery.
    pub fn queued_event(&self) -> EventKind {
        EventKind::DeliveryQueued {
            delivery_id: self.id.clone(),
            message_id: self.message_id.clone(),
            agent: self.agent.clone(),
            attempt: self.attempt,
        }
    }

    /// Applies `transition`, returning the changed delivery and its events.
    pub fn apply(
        &self,
        transition: Transition,
        policy: &RetryPolicy,
        now: Timestamp,
    ) -> Result<(Delivery, Vec<EventKind>), CoreError> {
        use DeliveryState as S;
        let refuse = |t: &Transition| CoreError::InvalidTransition {
            id: self.id.clone(),
            from: self.state,
            transition: t.name(),
        };
        let mut next = self.clone();
        next.updated_at = now;
        let events = match (&transition, self.state) {
            (Transition::BeginInjection { session, channel }, S::Queued) => {
                next.state = S::Injecting;
                next.session = Some(session.clone());
                next.channel = Some(*channel);
                vec![EventKind::DeliveryInjecting {
                    delivery_id: self.id.clone(),
                    message_id: self.message_id.clone(),
                    agent: self.agent.clone(),
                    attempt: self.attempt,
                    session: session.clone(),
                }]
            }
            (Transition::Written, S::Injecting) => {
                next.state = S::Injected;
                vec![EventKind::DeliveryInjected {
                    delivery_id: self.id.clone(),
                    message_id: self.message_id.clone(),
                    agent: self.agent.clone(),
                    attempt: self.attempt,
                }]
            }
            (Transition::Verified, S::Injected) => {
                next.state = S::Verified;
                next.verification = Some(Verification::Echo);
                next.reason = None;
                vec![self.verified_event(Verification::Echo, None, Vec::new())]
            }
            (Transition::ProtocolVerified, S::Injected) => {
                next.state = S::Verified;
                next.verification = Some(Verification::Protocol);
                next.reason = None;
                vec![self.verified_event(Verification::Protocol, None, Vec::new())]
            }
            (Transition::Unverified { reason, screen }, S::Injected) => {
                next.state = S::Unverified;
                next.verification = Some(Verification::TimeoutFallback);
                next.reason = Some(reason.clone());
                vec![self.verified_event(
                    Verification::TimeoutFallback,
                    Some(reason.clone()),
                    screen.clone(),
                )]
            }
            (Transition::Failed { reason }, S::Queued | S::Injecting | S::Injected) => {
                next.reason = Some(reason.clone());
                next.session = None;
                next.channel = None;
                if policy.may_retry(self.attempt + 1) {
                    next.state = S::Queued;
                    next.attempt = self.attempt + 1;
                    vec![EventKind::DeliveryRetry {
                        delivery_id: self.id.clone(),
                        message_id: self.message_id.clone(),
                        agent: self.agent.clone(),
                        attempt: next.attempt,
                        reason: reason.clone(),
                    }]
                } else {
                    next.state = S::Dead;
                    next.attempt = self.attempt + 1;
                    vec![EventKind::DeliveryDead {
                        delivery_id: self.id.clone(),
                        message_id: self.message_id.clone(),
                        agent: self.agent.clone(),
                        attempt: next.attempt,
                        reason: reason.clone(),
                    }]
                }
            }
            (Transition::Requeue { reason }, S::Injecting | S::Injected) => {
                next.state = S::Queued;
                next.session = None;
                next.channel = None;
                next.reason = Some(reason.clone());
                vec![EventKind::DeliveryRetry {
                    delivery_id: self.id.clone(),
                    message_id: self.message_id.clone(),
                    agent: self.agent.clone(),
                    attempt: self.attempt,
                    reason: reason.clone(),
                }]
            }
            (Transition::Drop { reason }, S::Queued) => {
                next.state = S::Dropped;
                next.reason = Some(reason.clone());
                vec![EventKind::DeliveryDropped {
                    name: self.agent.clone(),
                    count: 1,
                    reason: reason.clone(),
                    dropped: vec![self.dropped_entry()],
                }]
            }
            (Transition::Replay, S::Dropped | S::Dead) => {
                next.state = S::Queued;
                next.attempt = 0;
                next.reason = None;
                next.verification = None;
                next.session = None;
                next.channel = None;
                next.read_at = None;
                vec![
                    EventKind::DeliveryReplayed {
                        delivery_id: self.id.clone(),
                        message_id: self.message_id.clone(),
                        agent: self.agent.clone(),
                    },
                    next.queued_event(),
                ]
            }
            (Transition::Read { channel: None }, S::Verified | S::Unverified) => {
                next.state = S::Read;
                next.read_at = Some(now);
                let channel = self.channel.unwrap_or(DeliveryChannel::Pty);
                next.channel = Some(channel);
                vec![self.read_event(channel)]
            }
            (Transition::Read { channel: Some(c) }, S::Queued) => {
                next.state = S::Read;
                next.read_at = Some(now);
                next.channel = Some(*c);
                next.reason = None;
                vec![self.read_event(*c)]
            }
            (t, _) => return Err(refuse(t)),
        };
        Ok((next, events))
    }

    pub fn dropped_entry(&self) -> DroppedDelivery {
        DroppedDelivery {
            delivery_id: self.id.clone(),
            message_id: self.message_id.clone(),
            from: self.from.clone(),
        }
    }

    fn read_event(&self, channel: DeliveryChannel) -> EventKind {
        EventKind::DeliveryRead {
            delivery_id: self.id.clone(),
            message_id: self.message_id.clone(),
            agent: self.agent.clone(),
            channel,
        }
    }

    fn verified_event(
        &self,
        verification: Verification,
        reason: Option<String>,
        screen: Vec<String>,
    ) -> EventKind {
        EventKind::DeliveryVerified {
            delivery_id: self.id.clone(),
            message_id: self.message_id.clone(),
            agent: self.agent.clone(),
            verification,
            reason,
            screen,
        }
    }
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
