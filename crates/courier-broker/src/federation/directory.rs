//! The workspace directory: one JetStream key-value bucket, agent name →
//! [`DirectoryEntry`] (its host, presence, channels).
//!
//! - A name is claimed with a create-if-absent before an agent of this host
//!   takes it, so names are unique across the workspace.
//! - This host keeps its own entries current (channels joined or left, an
//!   entry another host marked away while this one was cut off), and deletes
//!   those of agents it released.
//! - Every entry of another host is mirrored into the store
//!   (`remote_agents`), where a send resolves it.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use courier_core::Timestamp;
use courier_core::time::{Clock, SystemClock};
use courier_store::RemoteAgent;
use futures_util::{StreamExt, TryStreamExt};

use super::local::Local;
use super::membership::Federation;
use super::util::{DIRECTORY_TIMEOUT, JOIN_WAIT, backoff, pause};
use super::wire::DirectoryEntry;
use crate::error::federation::FederationError;

/// How often this host's own entries are checked even without a change.
const SYNC_EVERY: Duration = Duration::from_secs(5);

fn now() -> Timestamp {
    SystemClock.now()
}

fn encode(entry: &DirectoryEntry) -> bytes::Bytes {
    serde_json::to_vec(entry).unwrap_or_default().into()
}

fn unavailable(what: impl std::fmt::Display) -> FederationError {
    FederationError::DirectoryUnavailable(what.to_string())
}

/// Claims `name` for an agent this host is about to spawn: held until the
/// agent is in the store (or the name is released).
pub async fn claim_for_spawn(
    federation: &Federation,
    name: &str,
    channels: &[String],
) -> Result<(), FederationError> {
    federation
        .inner
        .directory
        .spawning()
        .insert(name.to_string());
    let claimed = claim(federation, name, channels).await;
    if claimed.is_err() {
        federation.inner.directory.spawning().remove(name);
    }
    claimed
}

/// Claims `name` for an agent of this host (see the module doc).
pub async fn claim(
    federation: &Federation,
    name: &str,
    channels: &[String],
) -> Result<(), FederationError> {
    let kv = federation.joined_within(JOIN_WAIT).await.ok_or_else(|| {
        unavailable(format!(
            "this broker has not joined the workspace {:?} within {} s of trying (is NATS \
                 reachable at {}? `courier doctor --nats URL` checks it); try again",
            federation.inner.config.workspace,
            JOIN_WAIT.as_secs(),
            federation.inner.config.url
        ))
    })?;
    let host = federation.host();
    let want = DirectoryEntry::active(host, channels.to_vec(), now());
    let created = tokio::time::timeout(DIRECTORY_TIMEOUT, kv.create(name, encode(&want)))
        .await
        .map_err(|_| unavailable("timed out claiming the name"))?;
    match created {
        Ok(revision) => {
            federation.inner.directory.set(name, want, revision);
            Ok(())
        }
        Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
            let existing = tokio::time::timeout(DIRECTORY_TIMEOUT, kv.entry(name))
                .await
                .map_err(|_| unavailable("timed out reading the name's owner"))?
                .map_err(FederationError::kv("read the name's owner"))?;
            let owner = existing
                .as_ref()
                .filter(|e| e.operation == Operation::Put)
                .and_then(|e| serde_json::from_slice::<DirectoryEntry>(&e.value).ok());
            match (owner, existing) {
                (Some(owner), _) if owner.host != host => Err(FederationError::NameTaken {
                    name: name.to_string(),
                    host: owner.host,
                }),
                // Ours already (a restart), or deleted: take it at that revision.
                (_, Some(entry)) => {
                    let revision = tokio::time::timeout(
                        DIRECTORY_TIMEOUT,
                        kv.update(name, encode(&want), entry.revision),
                    )
                    .await
                    .map_err(|_| unavailable("timed out claiming the name"))?
                    .map_err(|e| unavailable(format!("the name changed hands meanwhile: {e}")))?;
                    federation.inner.directory.set(name, want, revision);
                    Ok(())
                }
                (_, None) => Err(unavailable(
                    "the name is being claimed elsewhere; try again",
                )),
            }
        }
        Err(e) => Err(FederationError::kv("claim the name")(e)),
    }
}

/// Frees `name` if this host holds it (its agent was released, or never
/// started).
pub async fn release(federation: &Federation, name: &str) {
    federation.inner.directory.spawning().remove(name);
    let Some(kv) = federation.kv() else { return };
    let ours = federation
        .inner
        .directory
        .snapshot()
        .get(name)
        .map(|(e, rev)| (e.host == federation.host(), *rev));
    if let Some((true, revision)) = ours {
        match tokio::time::timeout(
            DIRECTORY_TIMEOUT,
            kv.delete_expect_revision(name, Some(revision)),
        )
        .await
        {
            Ok(Ok(())) => {
                federation.inner.directory.remove(name);
            }
            // The sync deletes it later (it is not an agent of this host).
            other => tracing::debug!(agent = name, ?other, "cannot free the name now"),
        }
    }
}

