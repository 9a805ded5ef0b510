//! Who is there: every broker publishes a heartbeat each second (core
//! NATS, nothing stored). A host silent for [`AWAY_AFTER`] (killed, cut
//! off) has its agents marked away in the directory by those who still
//! hear each other; it marks them active again itself once it is back. A
//! host that leaves gracefully says so and marks its own agents away.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use courier_core::EventKind;
use courier_protocol::status::Peer as PeerView;
use futures_util::StreamExt;

use super::directory;
use super::local::Local;
use super::membership::Federation;
use super::peers::Peer;
use super::util::pause;
use super::wire::{ACTIVE, Heartbeat, LEAVING};

const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// Silence after which a host counts as away.
pub const AWAY_AFTER: Duration = Duration::from_secs(5);

/// The other hosts: those heard from and those the directory names.
pub fn peers(federation: &Federation) -> Vec<PeerView> {
    let peers = federation.inner.presence.lock().clone();
    let mut hosts: BTreeMap<String, PeerView> = BTreeMap::new();
    for host in directory::hosts(federation).keys() {
        if host != federation.host() {
            let away = PeerView {
                host: host.clone(),
                last_seen_ms: None,
                presence: "away".into(),
            };
            hosts.insert(host.clone(), away);
        }
    }
    for (host, peer) in peers {
        let silent = peer.leaving || peer.last_seen.is_none_or(|t| t.elapsed() > AWAY_AFTER);
        let seen = PeerView {
            host: host.clone(),
            last_seen_ms: peer.last_seen.map(|t| t.elapsed().as_millis() as u64),
            presence: if silent { "away" } else { ACTIVE }.into(),
        };
        hosts.insert(host, seen);
    }
    hosts.into_values().collect()
}

pub async fn run(local: Local, federation: Federation) {
    tokio::spawn(listen(local.clone(), federation.clone()));
    let started = Instant::now();
    loop {
        beat(&federation, ACTIVE).await;
        judge(&local, &federation, started).await;
        if !pause(&local, HEARTBEAT_EVERY).await {
            return;
        }
    }
}

async fn beat(federation: &Federation, state: &str) {
    let beat = Heartbeat {
        host: federation.host().to_string(),
        state: state.to_string(),
    };
    let payload = serde_json::to_vec(&beat).unwrap_or_default();
    let subject = federation.names().presence(federation.host());
    if let Err(e) = federation.client().publish(subject, payload.into()).await {
        tracing::debug!(error = %e, "heartbeat not sent");
    }
}

async fn listen(local: Local, federation: Federation) {
    let subject = federation.names().presence("*");
    loop {
        match federation.client().subscribe(subject.clone()).await {
            Ok(mut heartbeats) => loop {
                let message = tokio::select! {
                    m = heartbeats.next() => m,
                    _ = local.shutdown_signal().wait() => return,
                };
                let Some(message) = message else { break };
                if let Ok(beat) = serde_json::from_slice::<Heartbeat>(&message.payload) {
                    heard(&local, &federation, beat).await;
                }
            },
            Err(e) => tracing::debug!(error = %e, "cannot listen for heartbeats yet"),
        }
        if !pause(&local, HEARTBEAT_EVERY).await {
            return;
        }
    }
}

async fn heard(local: &Local, federation: &Federation, beat: Heartbeat) {
    if beat.host == federation.host() {
        return;
    }
    let back = {
        let mut peers = federation.inner.presence.lock();
        let peer = peers.entry(beat.host.clone()).or_insert(Peer {
            last_seen: None,
            leaving: false,
            away: false,
        });
        peer.last_seen = Some(Instant::now());
        peer.leaving = beat.state == LEAVING;
        let back = peer.away && !peer.leaving;
        if back {
            peer.away = false;
        }
        back
    };
    if back {
        tracing::info!(host = %beat.host, "host is back");
        if let Err(e) = local
            .store()
            .append_event_async(EventKind::HostBack { host: beat.host })
            .await
        {
            tracing::warn!(error = %e, "host_back not recorded");
        }
    }
}

/// Marks away the agents of hosts that went silent. A host that cannot
/// reach NATS itself judges nobody.
async fn judge(local: &Local, federation: &Federation, started: Instant) {
    if !federation.is_connected() || started.elapsed() < AWAY_AFTER {
        return;
    }
    for (host, any_active) in directory::hosts(federation) {
        if host == federation.host() {
            continue;
        }
        let (silent, reported) = {
            let peers = federation.inner.presence.lock();
            match peers.get(&host) {
                Some(p) => (
                    p.leaving || p.last_seen.is_none_or(|t| t.elapsed() > AWAY_AFTER),
                    p.away,
                ),
                None => (true, false),
            }
        };
        if !silent {
            continue;
        }
        if any_active {
            let marked = directory::mark_away(federation, &host).await;
            tracing::info!(%host, agents = marked, "host is silent; its agents are marked away");
        }
        if !reported {
            federation
                .inner
                .presence
                .lock()
                .entry(host.clone())
                .or_insert(Peer {
                    last_seen: None,
                    leaving: false,
                    away: false,
                })
                .away = true;
            if let Err(e) = local
                .store()
                .append_event_async(EventKind::HostAway { host })
                .await
            {
                tracing::warn!(error = %e, "host_away not recorded");
            }
        }
    }
}

/// Says goodbye and marks this host's agents away.
pub async fn leave(federation: &Federation) {
    beat(federation, LEAVING).await;
    let _ = federation.client().flush().await;
    let marked = directory::mark_away(federation, federation.host()).await;
    tracing::info!(
        agents = marked,
        "left the workspace; this host's agents are marked away"
    );
}
