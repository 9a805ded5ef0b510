//! Errors of the pure layer: a request that breaks a rule of the spec.

use crate::acl::Refusal;
use crate::delivery::DeliveryState;
use crate::ids::DeliveryId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error(
        "invalid agent name {name:?}: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit"
    )]
    InvalidAgentName { name: String },
    #[error("invalid channel name {name:?}: use '#' then 1-64 letters, digits, '-', '_' or '.'")]
    InvalidChannelName { name: String },
    #[error("message body is {size} bytes, over the limit of {limit} bytes")]
    BodyTooLarge { size: usize, limit: usize },
    #[error("message body is empty")]
    EmptyBody,
    #[error("idempotency key is {size} bytes, over the limit of {limit} bytes")]
    IdempotencyKeyTooLong { size: usize, limit: usize },
    #[error(
        "invalid thread {shown:?} ({bytes} bytes): a thread is the id of the message it answers, 1-64 letters, digits, '-', '_' or '.'"
    )]
    InvalidThread {
        /// The start of the thread (it may be huge), for the message.
        shown: String,
        bytes: usize,
    },
    #[error("idempotency key {key:?} holds a control character; use printable text")]
    InvalidIdempotencyKey { key: String },
    #[error("agent {name:?} cannot send a direct message to itself")]
    SendToSelf { name: String },
    #[error(
        "{from:?} may not send to {to:?}: refused by the ACL rule {rule:?}; nothing was queued"
    )]
    AclDenied {
        from: String,
        to: String,
        rule: String,
        refused: Vec<Refusal>,
    },
    #[error("no agent named {name:?}")]
    UnknownAgent { name: String },
    #[error("delivery {id} is {from}; it cannot {transition}")]
    InvalidTransition {
        id: DeliveryId,
        from: DeliveryState,
        transition: &'static str,
    },
}