/// Watches the bucket and keeps this host's entries current, until the
/// broker stops.
pub async fn run(local: Local, federation: Federation) {
    tokio::spawn(sync_loop(local.clone(), federation.clone()));
    let mut attempt = 0;
    loop {
        match watch(&local, &federation).await {
            Ok(()) => attempt = 0,
            Err(e) => tracing::warn!(error = %e, "workspace directory watch ended; restarting it"),
        }
        attempt += 1;
        if !pause(&local, backoff(attempt, Duration::from_secs(5))).await {
            return;
        }
    }
}

async fn watch(local: &Local, federation: &Federation) -> Result<(), FederationError> {
    let kv = federation.kv().ok_or(FederationError::NotJoined)?;
    let store = local.store_handle();
    let mut entries = kv
        .watch_with_history(">")
        .await
        .map_err(FederationError::kv("watch"))?;
    forget_deleted(kv, &store).await?;
    let mut upserts: Vec<RemoteAgent> = Vec::new();
    loop {
        // Apply what arrived together in one commit; wait for more after.
        let next = if upserts.is_empty() {
            tokio::select! {
                next = entries.next() => next,
                _ = local.shutdown_signal().wait() => return Ok(()),
            }
        } else {
            match tokio::time::timeout(Duration::ZERO, entries.next()).await {
                Ok(next) => next,
                Err(_) => {
                    flush(&store, federation, &mut upserts).await?;
                    continue;
                }
            }
        };
        let Some(entry) = next else {
            flush(&store, federation, &mut upserts).await?;
            return Ok(());
        };
        let entry = entry.map_err(FederationError::kv("watch"))?;
        apply(&store, federation, entry, &mut upserts).await?;
    }
}

/// Forgets the remote agents deleted while this broker was not watching.
async fn forget_deleted(
    kv: &kv::Store,
    store: &courier_store::Store,
) -> Result<(), FederationError> {
    let keys: HashSet<String> = kv
        .keys()
        .await
        .map_err(FederationError::kv("list the keys"))?
        .try_collect()
        .await
        .map_err(FederationError::kv("list the keys"))?;
    for gone in store
        .remote_agents_async()
        .await
        .map_err(FederationError::store("read the remote agents"))?
    {
        if !keys.contains(&gone.name) {
            store
                .remove_remote_agent_async(&gone.name)
                .await
                .map_err(FederationError::store("remove a remote agent"))?;
        }
    }
    Ok(())
}

/// One directory change: kept in the cache; another host's agent queued in
/// `upserts` for the store (flushed at 512), a deletion applied at once.
async fn apply(
    store: &courier_store::Store,
    federation: &Federation,
    entry: kv::Entry,
    upserts: &mut Vec<RemoteAgent>,
) -> Result<(), FederationError> {
    match entry.operation {
        Operation::Put => {
            if let Some(remote) = put(federation, &entry) {
                upserts.push(remote);
                if upserts.len() >= 512 {
                    flush(store, federation, upserts).await?;
                }
            }
        }
        Operation::Delete | Operation::Purge => {
            flush(store, federation, upserts).await?;
            let was = federation.inner.directory.remove(&entry.key);
            if was.is_none_or(|e| e.host != federation.host()) {
                store
                    .remove_remote_agent_async(&entry.key)
                    .await
                    .map_err(FederationError::store("remove a remote agent"))?;
            }
        }
    }
    Ok(())
}

/// Caches a put entry; another host's agent comes back to be mirrored.
fn put(federation: &Federation, entry: &kv::Entry) -> Option<RemoteAgent> {
    let Ok(value) = serde_json::from_slice::<DirectoryEntry>(&entry.value) else {
        tracing::warn!(key = %entry.key, "unreadable directory entry; ignored");
        return None;
    };
    federation
        .inner
        .directory
        .set(&entry.key, value.clone(), entry.revision);
    if value.host == federation.host() {
        if !value.is_active() {
            // Marked away while this host was cut off: say it is back.
            federation.directory_changed();
        }
        return None;
    }
    Some(RemoteAgent {
        name: entry.key.clone(),
        host: value.host,
        presence: value.presence,
        channels: value.channels,
        updated_at: value.updated_at,
    })
}

async fn flush(
    store: &courier_store::Store,
    federation: &Federation,
    upserts: &mut Vec<RemoteAgent>,
) -> Result<(), FederationError> {
    if upserts.is_empty() {
        return Ok(());
    }
    let batch = std::mem::take(upserts);
    let conflicts = store
        .upsert_remote_agents_async(batch)
        .await
        .map_err(FederationError::store("mirror remote agents"))?;
    for name in conflicts {
        tracing::warn!(agent = %name, "another host lists an agent of this host's name in the directory; this host's agent keeps it here");
    }
    // Deliveries queued for these agents can go now.
    federation.wake_forwarder();
    Ok(())
}

