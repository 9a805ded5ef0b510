//! Starting one generation of an agent: its process (or the one a
//! previous broker left, taken over) with its identity, its event
//! (`agent_spawned`, `agent_reattached` or `agent_restarted`), its tasks,
//! and the supervisor that watches it (`supervisor.rs`).

use std::sync::Arc;

use courier_core::DeliveryMode;
use courier_core::event::EventKind;
use courier_terminal::Terminal;
use courier_terminal::host::RemoteSession;
use tokio::sync::{Notify, watch};
use tracing::Instrument;

use super::context_low::ContextLow;
use super::state::Lifecycle;
use super::supervisor::Supervisor;
use crate::agents::context::AgentContext;
use crate::agents::control::AgentControl;
use crate::agents::handle::AgentHandle;
use crate::agents::native_watcher::watch_native;
use crate::agents::served_joiner::keep_joined;
use crate::agents::served_link::ServedLink;
use crate::agents::status::AgentStatus;
use crate::agents::watcher::watch_screen;
use crate::delivery::deliver_loop::deliver_loop;
use crate::delivery::steer_lane::steer_lane;
use crate::error::BrokerError;
use crate::launch::Launch;
use crate::native::HeadlessProcess;
use crate::spec::AgentSpec;
use crate::terminals::AgentTerminal;

/// How a generation of an agent starts.
pub enum Generation {
    /// Spawned, or respawned by a restarted broker (taking over the
    /// session a previous broker left, if one survived).
    Start {
        survivor: Option<Box<RemoteSession>>,
    },
    /// Started again by its restart policy, with the same identity.
    Restart { token: String, attempt: u32 },
}

/// Starts one generation of an agent (its process, or the surviving one
/// taken over, and its tasks) without putting it in the registry; its
/// supervisor is for the caller to start once it is there.
pub async fn launch(
    lifecycle: &Lifecycle,
    spec: AgentSpec,
    mode: DeliveryMode,
    generation: Generation,
) -> Result<(AgentHandle, Supervisor), BrokerError> {
    let services = &lifecycle.services;
    let GenerationIdentity {
        survivor,
        token,
        restart,
    } = identity(generation)?;
    let launch = crate::launch::plan(
        &spec,
        &crate::launch::Identity {
            token: &token,
            url: lifecycle.public_url.get().map(String::as_str),
        },
        &crate::launch::Places {
            presets_file: services.config.presets_file.as_deref(),
            state_dir: services.config.state_dir().map(|d| d.as_path()),
        },
        services.config.ready_fallback,
        restart.is_some(),
    )?;
    let resumed = survivor.is_some();
    let session = Arc::new(open(lifecycle, &spec, &launch, survivor).await?);
    // The agent proves who it is with this token (its COURIER_TOKEN).
    lifecycle.identities.insert(&spec.name, &token);
    let started = started_event(&spec.name, &session, &launch, restart, resumed);
    services.store.append_event_async(started).await?;
    let options = launch.options;
    lifecycle.ops.started(
        &spec.name,
        spec.restart.clone().unwrap_or_default(),
        launch.interrupt_keys,
        options.readiness.clone(),
    );
    let (status_tx, _) = watch::channel(AgentStatus::default());
    let ctx = Arc::new(AgentContext {
        spec: spec.clone(),
        session,
        store: services.store.clone(),
        options,
        metrics: services.metrics.clone(),
        shutdown: services.shutdown.clone(),
        wake: Arc::new(Notify::new()),
        status: status_tx,
        control: Arc::new(AgentControl::new(
            mode,
            launch.channels,
            services.config.typing_hold,
        )),
        dialog_answers: launch.dialog_answers,
        framing: Arc::new(launch.framing),
        resumed,
        served: Arc::new(ServedLink::new(launch.served)),
    });
    Ok(start_tasks(lifecycle, ctx, launch.context_low))
}

