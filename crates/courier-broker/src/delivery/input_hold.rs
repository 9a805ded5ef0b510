//! Nothing is typed into an agent whose input holds text: a person's draft,
//! or a message that was typed but never left the input (`not_submitted`).
//! Two messages in one input become one prompt, and a draft typed into is a
//! person's work spoiled.
//!
//! A draft (text after the prompt) holds deliveries while it is there. A
//! message that was not submitted holds them until the input is seen
//! *empty* (a prompt with nothing after it): a person can look, press Enter
//! or clear it, and deliveries resume by themselves. A person typing holds
//! them too, for the typing window after each keystroke (see
//! `agents/typing.rs`), whatever the screen shows.
//!
//! Each change is shown in the agent's status (`held`) and raised as an
//! event: `agent_held` with the reason when the agent becomes held (or the
//! reason changes), `agent_unheld` when deliveries may go again.

use courier_core::event::EventKind;
use courier_terminal::Snapshot;
use courier_terminal::input_line::{self, Hold};
use courier_terminal::verify::Expectation;
use regex::Regex;

use crate::agents::context::AgentContext;

/// Shows `hold` as the agent's held reason, and records the change.
pub(crate) async fn set_held(ctx: &AgentContext, hold: Option<String>) {
    let before = ctx.status.borrow().held.clone();
    if before == hold {
        return;
    }
    ctx.status.send_modify(|s| s.held = hold.clone());
    let name = ctx.spec.name.clone();
    let kind = match hold {
        Some(reason) => {
            tracing::info!(why = %reason, "deliveries held");
            EventKind::AgentHeld { name, reason }
        }
        None => {
            tracing::info!("deliveries no longer held");
            EventKind::AgentUnheld { name }
        }
    };
    if let Err(e) = ctx.store.append_event_async(kind).await {
        tracing::warn!(error = %e, "cannot record that deliveries are held or released");
    }
}

/// Why deliveries to an agent wait, or `None` when its input takes one.
/// `left_over`: the text of a message of ours that was not submitted. The
/// rule is the terminal crate's ([`input_line::hold`]), built on the same
/// check as the submission verdict, so a delivery called verified is never
/// found held in the input here.
pub fn holds(
    snap: &Snapshot,
    prompt: Option<&Regex>,
    left_over: Option<&Expectation>,
) -> Option<String> {
    match input_line::hold(snap, prompt, false, left_over)? {
        Hold::Draft => Some(
            "input_not_empty: text is typed after the prompt (a draft); deliveries wait until it is submitted or cleared".into(),
        ),
        Hold::LeftOver => Some(
            "input_not_empty: a message typed into this agent was never submitted; deliveries wait until its input is empty (press Enter or clear it)".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_end(row: &str) -> Snapshot {
        let mut snap = courier_terminal::screen::ScreenState::new(3, 60, 0);
        snap.feed(row.as_bytes(), std::time::Instant::now());
        snap.snapshot(0)
    }

    #[test]
    fn a_draft_holds_while_there_a_left_over_until_the_input_is_empty() {
        let empty = at_end("> ");
        let draft = at_end("> half a thought");
        let continued = at_end("... ");
        let unknown = at_end("  something");
        let ours = Expectation::new("[courier] from a to b (direct) | msg 01X", vec![]);
        let left = Some(&ours);
        assert_eq!(holds(&empty, None, None), None);
        assert_eq!(holds(&unknown, None, None), None);
        assert!(holds(&draft, None, None).is_some_and(|w| w.contains("draft")));
        for screen in [&draft, &continued, &unknown] {
            assert!(holds(screen, None, left).is_some_and(|w| w.contains("never submitted")));
        }
        assert_eq!(holds(&empty, None, left), None);
    }
}
