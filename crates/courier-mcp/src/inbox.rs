//! What `read_inbox` hands the model. The broker's rule is that a message
//! delivered through one channel is never also delivered through another:
//! a delivery still queued for the terminal may be typed in later, so
//! showing its text here as well would deliver it twice. So `read_inbox`
//! first claims the queued ones (the broker moves them queued → read,
//! channel `hook`, in one commit, and the terminal task never types them),
//! then lists the inbox, and withholds the text of whatever is still on its
//! way to the terminal (not claimable: held by `manual` mode, past the
//! claim batch, arrived in between, or being typed right now).

use std::collections::HashSet;

use courier_core::DeliveryState;

use crate::types::{Inbox, InboxItem, InboxRead};

/// States in which a delivery may still reach the terminal.
pub fn in_transit(state: &str) -> bool {
    matches!(state, "queued" | "injecting" | "injected")
}

/// States in which the terminal showed (or typed) it and the agent has not
/// confirmed it yet: what `read_inbox` marks read once the model saw it.
pub fn shown_unread(state: &str) -> bool {
    matches!(state, "verified" | "unverified")
}

/// Joins what was claimed and what the inbox lists: each delivery once
/// (claimed ones in `claimed`), bodies in transit withheld.
pub fn assemble(claimed: Inbox, recent: Inbox) -> InboxRead {
    let taken: HashSet<&str> = claimed.deliveries.iter().map(|d| d.id.as_str()).collect();
    let deliveries = recent
        .deliveries
        .into_iter()
        .filter(|d| !taken.contains(d.id.as_str()))
        .map(|d| withhold_in_transit(d.into()))
        .collect();
    let agent = if recent.agent.is_empty() {
        claimed.agent
    } else {
        recent.agent
    };
    InboxRead {
        agent,
        claimed: claimed
            .deliveries
            .into_iter()
            .map(InboxItem::from)
            .collect(),
        deliveries,
        mode: None,
        listing_error: None,
    }
}

fn withhold_in_transit(mut item: InboxItem) -> InboxItem {
    if in_transit(item.delivery.state.as_str()) {
        if let Some(message) = &mut item.delivery.message {
            message.body.clear();
        }
        item.body_withheld = true;
    }
    item
}

/// Whether any listed delivery is queued with its text withheld (then the
/// agent's mode explains why, so it is worth asking for).
pub fn has_withheld_queued(view: &InboxRead) -> bool {
    view.deliveries
        .iter()
        .any(|i| i.body_withheld && i.delivery.state == DeliveryState::Queued)
}

/// The deliveries to mark read: shown in full here and already typed in.
pub fn to_mark_read(view: &InboxRead) -> Vec<String> {
    view.deliveries
        .iter()
        .filter(|i| !i.body_withheld && shown_unread(i.delivery.state.as_str()))
        .map(|i| i.delivery.id.as_str().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::DeliveryView;

    /// A delivery to bob with its message, as the broker lists it.
    fn item(id: &str, state: &str) -> DeliveryView {
        serde_json::from_value(serde_json::json!({
            "id": id, "message_id": format!("m-{id}"), "agent": "bob", "from": "alice",
            "state": state, "attempt": 0, "verification": null, "reason": null,
            "channel": null, "read_at": null,
            "created_at": "2026-01-02T03:04:05.000Z", "updated_at": "2026-01-02T03:04:05.000Z",
            "message": {
                "id": format!("m-{id}"), "from": "alice", "to": "bob",
                "body": format!("body of {id}"), "created_at": "2026-01-02T03:04:05.000Z",
            },
        }))
        .unwrap()
    }

    fn body(item: &InboxItem) -> &str {
        item.delivery
            .message
            .as_ref()
            .map_or("", |m| m.body.as_str())
    }

    fn inbox(items: Vec<DeliveryView>) -> Inbox {
        Inbox {
            agent: "bob".into(),
            deliveries: items,
        }
    }

    #[test]
    fn claimed_ones_appear_once_and_in_transit_bodies_are_withheld() {
        let mut claimed_now = item("d3", "read");
        claimed_now.channel = Some(courier_core::DeliveryChannel::Hook);
        let claimed = inbox(vec![claimed_now.clone()]);
        let recent = inbox(vec![
            item("d5", "injecting"),
            item("d4", "queued"),
            claimed_now,
            item("d2", "verified"),
            item("d1", "dropped"),
        ]);
        let view = assemble(claimed, recent);
        assert_eq!(view.agent, "bob");
        assert_eq!(view.claimed.len(), 1);
        assert_eq!(body(&view.claimed[0]), "body of d3");
        let ids: Vec<&str> = view
            .deliveries
            .iter()
            .map(|i| i.delivery.id.as_str())
            .collect();
        assert_eq!(ids, ["d5", "d4", "d2", "d1"]);
        let bodies: Vec<(&str, bool)> = view
            .deliveries
            .iter()
            .map(|i| (body(i), i.body_withheld))
            .collect();
        assert_eq!(
            bodies,
            [
                ("", true),
                ("", true),
                ("body of d2", false),
                ("body of d1", false)
            ]
        );
        assert!(has_withheld_queued(&view));
        // Only what the terminal showed is marked: never a withheld one,
        // never a dropped one, and claimed ones are read already.
        assert_eq!(to_mark_read(&view), ["d2"]);
    }

    #[test]
    fn the_withheld_flag_is_only_on_the_wire_when_set() {
        let view = assemble(
            Inbox::default(),
            inbox(vec![item("d2", "queued"), item("d1", "unverified")]),
        );
        let wire = serde_json::to_value(&view).unwrap();
        assert_eq!(wire["deliveries"][0]["body_withheld"], true);
        assert_eq!(wire["deliveries"][0]["message"]["body"], "");
        assert!(wire["deliveries"][1].get("body_withheld").is_none());
        assert_eq!(to_mark_read(&view), ["d1"]);
        assert!(has_withheld_queued(&view));
        let none = assemble(Inbox::default(), inbox(vec![item("d1", "injected")]));
        assert!(!has_withheld_queued(&none));
    }
}