/// The generation's terminal: the survivor taken over, a headless process
/// (no PTY and no session host: its protocol is on its stdio), or a new one.
async fn open(
    lifecycle: &Lifecycle,
    spec: &AgentSpec,
    launch: &Launch,
    survivor: Option<Box<RemoteSession>>,
) -> Result<AgentTerminal, BrokerError> {
    Ok(match survivor {
        Some(session) => AgentTerminal::Hosted(session),
        None if spec.headless => AgentTerminal::Headless(Box::new(HeadlessProcess::spawn(
            &launch.spawn,
            launch.protocol,
        )?)),
        None => lifecycle.terminals.open(&launch.spawn).await?,
    })
}

/// The agent's screen watcher and delivery loop, and the supervisor for
/// the caller to start.
fn start_tasks(
    lifecycle: &Lifecycle,
    ctx: Arc<AgentContext>,
    context_low: Vec<regex::Regex>,
) -> (AgentHandle, Supervisor) {
    let span = tracing::info_span!("agent", agent = %ctx.spec.name);
    let watcher = if ctx.session.native().is_some() {
        tokio::spawn(watch_native(ctx.clone()).instrument(span.clone()))
    } else {
        tokio::spawn(watch_screen(ctx.clone()).instrument(span.clone()))
    };
    let mut tasks = vec![watcher];
    if ctx.served.served.is_some() {
        tasks.push(tokio::spawn(
            keep_joined(ctx.clone()).instrument(span.clone()),
        ));
    }
    if ctx.served.served.is_some() || ctx.session.native().is_some() {
        tasks.push(tokio::spawn(
            steer_lane(ctx.clone()).instrument(span.clone()),
        ));
    }
    tasks.push(tokio::spawn(deliver_loop(ctx.clone()).instrument(span)));
    let handle = AgentHandle::new(&ctx, tasks);
    let supervisor = Supervisor {
        lifecycle: lifecycle.clone(),
        name: ctx.spec.name.clone(),
        session: handle.session.clone(),
        status: handle.status.clone(),
        context_low: ContextLow::new(context_low),
    };
    (handle, supervisor)
}

/// The session a generation takes over, the token it proves itself with,
/// and its restart attempt.
struct GenerationIdentity {
    survivor: Option<Box<RemoteSession>>,
    token: String,
    restart: Option<u32>,
}

fn identity(generation: Generation) -> Result<GenerationIdentity, BrokerError> {
    let (survivor, kept, restart) = match generation {
        Generation::Start { survivor } => {
            // A surviving agent keeps the identity in its environment.
            let kept = survivor.as_ref().and_then(|s| {
                s.spec()
                    .env
                    .iter()
                    .find(|(k, _)| k == courier_presets::ENV_TOKEN)
                    .map(|(_, v)| v.clone())
            });
            (survivor, kept, None)
        }
        Generation::Restart { token, attempt } => (None, Some(token), Some(attempt)),
    };
    let token = match kept {
        Some(token) => token,
        None => crate::auth::token::new_token()
            .map_err(|e| BrokerError::no_randomness("the agent token", e))?,
    };
    Ok(GenerationIdentity {
        survivor,
        token,
        restart,
    })
}

/// `agent_restarted`, `agent_reattached` or `agent_spawned`.
fn started_event(
    name: &str,
    session: &AgentTerminal,
    launch: &Launch,
    restart: Option<u32>,
    resumed: bool,
) -> EventKind {
    match restart {
        Some(attempt) => EventKind::AgentRestarted {
            name: name.to_string(),
            attempt,
            pid: session.pid(),
            resumed: launch.resumed,
        },
        None if resumed => EventKind::AgentReattached {
            name: name.to_string(),
            pid: session.pid(),
            session: session.id().to_string(),
        },
        None => EventKind::AgentSpawned {
            name: name.to_string(),
            command: launch.command_line.clone(),
            pid: Some(session.pid()),
        },
    }
}
