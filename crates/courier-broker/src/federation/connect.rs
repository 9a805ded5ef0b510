//! The NATS client, and the workspace's streams and bucket, created if
//! absent; the checks at join (JetStream on, writes synced).

use std::time::Duration;

use async_nats::jetstream::{kv, stream};
use async_nats::{ConnectOptions, ServerAddr};

use super::local::Local;
use super::membership::Federation;
use super::util::{backoff, pause};
use crate::config::federation::FederationConfig;
use crate::error::federation::FederationError;

/// JetStream drops a republished forward with the same `Nats-Msg-Id`
/// within this window; past it the receiver's store recognises the
/// delivery id (it keeps every id it committed), so the window only saves
/// work, never decides.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(600);

/// A client that connects in the background (and reconnects for ever):
/// a broker starts and serves its own agents whether NATS is up or not.
pub async fn client(config: &FederationConfig) -> Result<async_nats::Client, FederationError> {
    connect(config, true).await
}

async fn connect(
    config: &FederationConfig,
    in_background: bool,
) -> Result<async_nats::Client, FederationError> {
    let addrs = config
        .url
        .split(',')
        .map(|u| u.trim().parse::<ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FederationError::Url {
            url: redacted(&config.url),
            source: Box::new(e),
        })?;
    let mut options = ConnectOptions::new().name(format!("courier {}", config.host));
    if in_background {
        options = options.retry_on_initial_connect().max_reconnects(None);
    }
    let mut options = options
        .connection_timeout(Duration::from_secs(2))
        .ping_interval(Duration::from_secs(5))
        .reconnect_delay_callback(|attempts| backoff(attempts as u32, Duration::from_secs(2)))
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("NATS connected"),
                async_nats::Event::Disconnected => tracing::warn!("NATS disconnected"),
                other => tracing::debug!(event = %other, "NATS"),
            }
        });
    if let Some(path) = &config.creds {
        options = options.credentials_file(path).await.map_err(|source| {
            FederationError::Credentials {
                path: path.clone(),
                source,
            }
        })?;
    }
    if let (Some(user), Some(password)) = (&config.user, &config.password) {
        options = options.user_and_password(user.clone(), password.clone());
    }
    if let Some(token) = &config.token {
        options = options.token(token.clone());
    }
    if let Some(ca) = &config.tls_ca {
        options = options.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    if config.require_tls {
        options = options.require_tls(true);
    }
    options
        .connect(addrs)
        .await
        .map_err(|e| FederationError::Connect {
            url: redacted(&config.url),
            source: Box::new(e),
        })
}

