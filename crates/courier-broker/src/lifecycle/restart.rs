//! Starting an agent again under its restart policy: the restarter takes
//! each supervisor's request and starts the next generation.
//!
//! A restarted agent keeps its name, token (so `COURIER_TOKEN` in files a
//! preset wrote stays valid), delivery mode and queue: its queued
//! deliveries simply wait for the new process to be ready.

use std::time::Duration;

use courier_terminal::Terminal;
use tokio::sync::mpsc;

use super::generation::{Generation, launch};
use super::state::{Lifecycle, RestartRequest};
use crate::agents::handle::AgentHandle;
use crate::error::BrokerError;

/// How long a restart waits for the ended session's host to let go of
/// the agent's socket.
const HOST_GONE_BOUND: Duration = Duration::from_secs(5);

/// Serves restart requests until shutdown. Each runs in a task of its own,
/// apart from the supervisor that asked: a release that aborts the
/// supervisor meanwhile must not leave a half-started generation behind.
pub async fn serve(lifecycle: Lifecycle, mut requests: mpsc::UnboundedReceiver<RestartRequest>) {
    let shutdown = lifecycle.services.shutdown.clone();
    loop {
        let request = tokio::select! {
            _ = shutdown.wait() => return,
            request = requests.recv() => match request {
                Some(request) => request,
                None => return,
            },
        };
        let lifecycle = lifecycle.clone();
        tokio::spawn(async move {
            let RestartRequest {
                name,
                session,
                attempt,
                reply,
            } = request;
            let started = restart_agent(&lifecycle, &name, &session, attempt).await;
            let _ = reply.send(started);
        });
    }
}

/// The spec and mode of `name` if the generation running `session` is
/// still its current one.
fn current(
    agents: &std::collections::BTreeMap<String, AgentHandle>,
    name: &str,
    session: &str,
) -> Option<(crate::spec::AgentSpec, courier_core::DeliveryMode)> {
    agents
        .get(name)
        .filter(|a| a.session.id() == session)
        .map(|a| (a.spec.clone(), *a.control.mode.borrow()))
}

/// Starts `name` again if the generation running `session` is still the
/// current one. `Ok(false)`: nothing to restart (released, replaced, or
/// the broker is stopping).
async fn restart_agent(
    lifecycle: &Lifecycle,
    name: &str,
    session: &str,
    attempt: u32,
) -> Result<bool, BrokerError> {
    let shutdown = &lifecycle.services.shutdown;
    if shutdown.is_triggered() {
        return Ok(false);
    }
    let Some((spec, mode)) = current(&*lifecycle.registry.lock().await, name, session) else {
        return Ok(false);
    };
    let Some(token) = lifecycle.identities.token_of(name) else {
        return Ok(false);
    };
    lifecycle.terminals.wait_free(name, HOST_GONE_BOUND).await;
    tracing::info!(agent = name, attempt, "restarting the agent");
    let (mut handle, supervisor) = launch(
        lifecycle,
        spec,
        mode,
        Generation::Restart { token, attempt },
    )
    .await?;
    let mut agents = lifecycle.registry.lock().await;
    if shutdown.is_triggered() || current(&agents, name, session).is_none() {
        // Released or stopped while it started: end what was started,
        // and let its identity and entry go with it (unless another
        // spawn of the same name holds them now).
        if !agents.contains_key(name) {
            lifecycle.forget_identity(name);
        }
        drop(agents);
        handle.kill().await;
        return Ok(false);
    }
    lifecycle.ops.update(name, |o| o.restarts += 1);
    handle.attach_task(tokio::spawn(supervisor.run()));
    agents.insert(name.to_string(), handle);
    Ok(true)
}
