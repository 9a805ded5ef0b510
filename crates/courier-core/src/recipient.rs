//! Where a message goes: one agent, a `#channel`, or `*` (every agent).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::CoreError;

const MAX_NAME_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recipient {
    /// A direct message to one agent.
    Agent(String),
    /// Every member of a channel (the name is stored without its `#`).
    Channel(String),
    /// Every agent.
    Broadcast,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// The rule of a name, also used for the ids a client may give (`thread`).
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.chars().all(is_name_char)
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Checks an agent name: 1-64 of `[A-Za-z0-9._-]`, starting with a letter or digit.
pub fn validate_agent_name(name: &str) -> Result<(), CoreError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(CoreError::InvalidAgentName {
            name: name.to_string(),
        })
    }
}

/// Checks a channel name given with or without its leading `#`.
pub fn validate_channel_name(name: &str) -> Result<String, CoreError> {
    let bare = name.strip_prefix('#').unwrap_or(name);
    if is_valid_name(bare) {
        Ok(bare.to_string())
    } else {
        Err(CoreError::InvalidChannelName {
            name: name.to_string(),
        })
    }
}

impl FromStr for Recipient {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            Ok(Recipient::Broadcast)
        } else if s.starts_with('#') {
            validate_channel_name(s).map(Recipient::Channel)
        } else {
            validate_agent_name(s).map(|()| Recipient::Agent(s.to_string()))
        }
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Agent(name) => f.write_str(name),
            Recipient::Channel(name) => write!(f, "#{name}"),
            Recipient::Broadcast => f.write_str("*"),
        }
    }
}

impl Serialize for Recipient {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Recipient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// On the wire the text a sender writes: `name`, `#channel` or `*`.
impl schemars::JsonSchema for Recipient {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Recipient".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An agent's name, `#channel` (every member but the sender) or `*` (every other agent)."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        assert_eq!("*".parse::<Recipient>().unwrap(), Recipient::Broadcast);
        assert_eq!(
            "#ops".parse::<Recipient>().unwrap(),
            Recipient::Channel("ops".into())
        );
        assert_eq!(
            "alice".parse::<Recipient>().unwrap(),
            Recipient::Agent("alice".into())
        );
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["", "#", "a b", "-x", "#a/b", "né", &"x".repeat(65)] {
            assert!(bad.parse::<Recipient>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["*", "#ops", "bob.2"] {
            assert_eq!(text.parse::<Recipient>().unwrap().to_string(), text);
        }
    }
}
