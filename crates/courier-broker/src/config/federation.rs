//! How a broker joins a workspace, and the NATS names that follow from it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// This broker's default host id: the machine's host name and a short hash
/// of the state directory's absolute path (`box-1a2b3c`). Two brokers on
/// one machine have two state directories, so they no longer share an id
/// (and consume each other's inbox); one broker restarted on the same
/// directory keeps its id. `--host-id` still names it outright.
pub fn default_host_id(hostname: &str, state_dir: &Path) -> String {
    let path = std::path::absolute(state_dir).unwrap_or_else(|_| state_dir.to_path_buf());
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    let hash: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    let name: String = hostname
        .trim()
        .chars()
        .map(|c| if is_token_char(c) { c } else { '-' })
        .take(64 - hash.len() - 1)
        .collect();
    if name.is_empty() {
        format!("host-{hash}")
    } else {
        format!("{name}-{hash}")
    }
}

/// `courier up --nats URL --workspace NAME --host-id ID` and the NATS
/// client's credentials and TLS options.
#[derive(Debug, Clone)]
pub struct FederationConfig {
    /// One or more server URLs, comma separated (`nats://host:4222`).
    pub url: String,
    pub workspace: String,
    /// This broker's name in the workspace (unique per broker).
    pub host: String,
    /// A `.creds` file (JWT + NKey seed).
    pub creds: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// CA certificate(s) to trust (PEM).
    pub tls_ca: Option<PathBuf>,
    /// Client certificate and key (PEM), for mutual TLS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub require_tls: bool,
    /// Stream and bucket replicas (3 in a cluster).
    pub replicas: usize,
    /// The nats-server monitoring URL (`http://host:8222`), to check at
    /// join that JetStream syncs every write.
    pub monitor: Option<String>,
}

impl FederationConfig {
    pub fn new(url: &str, workspace: &str, host: &str) -> FederationConfig {
        FederationConfig {
            url: url.to_string(),
            workspace: workspace.to_string(),
            host: host.to_string(),
            creds: None,
            user: None,
            password: None,
            token: None,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            require_tls: false,
            replicas: 1,
            monitor: None,
        }
    }

    /// Refuses names NATS subjects, stream and bucket names cannot carry.
    pub fn validate(&self) -> Result<(), String> {
        let refuse = |problem: String| Err(problem);
        for (what, value) in [("workspace", &self.workspace), ("host id", &self.host)] {
            if !is_token(value) {
                return refuse(format!(
                    "the {what} {value:?} must be 1 to 64 letters, digits, '-' or '_'"
                ));
            }
        }
        if self.url.trim().is_empty() {
            return refuse("the NATS URL is empty".into());
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return refuse("give both --nats-tls-cert and --nats-tls-key, or neither".into());
        }
        if !(1..=5).contains(&self.replicas) {
            return refuse(format!("--nats-replicas {} must be 1 to 5", self.replicas));
        }
        Ok(())
    }

    pub fn names(&self) -> Names {
        Names::new(&self.workspace, &self.host)
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(is_token_char)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Subjects, streams, consumers and the bucket of one workspace, seen
/// from one host. See docs/federation.md for the layout.
#[derive(Debug, Clone)]
pub struct Names {
    pub workspace: String,
    pub host: String,
    prefix: String,
}

impl Names {
    pub fn new(workspace: &str, host: &str) -> Names {
        Names {
            workspace: workspace.to_string(),
            host: host.to_string(),
            prefix: format!("courier.{workspace}"),
        }
    }

    /// Deliveries forwarded to `host`.
    pub fn inbox(&self, host: &str) -> String {
        format!("{}.inbox.{host}", self.prefix)
    }

    /// Outcome events of deliveries `host` forwarded.
    pub fn outcome(&self, host: &str) -> String {
        format!("{}.outcome.{host}", self.prefix)
    }

    /// Heartbeats of `host` (core NATS, not stored).
    pub fn presence(&self, host: &str) -> String {
        format!("{}.presence.{host}", self.prefix)
    }

    pub fn inbox_stream(&self) -> String {
        format!("COURIER_{}_INBOX", self.workspace)
    }

    pub fn outcome_stream(&self) -> String {
        format!("COURIER_{}_OUTCOMES", self.workspace)
    }

    pub fn bucket(&self) -> String {
        format!("courier_{}_agents", self.workspace)
    }

    pub fn inbox_consumer(&self) -> String {
        format!("inbox-{}", self.host)
    }

    pub fn outcome_consumer(&self) -> String {
        format!("outcome-{}", self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_host_id_is_per_state_directory_and_stable() {
        let a = default_host_id("box.lan", Path::new("/home/me/.local/state/courier"));
        let again = default_host_id("box.lan", Path::new("/home/me/.local/state/courier"));
        let b = default_host_id("box.lan", Path::new("/home/me/other-state"));
        assert_eq!(a, again);
        assert_ne!(a, b);
        assert!(a.starts_with("box-lan-"), "{a}");
        for id in [&a, &b, &default_host_id("", Path::new("/s"))] {
            let config = FederationConfig::new("nats://127.0.0.1:4222", "w", id);
            assert!(config.validate().is_ok(), "{id}");
        }
        let long = default_host_id(&"x".repeat(200), Path::new("/s"));
        assert!(long.len() <= 64, "{long}");
    }

    #[test]
    fn names_are_per_workspace_and_host() {
        let n = Names::new("team", "laptop");
        assert_eq!(n.inbox("box"), "courier.team.inbox.box");
        assert_eq!(n.outcome("laptop"), "courier.team.outcome.laptop");
        assert_eq!(n.presence("*"), "courier.team.presence.*");
        assert_eq!(n.inbox_stream(), "COURIER_team_INBOX");
        assert_eq!(n.bucket(), "courier_team_agents");
        assert_eq!(n.inbox_consumer(), "inbox-laptop");
    }

    #[test]
    fn names_that_break_subjects_are_refused() {
        let ok = FederationConfig::new("nats://127.0.0.1:4222", "team", "h-1");
        assert!(ok.validate().is_ok());
        for (ws, host) in [
            ("a.b", "h"),
            ("team", "h*"),
            ("", "h"),
            ("team", "with space"),
        ] {
            let c = FederationConfig::new("nats://x", ws, host);
            assert!(c.validate().is_err(), "{ws:?} {host:?}");
        }
        let mut half_tls = ok.clone();
        half_tls.tls_cert = Some("c.pem".into());
        assert!(half_tls.validate().is_err());
    }
}
