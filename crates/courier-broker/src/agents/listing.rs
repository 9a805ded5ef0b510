//! Every running agent as a listing shows it: spec, status (with the
//! framing a message would get now, from the live reader of its terminal),
//! pid and queue depth.

use courier_store::Store;
use courier_terminal::Terminal;

use super::registry::Registry;
use super::status::AgentStatus;
use crate::launch::framing_policy::FramingPolicy;
use crate::spec::AgentSpec;

/// The listing of every agent of this host.
pub async fn list(
    registry: &Registry,
    store: &Store,
) -> Vec<(AgentSpec, AgentStatus, u32, Option<usize>)> {
    let listed: Vec<_> = {
        let agents = registry.lock().await;
        agents
            .values()
            .map(|a| {
                // Unknown, not "0 queued", when the store cannot count it.
                let depth = match store.queue_depth(&a.spec.name) {
                    Ok(depth) => Some(depth),
                    Err(e) => {
                        tracing::warn!(agent = %a.spec.name, error = %e, "cannot count the agent's queue; listed as unknown");
                        None
                    }
                };
                (
                    a.spec.clone(),
                    a.status.borrow().clone(),
                    a.session.pid(),
                    depth,
                    a.framing.clone(),
                )
            })
            .collect()
    };
    // One scan of /proc for all of them, off the async threads.
    let policies: Vec<_> = listed
        .iter()
        .map(|(.., pid, _, f)| (f.clone(), *pid))
        .collect();
    let decisions = tokio::task::spawn_blocking(move || FramingPolicy::decide_each(&policies))
        .await
        .unwrap_or_default();
    let mut decisions = decisions.into_iter();
    listed
        .into_iter()
        .map(|(spec, mut status, pid, depth, _)| {
            let decision = decisions.next();
            if status.exited.is_none() {
                status.framing = decision;
            }
            (spec, status, pid, depth)
        })
        .collect()
}
