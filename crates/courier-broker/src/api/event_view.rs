//! What of an event a reader may see.
//!
//! Some events carry the last rows of an agent's screen (`delivery_stuck`,
//! an unverified `delivery_verified`, `delivery_on_screen` not shown,
//! `agent_crashed`). A screen shows the
//! messages that agent was sent, as they were typed in, so it follows the
//! rule of `GET /v1/agents/{name}/screen`: the screen of agent X is for the
//! owner, observers, and X itself. Any other agent's token gets the same
//! event with its `screen` rows emptied (the event itself — that a delivery
//! is stuck, that an agent crashed — stays shared, like the agent list).

use courier_core::{Event, EventKind};

use super::identity::Identity;

/// The agent whose screen rows `kind` carries, and those rows.
fn screen_rows(kind: &mut EventKind) -> Option<(&str, &mut Vec<String>)> {
    match kind {
        EventKind::DeliveryVerified { agent, screen, .. }
        | EventKind::DeliveryStuck { agent, screen, .. }
        | EventKind::DeliveryOnScreen { agent, screen, .. } => Some((agent.as_str(), screen)),
        EventKind::AgentCrashed { name, screen, .. } => Some((name.as_str(), screen)),
        _ => None,
    }
}

/// `event` as `reader` may see it.
pub fn for_reader(mut event: Event, reader: &Identity) -> Event {
    if let Identity::Agent(me) = reader
        && let Some((agent, rows)) = screen_rows(&mut event.kind)
        && agent != me.as_str()
    {
        rows.clear();
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use courier_core::Timestamp;

    fn crashed(name: &str) -> Event {
        Event {
            seq: 1,
            time: Timestamp(0),
            kind: EventKind::AgentCrashed {
                name: name.into(),
                code: Some(1),
                signal: None,
                screen: vec!["secret row".into()],
                restart_in_ms: None,
            },
        }
    }

    fn rows(event: &Event) -> Vec<String> {
        match &event.kind {
            EventKind::AgentCrashed { screen, .. } => screen.clone(),
            _ => unreachable!("a crash event"),
        }
    }

    #[test]
    fn screen_rows_go_to_the_owner_observers_and_the_agent_itself() {
        let full = vec!["secret row".to_string()];
        assert_eq!(rows(&for_reader(crashed("bob"), &Identity::Owner)), full);
        assert_eq!(
            rows(&for_reader(
                crashed("bob"),
                &Identity::Observer("t1".into())
            )),
            full
        );
        assert_eq!(
            rows(&for_reader(crashed("bob"), &Identity::Agent("bob".into()))),
            full
        );
        assert!(
            rows(&for_reader(
                crashed("bob"),
                &Identity::Agent("alice".into())
            ))
            .is_empty()
        );
    }
}
