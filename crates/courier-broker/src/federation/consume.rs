//! A durable pull consumer on one of the workspace's streams, read in
//! batches (whatever has arrived, up to [`BATCH`]) so that one store commit
//! covers many messages. The handler acks only what it committed; a batch it
//! fails is redelivered by JetStream after the ack wait.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;

use super::local::Local;
use super::membership::Federation;
use super::util::{backoff, pause};
use crate::error::federation::FederationError;

const BATCH: usize = 512;
/// An unacked message comes again after this long.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// Which consumer to run.
pub struct Source {
    pub stream: String,
    pub durable: String,
    pub subject: String,
}

/// Runs the consumer until the broker stops, re-creating it whenever NATS
/// drops it (a server restart, a cut link).
pub async fn run<F, Fut>(local: Local, federation: Federation, source: Source, mut handle: F)
where
    F: FnMut(Vec<jetstream::Message>) -> Fut,
    Fut: Future<Output = Result<(), FederationError>>,
{
    let mut failures = 0;
    loop {
        match consume(&local, &federation, &source, &mut handle).await {
            Ok(()) => return,
            Err(e) => {
                failures += 1;
                if failures == 1 || failures % 30 == 0 {
                    tracing::warn!(consumer = %source.durable, error = %e, "consumer interrupted; resuming");
                }
            }
        }
        if !pause(&local, backoff(failures, Duration::from_secs(2))).await {
            return;
        }
    }
}

async fn consume<F, Fut>(
    local: &Local,
    federation: &Federation,
    source: &Source,
    handle: &mut F,
) -> Result<(), FederationError>
where
    F: FnMut(Vec<jetstream::Message>) -> Fut,
    Fut: Future<Output = Result<(), FederationError>>,
{
    let messages = subscribe(federation, source).await?;
    let mut batches = messages.ready_chunks(BATCH);
    loop {
        let batch = tokio::select! {
            b = batches.next() => b,
            _ = local.shutdown_signal().wait() => return Ok(()),
        };
        let Some(batch) = batch else {
            return Err(FederationError::MessagesEnded {
                consumer: source.durable.clone(),
            });
        };
        let mut good = Vec::with_capacity(batch.len());
        let mut error = None;
        for item in batch {
            match item {
                Ok(message) => good.push(message),
                Err(e) => error = Some(consumer_error(source, e)),
            }
        }
        if !good.is_empty() {
            handle(good).await?;
        }
        if let Some(e) = error {
            return Err(e);
        }
    }
}

/// The durable pull consumer of `source`, created if missing, as a stream
/// of messages.
async fn subscribe(
    federation: &Federation,
    source: &Source,
) -> Result<jetstream::consumer::pull::Stream, FederationError> {
    let stream = federation
        .js()
        .get_stream(&source.stream)
        .await
        .map_err(|e| FederationError::Stream {
            stream: source.stream.clone(),
            source: Box::new(e),
        })?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            &source.durable,
            pull::Config {
                durable_name: Some(source.durable.clone()),
                filter_subject: source.subject.clone(),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                max_ack_pending: 20_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| consumer_error(source, e))?;
    consumer
        .stream()
        .max_messages_per_batch(BATCH)
        .heartbeat(Duration::from_secs(2))
        .expires(Duration::from_secs(10))
        .messages()
        .await
        .map_err(|e| consumer_error(source, e))
}

fn consumer_error(
    source: &Source,
    e: impl std::error::Error + Send + Sync + 'static,
) -> FederationError {
    FederationError::Consumer {
        consumer: source.durable.clone(),
        source: Box::new(e),
    }
}
