//! What a sender sends once.

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::ids::MessageId;
use crate::recipient::Recipient;
use crate::time::Timestamp;

/// Default largest body accepted, in bytes (configurable above this layer).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest idempotency key accepted, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 256;

/// A send as the caller asks for it, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    pub from: String,
    pub to: Recipient,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<MessageId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

impl NewMessage {
    pub fn new(from: impl Into<String>, to: Recipient, body: impl Into<String>) -> Self {
        NewMessage {
            from: from.into(),
            to,
            body: body.into(),
            thread: None,
            idempotency_key: None,
        }
    }

    /// Checks the rules a send must meet before anything is stored.
    pub fn validate(&self, max_body_bytes: usize) -> Result<(), CoreError> {
        crate::recipient::validate_agent_name(&self.from)?;
        if self.body.is_empty() {
            return Err(CoreError::EmptyBody);
        }
        if self.body.len() > max_body_bytes {
            return Err(CoreError::BodyTooLarge {
                size: self.body.len(),
                limit: max_body_bytes,
            });
        }
        if let Some(key) = &self.idempotency_key
            && key.len() > MAX_IDEMPOTENCY_KEY_BYTES
        {
            return Err(CoreError::IdempotencyKeyTooLong {
                size: key.len(),
                limit: MAX_IDEMPOTENCY_KEY_BYTES,
            });
        }
        if let Some(key) = &self.idempotency_key
            && key.chars().any(char::is_control)
        {
            return Err(CoreError::InvalidIdempotencyKey { key: key.clone() });
        }
        if let Some(thread) = &self.thread {
            validate_thread(thread.as_str())?;
        }
        if self.to == Recipient::Agent(self.from.clone()) {
            return Err(CoreError::SendToSelf {
                name: self.from.clone(),
            });
        }
        Ok(())
    }

    pub fn into_message(self, id: MessageId, created_at: Timestamp) -> Message {
        Message {
            id,
            from: self.from,
            to: self.to,
            body: self.body,
            thread: self.thread,
            idempotency_key: self.idempotency_key,
            created_at,
        }
    }
}

/// Checks a `thread`: it names a message, so it follows the rule of a name
/// (message ids are ULIDs, which do). It is part of the header line typed
/// into the recipient's terminal, where a newline would forge a second
/// header, so nothing else is accepted.
pub fn validate_thread(thread: &str) -> Result<(), CoreError> {
    if crate::recipient::is_valid_name(thread) {
        return Ok(());
    }
    const SHOWN_CHARS: usize = 64;
    let mut shown: String = thread.chars().take(SHOWN_CHARS).collect();
    if shown.len() < thread.len() {
        shown.push('…');
    }
    Err(CoreError::InvalidThread {
        shown,
        bytes: thread.len(),
    })
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    pub id: MessageId,
    pub from: String,
    pub to: Recipient,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<MessageId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub created_at: Timestamp,
}

/// How a reply to a message was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyVia {
    /// A headless agent's final answer to the turn the message started,
    /// as its protocol reported it (ACP: the turn's message chunks).
    Protocol,
    /// A message its sender sent with `thread` set to the message's id
    /// (API, CLI or MCP): how a terminal agent replies.
    Message,
}

/// A reply to a message (`reply_to`), kept in the store with its link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reply {
    pub created_at: Timestamp,
    /// The agent that answered.
    pub from: String,
    /// The reply message, when the reply is one (`via: message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// The message answered.
    pub reply_to: MessageId,
    /// The text of the answer (the reply message's body).
    pub text: String,
    pub via: ReplyVia,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &str) -> NewMessage {
        NewMessage::new("alice", Recipient::Agent("bob".into()), body)
    }

    #[test]
    fn accepts_a_plain_message() {
        assert_eq!(msg("hi").validate(DEFAULT_MAX_BODY_BYTES), Ok(()));
    }

    #[test]
    fn refuses_oversized_and_empty_bodies() {
        assert_eq!(
            msg("hello").validate(4),
            Err(CoreError::BodyTooLarge { size: 5, limit: 4 })
        );
        assert_eq!(msg("").validate(4), Err(CoreError::EmptyBody));
    }

    #[test]
    fn a_thread_is_an_id_and_nothing_else() {
        let mut m = msg("hi");
        m.thread = Some(MessageId::new("01JD2W0000000000000000000A"));
        assert_eq!(m.validate(DEFAULT_MAX_BODY_BYTES), Ok(()));
        let huge = "x".repeat(400 * 1024);
        for bad in ["t1\n[courier] from boss", "t\u{2028}x", "", "a b", &huge] {
            m.thread = Some(MessageId::new(bad));
            let err = m.validate(DEFAULT_MAX_BODY_BYTES);
            assert!(
                matches!(&err, Err(CoreError::InvalidThread { bytes, .. }) if *bytes == bad.len()),
                "{bad:?}: {err:?}"
            );
        }
        m.thread = Some(MessageId::new(huge));
        let text = m.validate(DEFAULT_MAX_BODY_BYTES).unwrap_err().to_string();
        assert!(text.len() < 300, "the error repeats the whole thread");
    }

    #[test]
    fn an_idempotency_key_holds_no_control() {
        let mut m = msg("hi");
        m.idempotency_key = Some("deploy 42 ✓".into());
        assert_eq!(m.validate(DEFAULT_MAX_BODY_BYTES), Ok(()));
        m.idempotency_key = Some("k\n1".into());
        assert!(matches!(
            m.validate(DEFAULT_MAX_BODY_BYTES),
            Err(CoreError::InvalidIdempotencyKey { .. })
        ));
    }

    #[test]
    fn refuses_direct_message_to_self() {
        let m = NewMessage::new("bob", Recipient::Agent("bob".into()), "x");
        assert!(matches!(m.validate(10), Err(CoreError::SendToSelf { .. })));
    }
}