/// A URL with any `user:password@` hidden, for logs and the API.
pub fn redacted(url: &str) -> String {
    url.split(',')
        .map(|u| match (u.find("://"), u.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}://***@{}", &u[..scheme], &u[at + 1..])
            }
            _ => u.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Creates (or finds) the streams and the bucket, retrying with backoff
/// while NATS is unreachable or JetStream is off. `None` if the broker
/// stopped first.
pub async fn setup_until_ready(local: &Local, federation: &Federation) -> Option<kv::Store> {
    let mut attempt = 0;
    let mut warned = false;
    loop {
        match setup(federation).await {
            Ok(kv) => {
                check_sync(federation).await;
                return Some(kv);
            }
            Err(e) => {
                if !warned || attempt % 20 == 0 {
                    tracing::warn!(error = %e, url = %redacted(&federation.inner.config.url), "cannot join the workspace yet; retrying (local agents are served meanwhile)");
                    warned = true;
                }
            }
        }
        attempt += 1;
        if !pause(local, backoff(attempt, Duration::from_secs(5))).await {
            return None;
        }
    }
}

async fn setup(federation: &Federation) -> Result<kv::Store, FederationError> {
    let js = federation.js();
    let names = federation.names();
    let replicas = federation.inner.config.replicas;
    if let Err(e) = js.query_account().await {
        return Err(FederationError::NoJetStream {
            source: Box::new(e),
        });
    }
    for (name, subject) in [
        (names.inbox_stream(), names.inbox("*")),
        (names.outcome_stream(), names.outcome("*")),
    ] {
        js.get_or_create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![subject],
            // A message is gone once its host acked it (after its commit).
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            num_replicas: replicas,
            duplicate_window: DEDUP_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(|e| FederationError::Stream {
            stream: name.clone(),
            source: Box::new(e),
        })?;
    }
    let bucket = names.bucket();
    match js.get_key_value(&bucket).await {
        Ok(kv) => Ok(kv),
        Err(_) => js
            .create_key_value(kv::Config {
                bucket: bucket.clone(),
                history: 1,
                storage: stream::StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| FederationError::Bucket {
                bucket: bucket.clone(),
                source: Box::new(e),
            }),
    }
}

/// JetStream acknowledges before fsync unless the server syncs every write
/// (`sync_interval: always`). Courier does not rely on it (a forward is
/// retried until the receiver's commit is acknowledged), but a warning
/// says what the recommended setting is.
async fn check_sync(federation: &Federation) {
    let Some(monitor) = &federation.inner.config.monitor else {
        tracing::info!(
            "JetStream's sync setting is not checked (give --nats-monitor http://host:8222 to check it); recommended: sync_interval: always"
        );
        return;
    };
    match synced(monitor).await {
        Ok(Synced::Always) => tracing::info!(%monitor, "JetStream syncs every write"),
        Ok(Synced::NoJetStream) => {
            tracing::warn!(%monitor, "nats-server reports no JetStream configuration")
        }
        Ok(Synced::Every(interval)) => tracing::warn!(
            %monitor,
            sync_interval_ns = %interval,
            "JetStream acknowledges writes before they reach the disk ({SYNC_ADVICE})"
        ),
        Err(e) => {
            tracing::warn!(%monitor, error = %e, "cannot read nats-server's monitoring endpoint")
        }
    }
}

const SYNC_ADVICE: &str = "set sync_interval: always in nats-server's jetstream block; Courier retries forwards until the receiver's commit, so this loses no message, but the stream's own copy can be lost on power failure";

/// What nats-server's `/varz` says of JetStream's syncing.
enum Synced {
    Always,
    /// Every this many nanoseconds (as nats-server reports it).
    Every(serde_json::Value),
    NoJetStream,
}

async fn synced(monitor: &str) -> Result<Synced, FederationError> {
    let url = format!("{}/varz", monitor.trim_end_matches('/'));
    let unreadable = |source| FederationError::Monitor {
        url: url.clone(),
        source,
    };
    let varz = reqwest::Client::new()
        .get(&url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .map_err(unreadable)?
        .json::<serde_json::Value>()
        .await
        .map_err(unreadable)?;
    let config = &varz["jetstream"]["config"];
    Ok(if config.is_null() {
        Synced::NoJetStream
    } else if config["sync_always"].as_bool() == Some(true) {
        Synced::Always
    } else {
        Synced::Every(config["sync_interval"].clone())
    })
}

/// One finding of [`probe`], as `courier doctor` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub name: &'static str,
    pub level: FindingLevel,
    pub detail: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingLevel {
    Ok,
    Warn,
    Fail,
}

fn finding(name: &'static str, level: FindingLevel, detail: String, hint: Option<&str>) -> Finding {
    Finding {
        name,
        level,
        detail,
        hint: hint.map(str::to_string),
    }
}

/// What `courier doctor` checks of a workspace's NATS before a broker
/// joins it: the server answers (within a few seconds, no retry), JetStream
/// is on, and (given the monitoring URL) it syncs every write. Creates
/// nothing.
// Long: the checklist `courier doctor` prints, one finding after another.
pub async fn probe(config: &FederationConfig) -> Vec<Finding> {
    use FindingLevel::{Fail, Ok as Good, Warn};
    let url = redacted(&config.url);
    let client = match tokio::time::timeout(Duration::from_secs(5), connect(config, false)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            return vec![finding(
                "nats",
                Fail,
                e.to_string(),
                Some("is nats-server running there, and are the credentials right?"),
            )];
        }
        Err(_) => {
            return vec![finding(
                "nats",
                Fail,
                format!("{url} did not answer within 5 s"),
                Some("is nats-server running there?"),
            )];
        }
    };
    let mut findings = vec![finding("nats", Good, format!("{url} answers"), None)];
    let js = async_nats::jetstream::new(client);
    findings.push(match js.query_account().await {
        Ok(account) => finding(
            "jetstream",
            Good,
            format!("on ({} streams in this account)", account.streams),
            None,
        ),
        Err(e) => finding(
            "jetstream",
            Fail,
            format!("not available: {e}"),
            Some("start nats-server with JetStream on (-js, or a jetstream {} block)"),
        ),
    });
    findings.push(match &config.monitor {
        None => finding(
            "jetstream sync",
            Good,
            "not checked (give --nats-monitor http://host:8222 to check it)".to_string(),
            None,
        ),
        Some(monitor) => match synced(monitor).await {
            Ok(Synced::Always) => finding(
                "jetstream sync",
                Good,
                "every write (sync_interval: always)".to_string(),
                None,
            ),
            Ok(Synced::Every(ns)) => finding(
                "jetstream sync",
                Warn,
                format!("acknowledges before the disk (sync_interval {ns} ns)"),
                Some(SYNC_ADVICE),
            ),
            Ok(Synced::NoJetStream) => finding(
                "jetstream sync",
                Warn,
                "the monitoring endpoint reports no JetStream".to_string(),
                None,
            ),
            Err(e) => finding(
                "jetstream sync",
                Warn,
                format!("cannot read it: {e}"),
                Some("is the monitoring port on (-m 8222)?"),
            ),
        },
    });
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redacted("nats://me:secret@h:4222,nats://h2:4222"),
            "nats://***@h:4222,nats://h2:4222"
        );
        assert_eq!(redacted("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }
}
