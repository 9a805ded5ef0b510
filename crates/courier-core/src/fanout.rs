//! Who receives a message. A channel or broadcast message fans out into one
//! delivery per member, never to its own sender.

use std::collections::BTreeSet;

use crate::error::CoreError;
use crate::recipient::Recipient;

/// The agents a message goes to, sorted and without duplicates.
///
/// - `agents`: every known agent (for a direct message and for `*`);
/// - `channel_members`: the members of the channel when `to` is a channel.
///
/// A direct message to an unknown agent is an error; a channel with no other
/// member yields no recipient (the message is still accepted).
pub fn recipients<'a>(
    from: &str,
    to: &Recipient,
    agents: impl IntoIterator<Item = &'a str>,
    channel_members: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, CoreError> {
    let chosen: BTreeSet<&str> = match to {
        Recipient::Agent(name) => {
            if name == from {
                return Err(CoreError::SendToSelf { name: name.clone() });
            }
            if !agents.into_iter().any(|a| a == name) {
                return Err(CoreError::UnknownAgent { name: name.clone() });
            }
            BTreeSet::from([name.as_str()])
        }
        Recipient::Channel(_) => channel_members.into_iter().filter(|a| *a != from).collect(),
        Recipient::Broadcast => agents.into_iter().filter(|a| *a != from).collect(),
    };
    Ok(chosen.into_iter().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENTS: [&str; 3] = ["alice", "bob", "carol"];

    #[test]
    fn direct_message_goes_to_one_known_agent() {
        let to = Recipient::Agent("bob".into());
        assert_eq!(recipients("alice", &to, AGENTS, []).unwrap(), ["bob"]);
        let unknown = Recipient::Agent("dave".into());
        assert!(matches!(
            recipients("alice", &unknown, AGENTS, []),
            Err(CoreError::UnknownAgent { .. })
        ));
    }

    #[test]
    fn broadcast_and_channel_skip_the_sender() {
        assert_eq!(
            recipients("alice", &Recipient::Broadcast, AGENTS, []).unwrap(),
            ["bob", "carol"]
        );
        let ch = Recipient::Channel("ops".into());
        assert_eq!(
            recipients("carol", &ch, AGENTS, ["carol", "alice", "alice"]).unwrap(),
            ["alice"]
        );
        assert!(
            recipients("carol", &ch, AGENTS, ["carol"])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_person_outside_the_agent_list_may_broadcast() {
        assert_eq!(
            recipients("human", &Recipient::Broadcast, AGENTS, []).unwrap(),
            AGENTS
        );
    }
}