async fn sync_loop(local: Local, federation: Federation) {
    let mut events = local.bus().subscribe();
    loop {
        if let Err(e) = sync_own(&local, &federation).await {
            tracing::debug!(error = %e, "directory sync deferred");
        }
        loop {
            tokio::select! {
                _ = federation.inner.directory_changed.notified() => break,
                _ = tokio::time::sleep(SYNC_EVERY) => break,
                _ = local.shutdown_signal().wait() => return,
                event = events.recv() => match event {
                    Ok(event) if changes_directory(&event.kind) => break,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }
}

/// Events after which this host's entries may differ from its store.
fn changes_directory(kind: &courier_core::EventKind) -> bool {
    use courier_core::EventKind as E;
    matches!(
        kind,
        E::AgentSpawned { .. }
            | E::AgentReleased { .. }
            | E::ChannelJoined { .. }
            | E::ChannelLeft { .. }
    )
}

/// This host's agents in the store, each with the channels it is in.
async fn own_agents(local: &Local) -> Result<BTreeMap<String, Vec<String>>, FederationError> {
    let store = local.store();
    let mut desired: BTreeMap<String, Vec<String>> = store
        .agents_async()
        .await
        .map_err(FederationError::store("read this host's agents"))?
        .into_iter()
        .map(|a| (a.name, Vec::new()))
        .collect();
    for (channel, members) in store
        .channels_async()
        .await
        .map_err(FederationError::store("read the channels"))?
    {
        for member in members {
            if let Some(channels) = desired.get_mut(&member) {
                channels.push(channel.clone());
            }
        }
    }
    Ok(desired)
}

/// Puts this host's agents in the bucket as they are in the store (active,
/// with their channels); deletes entries of this host whose agent is gone.
async fn sync_own(local: &Local, federation: &Federation) -> Result<(), FederationError> {
    let kv = federation.kv().ok_or(FederationError::NotJoined)?;
    let me = federation.host();
    let desired = own_agents(local).await?;
    let seen = federation.inner.directory.snapshot();
    for (name, channels) in &desired {
        let want = DirectoryEntry::active(me, channels.clone(), now());
        match seen.get(name) {
            Some((entry, _)) if entry.host != me => {
                tracing::warn!(agent = %name, host = %entry.host, "the directory gives this agent's name to another host");
            }
            Some((entry, _)) if entry.same_as(&want) => {}
            Some((_, revision)) => {
                let revision = kv
                    .update(name, encode(&want), *revision)
                    .await
                    .map_err(FederationError::kv("update an entry"))?;
                federation.inner.directory.set(name, want, revision);
            }
            None => match claim(federation, name, channels).await {
                Ok(()) => {}
                Err(FederationError::NameTaken { name, host }) => {
                    tracing::warn!(agent = %name, %host, "the directory gives this agent's name to another host");
                }
                Err(e) => return Err(e),
            },
        }
    }
    let spawning: HashSet<String> = {
        let mut spawning = federation.inner.directory.spawning();
        spawning.retain(|name| !desired.contains_key(name));
        spawning.clone()
    };
    for (name, (entry, revision)) in seen {
        if entry.host == me && !desired.contains_key(&name) && !spawning.contains(&name) {
            kv.delete_expect_revision(&name, Some(revision))
                .await
                .map_err(FederationError::kv("delete an entry"))?;
            federation.inner.directory.remove(&name);
        }
    }
    Ok(())
}

/// Marks every active entry of `host` away (it stopped answering, or this
/// host leaves). Compare-and-set: an entry its host rewrote meanwhile wins.
pub async fn mark_away(federation: &Federation, host: &str) -> usize {
    let Some(kv) = federation.kv() else { return 0 };
    let mut marked = 0;
    for (name, (entry, revision)) in federation.inner.directory.snapshot() {
        if entry.host != host || !entry.is_active() {
            continue;
        }
        let away = entry.away(now());
        match kv.update(&name, encode(&away), revision).await {
            Ok(revision) => {
                federation.inner.directory.set(&name, away, revision);
                marked += 1;
            }
            Err(e) => {
                tracing::debug!(agent = %name, error = %e, "not marked away (changed meanwhile)")
            }
        }
    }
    marked
}

/// Hosts that own an entry, with whether any of theirs is active.
pub fn hosts(federation: &Federation) -> BTreeMap<String, bool> {
    let mut hosts = BTreeMap::new();
    for (entry, _) in federation.inner.directory.snapshot().values() {
        let active = hosts.entry(entry.host.clone()).or_insert(false);
        *active |= entry.is_active();
    }
    hosts
}
