//! What federation fails at: each variant names the part of NATS (or of
//! the store) that failed, with its source, so a log line says where to
//! look. Federation's loops retry on any of them; at the start they are
//! the broker's (`Fault::Federation`), never a client's.

use std::path::PathBuf;

use courier_store::StoreError;

/// The error of an async-nats call; their types differ per call (connect,
/// stream, consumer, KV, publish, ack), and none is matched on here.
pub type NatsSource = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// A join option that cannot work (a name NATS cannot carry, …).
    #[error("{0}")]
    Config(String),
    #[error("--nats {url:?}: {source}")]
    Url { url: String, source: NatsSource },
    #[error("--nats-creds {}: {source}", path.display())]
    Credentials {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot use NATS at {url}: {source}")]
    Connect { url: String, source: NatsSource },
    #[error("not joined to the workspace yet")]
    NotJoined,
    #[error(
        "JetStream is not available ({source}): start nats-server with JetStream on (-js, or a jetstream {{}} block)"
    )]
    NoJetStream { source: NatsSource },
    #[error("stream {stream}: {source}")]
    Stream { stream: String, source: NatsSource },
    #[error("consumer {consumer}: {source}")]
    Consumer {
        consumer: String,
        source: NatsSource,
    },
    #[error("the messages of consumer {consumer} ended")]
    MessagesEnded { consumer: String },
    #[error("bucket {bucket}: {source}")]
    Bucket { bucket: String, source: NatsSource },
    /// A read or write of the directory's key-value bucket.
    #[error("directory {operation}: {source}")]
    Kv {
        operation: &'static str,
        source: NatsSource,
    },
    #[error("publish to {subject}: {source}")]
    Publish { subject: String, source: NatsSource },
    /// JetStream did not confirm it holds a published message.
    #[error("JetStream did not acknowledge a publish: {source}")]
    Ack { source: NatsSource },
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("nothing to publish")]
    NothingToPublish,
    /// nats-server's monitoring endpoint (`/varz`).
    #[error("monitoring endpoint {url}: {source}")]
    Monitor { url: String, source: reqwest::Error },
    #[error("{operation}: {source}")]
    Store {
        operation: &'static str,
        source: StoreError,
    },
    /// A blocking store read did not finish (its task panicked or was
    /// cancelled).
    #[error("{operation}: the blocking task failed: {source}")]
    Task {
        operation: &'static str,
        source: tokio::task::JoinError,
    },
    /// The name belongs to an agent of another host.
    #[error("the name {name:?} is taken in the workspace by an agent of host {host:?}")]
    NameTaken { name: String, host: String },
    /// The directory could not be read or written in time (not joined,
    /// a timeout, a KV error), so a name cannot be claimed.
    #[error("{0}")]
    DirectoryUnavailable(String),
}

impl FederationError {
    /// A store error met while doing `operation`.
    pub fn store(operation: &'static str) -> impl FnOnce(StoreError) -> FederationError {
        move |source| FederationError::Store { operation, source }
    }

    /// A directory KV error met while doing `operation`.
    pub fn kv<E>(operation: &'static str) -> impl FnOnce(E) -> FederationError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |source| FederationError::Kv {
            operation,
            source: Box::new(source),
        }
    }
}
