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

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    fn refuses_direct_message_to_self() {
        let m = NewMessage::new("bob", Recipient::Agent("bob".into()), "x");
        assert!(matches!(m.validate(10), Err(CoreError::SendToSelf { .. })));
    }
}
