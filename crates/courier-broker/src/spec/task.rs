//! A spawn's initial task: a durable message to the new agent, committed
//! with the spawn, keyed so a retried spawn cannot send it twice.

use courier_core::{NewMessage, Recipient};

/// The sender of an initial task.
pub const TASK_SENDER: &str = "courier";
/// The longest spawn key (`Idempotency-Key` of a spawn request) accepted.
pub const MAX_SPAWN_KEY: usize = 128;

/// The initial task as a message to the agent. Its idempotency key comes
/// from the agent's name and the spawn (`spawn_key`: the spawn request's
/// `Idempotency-Key`, else unique to this spawn), so a retried spawn
/// cannot send it twice.
pub fn task_message(name: &str, text: &str, spawn_key: &str) -> NewMessage {
    // A message to oneself is refused; an agent named like the sender
    // gets its task from "human" instead.
    let from = if name == TASK_SENDER {
        "human"
    } else {
        TASK_SENDER
    };
    let mut message = NewMessage::new(from, Recipient::Agent(name.to_string()), text);
    message.idempotency_key = Some(format!("spawn:{name}:{spawn_key}"));
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_key_names_the_agent_and_the_spawn() {
        let m = task_message("bob", "do it", "k1");
        assert_eq!(m.from, TASK_SENDER);
        assert_eq!(m.idempotency_key.as_deref(), Some("spawn:bob:k1"));
        assert_eq!(task_message("courier", "x", "k").from, "human");
        assert!(m.validate(1024).is_ok());
    }
}
