//! Spawning an agent: its checks, its name reserved here (and claimed in
//! the workspace), its first generation started, then the agent, its
//! channels and its initial task committed in one transaction. And at
//! start, the persisted agents spawned again.

use courier_core::recipient::{validate_agent_name, validate_channel_name};
use courier_core::{DeliveryMode, NewMessage};
use courier_store::AgentRecord;

use super::generation::{Generation, launch};
use super::state::Lifecycle;
use crate::agents::status::AgentStatus;
use crate::auth::acl_file::judge_join;
use crate::config::BrokerConfig;
use crate::error::{BrokerError, ClientError, Fault};
use crate::spec::AgentSpec;
use crate::spec::task::task_message;

/// Starts an agent, persists its spec, and joins its channels; its initial
/// task (if any) is committed in the same transaction as the agent, keyed
/// by `spawn_key` (the request's `Idempotency-Key`; else unique to this
/// spawn).
pub async fn spawn(
    lifecycle: &Lifecycle,
    spec: AgentSpec,
    spawn_key: Option<String>,
) -> Result<AgentStatus, BrokerError> {
    validate_agent_name(&spec.name)?;
    command_or_preset(&spec)?;
    // Reserve the name first, then look at the running agents: a second
    // spawn either finds the reservation or, once it is gone, the agent.
    let Some(_reserved) = lifecycle.registry.reserve(&spec.name) else {
        return Err(BrokerError::agent_exists(spec.name));
    };
    if lifecycle.registry.contains(&spec.name).await {
        return Err(BrokerError::agent_exists(spec.name));
    }
    let mut spec = spec;
    let config = &lifecycle.services.config;
    spec.channels = joinable_channels(config, &spec)?;
    let value = serde_json::to_value(&spec).map_err(|source| Fault::Encode {
        what: "the agent spec",
        source,
    })?;
    let task = initial_task(config, &spec, spawn_key)?;
    // In a workspace the name must be free on every host.
    if let Some(federation) = lifecycle.federation() {
        federation.claim(&spec.name, &spec.channels).await?;
    }
    // Start first: a spec that cannot start (CLI not installed) is not
    // persisted, so a restart does not retry it forever.
    let status = match start(lifecycle, spec.clone(), DeliveryMode::default()).await {
        Ok(status) => status,
        Err(e) => {
            if let Some(federation) = lifecycle.federation() {
                federation.release(&spec.name).await;
            }
            return Err(e);
        }
    };
    // The agent, its channels and its task in one commit: a crash after it
    // keeps all three, before it none.
    let persisted = lifecycle
        .services
        .store
        .register_agent_async(
            AgentRecord::new(&spec.name, value),
            spec.channels.clone(),
            task,
        )
        .await;
    if let Err(e) = persisted {
        undo_start(lifecycle, &spec.name).await;
        return Err(e.into());
    }
    lifecycle.registry.wake_one(&spec.name).await;
    Ok(status)
}

/// A spec names a command or a preset, not both.
fn command_or_preset(spec: &AgentSpec) -> Result<(), BrokerError> {
    let problem = match (&spec.preset, spec.command.is_empty()) {
        (None, true) => {
            "give a command or a preset (claude, codex, gemini, opencode, aider, shell)"
        }
        (Some(_), false) => "give either a command or a preset, not both",
        _ => return Ok(()),
    };
    Err(ClientError::InvalidCombination {
        fields: &["command", "preset"],
        problem,
    }
    .into())
}

/// The spec's channels, each a valid name the ACL lets this agent join.
fn joinable_channels(config: &BrokerConfig, spec: &AgentSpec) -> Result<Vec<String>, BrokerError> {
    let channels: Vec<String> = spec
        .channels
        .iter()
        .map(|c| validate_channel_name(c))
        .collect::<Result<_, _>>()?;
    for channel in &channels {
        judge_join(&config.acl, &spec.name, channel)?;
    }
    Ok(channels)
}

/// The spawn's task as a message keyed by `spawn_key` (else a fresh key).
fn initial_task(
    config: &BrokerConfig,
    spec: &AgentSpec,
    spawn_key: Option<String>,
) -> Result<Option<NewMessage>, BrokerError> {
    let Some(text) = &spec.task else {
        return Ok(None);
    };
    let key = match spawn_key {
        Some(key) => key,
        None => crate::auth::token::new_token()
            .map_err(|e| BrokerError::no_randomness("the spawn key", e))?,
    };
    let message = task_message(&spec.name, text, &key);
    message.validate(config.max_body_bytes)?;
    Ok(Some(message))
}

/// Undoes a start whose agent could not be persisted: the process ended,
/// its board entry and its workspace name given back.
async fn undo_start(lifecycle: &Lifecycle, name: &str) {
    if let Some(mut handle) = lifecycle.registry.remove(name).await {
        handle.kill().await;
    }
    lifecycle.ops.forget(name);
    if let Some(federation) = lifecycle.federation() {
        federation.release(name).await;
    }
}

/// Starts the first generation of an agent (taking over the session a
/// previous broker left for it, if one survived) and puts it in the
/// registry, supervised.
async fn start(
    lifecycle: &Lifecycle,
    spec: AgentSpec,
    mode: DeliveryMode,
) -> Result<AgentStatus, BrokerError> {
    let survivor = lifecycle.terminals.take_survivor(&spec.name);
    let name = spec.name.clone();
    let generation = Generation::Start {
        survivor: survivor.map(Box::new),
    };
    let (mut handle, supervisor) = launch(lifecycle, spec, mode, generation).await?;
    let status = handle.status.borrow().clone();
    let mut agents = lifecycle.registry.lock().await;
    // Supervised once it is in the registry, so a restart finds it there.
    handle.attach_task(tokio::spawn(supervisor.run()));
    agents.insert(name, handle);
    Ok(status)
}

/// Spawns the persisted agents again (after a restart); a surviving
/// session whose agent did not resume is ended (it has no owner).
pub async fn respawn_persisted(lifecycle: &Lifecycle) -> Result<(), BrokerError> {
    for record in lifecycle.services.store.agents_async().await? {
        match serde_json::from_value::<AgentSpec>(record.spec.clone()) {
            Ok(spec) => {
                if let Err(e) = start(lifecycle, spec, record.mode).await {
                    tracing::warn!(agent = %record.name, error = %e, "cannot respawn agent");
                }
            }
            Err(e) => {
                tracing::warn!(agent = %record.name, error = %e, "stored agent spec unreadable")
            }
        }
    }
    lifecycle.terminals.end_orphans().await;
    Ok(())
}
