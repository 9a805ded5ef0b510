//! Who this MCP server speaks for: the broker's URL, the agent's name and
//! its token, from the environment the broker gave the agent.

use thiserror::Error;

pub const URL_VAR: &str = "COURIER_URL";
pub const AGENT_VAR: &str = "COURIER_AGENT";
pub const TOKEN_VAR: &str = "COURIER_TOKEN";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "{0} is not set: `courier mcp` must be started by an agent that Courier spawned \
         (the broker sets COURIER_URL, COURIER_AGENT and COURIER_TOKEN in its environment)"
    )]
    Missing(&'static str),
    #[error("{0} is set but empty")]
    Empty(&'static str),
}

/// The agent identity this server acts as. It can only ever send as
/// `agent`: the broker ties the token to that name.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub url: String,
    pub agent: String,
    pub token: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.url)
            .field("agent", &self.agent)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Config {
    /// Reads `COURIER_URL`, `COURIER_AGENT` and `COURIER_TOKEN`.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Same, with any source of variables (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &'static str| -> Result<String, ConfigError> {
            let value = lookup(name).ok_or(ConfigError::Missing(name))?;
            let value = value.trim().to_string();
            if value.is_empty() {
                return Err(ConfigError::Empty(name));
            }
            Ok(value)
        };
        Ok(Config {
            url: get(URL_VAR)?.trim_end_matches('/').to_string(),
            agent: get(AGENT_VAR)?,
            token: get(TOKEN_VAR)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn reads_all_three_and_trims_the_url() {
        let config = Config::from_lookup(lookup(&[
            (URL_VAR, "http://127.0.0.1:7777/"),
            (AGENT_VAR, "alice"),
            (TOKEN_VAR, "secret"),
        ]))
        .unwrap();
        assert_eq!(config.url, "http://127.0.0.1:7777");
        assert_eq!(config.agent, "alice");
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn names_the_missing_variable() {
        let err =
            Config::from_lookup(lookup(&[(URL_VAR, "http://x"), (AGENT_VAR, "a")])).unwrap_err();
        assert_eq!(err, ConfigError::Missing(TOKEN_VAR));
        assert!(err.to_string().contains("COURIER_TOKEN is not set"));
        let err = Config::from_lookup(lookup(&[
            (URL_VAR, "http://x"),
            (AGENT_VAR, " "),
            (TOKEN_VAR, "t"),
        ]))
        .unwrap_err();
        assert_eq!(err, ConfigError::Empty(AGENT_VAR));
    }
}
