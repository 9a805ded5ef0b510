//! What a broker finds at start that the previous run left: session hosts
//! still serving agents it knows (taken over), and hosts of agents it does
//! not know (ended).

use std::collections::{HashMap, HashSet};

use courier_store::Store;
use courier_terminal::Terminal;
use courier_terminal::host::RemoteSession;

use super::hosting::Hosting;
use crate::error::BrokerError;

/// Connects to every session host a previous broker left for an agent it
/// knows; ends hosts of agents it does not know (released meanwhile).
pub async fn reattach_all(
    hosting: &Hosting,
    store: &Store,
) -> Result<HashMap<String, RemoteSession>, BrokerError> {
    let known: HashSet<String> = store
        .agents_async()
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let mut survivors = HashMap::new();
    for name in hosting.sockets() {
        let Some(session) = hosting.reattach(&name).await else {
            continue;
        };
        if known.contains(&name) {
            tracing::info!(agent = %name, pid = session.pid(), "reattached to a surviving session");
            survivors.insert(name, session);
        } else {
            tracing::warn!(agent = %name, "ending the session of an agent this broker does not know");
            session.kill().await;
        }
    }
    Ok(survivors)
}
