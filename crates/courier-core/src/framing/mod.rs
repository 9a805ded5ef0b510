//! What is typed into an agent's terminal for one delivery: a header line
//! naming the sender, the target and the message id (and thread), then the
//! sanitized body. The same for every CLI:
//!
//! ```text
//! [courier] from alice to #ops | msg 01JD2X... | thread 01JD2W...
//! <body>
//! ```
//!
//! For a program that runs what it reads (a shell, a REPL), every line
//! of that text is then made inert in the program's own grammar by a
//! [`Framing`] (see [`inert`]).
//!
//! The target reads `you (direct)` for a direct message, `#name` for a
//! channel and `* (broadcast)` for a broadcast. The thread part appears only
//! on replies.

mod inert;

pub use inert::{Framing, LINE_TERMINATORS, lines};

use crate::ids::MessageId;
use crate::recipient::Recipient;
use crate::sanitize::sanitize_body;

/// The header line of a delivery.
pub fn header(
    from: &str,
    to: &Recipient,
    message_id: &MessageId,
    thread: Option<&MessageId>,
) -> String {
    let target = match to {
        Recipient::Agent(_) => "you (direct)".to_string(),
        Recipient::Channel(name) => format!("#{name}"),
        Recipient::Broadcast => "* (broadcast)".to_string(),
    };
    let mut line = format!("[courier] from {from} to {target} | msg {message_id}");
    if let Some(thread) = thread {
        line.push_str(" | thread ");
        line.push_str(thread.as_str());
    }
    // Names and ids are validated upstream; sanitize anyway so a header can
    // never carry a control character either.
    sanitize_body(&line).into_owned()
}

/// Header line, newline, sanitized body.
pub fn frame(
    from: &str,
    to: &Recipient,
    message_id: &MessageId,
    thread: Option<&MessageId>,
    body: &str,
) -> String {
    let mut text = header(from, to, message_id, thread);
    text.push('\n');
    text.push_str(&sanitize_body(body));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_sender_target_and_ids() {
        let id = MessageId::new("01ABC");
        assert_eq!(
            header("alice", &Recipient::Agent("bob".into()), &id, None),
            "[courier] from alice to you (direct) | msg 01ABC"
        );
        assert_eq!(
            header(
                "alice",
                &Recipient::Channel("ops".into()),
                &id,
                Some(&MessageId::new("01XYZ"))
            ),
            "[courier] from alice to #ops | msg 01ABC | thread 01XYZ"
        );
        assert_eq!(
            header("alice", &Recipient::Broadcast, &id, None),
            "[courier] from alice to * (broadcast) | msg 01ABC"
        );
    }

    #[test]
    fn body_is_sanitized() {
        let text = frame(
            "a",
            &Recipient::Broadcast,
            &MessageId::new("m"),
            None,
            "x\x1b[201~y",
        );
        assert!(text.ends_with("\nx^[[201~y"));
        assert!(!text.contains('\x1b'));
    }
}
