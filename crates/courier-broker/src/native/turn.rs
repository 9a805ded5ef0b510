//! What every native protocol reports of a turn, in the same words: what
//! the agent streamed ([`Update`]) and how the turn that carries a message
//! ended ([`PromptAnswer`]). `delivery/native.rs` decides what that means
//! for the delivery.

/// Something the agent streamed about the running turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// Part of the agent's reply (ACP `agent_message_chunk`, a stream-json
    /// `assistant` text block).
    MessageChunk(String),
    /// A tool call started or changed (ACP `tool_call`, `tool_call_update`;
    /// a stream-json `tool_use` block: its id and tool name).
    ToolCall {
        id: String,
        title: Option<String>,
        status: Option<String>,
    },
}

/// How the turn that carries a message ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptAnswer {
    /// The turn that carries the prompt ended with this stop reason (ACP's
    /// `stopReason`; `end_turn` or `cancelled` for stream-json).
    Stopped(String),
    /// The request failed: the agent did not take the prompt.
    Error(String),
    /// The turn that carries the prompt ended failed (a stream-json
    /// `result` with `is_error`): the CLI's errors.
    TurnFailed(String),
    /// A turn ended, but the protocol never tied it to this message.
    Unproven(String),
    /// The agent's output ended before it answered.
    Closed(String),
    /// Nothing was taken, and nothing needs proving: a steer that found
    /// the turn already over. The delivery goes back to the queue.
    NotTaken(String),
}
