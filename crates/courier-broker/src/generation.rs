//! Starting one generation of an agent: its process (or the one a
//! previous broker left, taken over) with its identity, its event
//! (`agent_spawned`, `agent_reattached` or `agent_restarted`), its tasks,
//! and the supervisor that watches it (`crate::supervisor`).

use std::sync::Arc;

use courier_core::DeliveryMode;
use courier_core::event::EventKind;
use courier_terminal::Terminal;
use courier_terminal::host::RemoteSession;
use tokio::sync::{Notify, watch};

use crate::agent::{AgentContext, AgentControl, AgentHandle, AgentStatus};
use crate::agent_spec::AgentSpec;
use crate::agent_terminal::AgentTerminal;
use crate::broker::Broker;
use crate::error::BrokerError;

/// How a generation of an agent starts.
pub(crate) enum Generation {
    /// Spawned, or respawned by a restarted broker (taking over the
    /// session a previous broker left, if one survived).
    Start {
        survivor: Option<Box<RemoteSession>>,
    },
    /// Started again by its restart policy, with the same identity.
    Restart { token: String, attempt: u32 },
}

impl Broker {
    /// Starts one generation of an agent (its process, or the surviving
    /// one taken over, and its tasks) without putting it in the agents map;
    /// its supervisor is for the caller to start once it is there.
    pub(crate) async fn launch_generation(
        &self,
        spec: AgentSpec,
        mode: DeliveryMode,
        generation: Generation,
    ) -> Result<(AgentHandle, crate::supervisor::Supervisor), BrokerError> {
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
            None => crate::token::new_token()
                .map_err(|e| BrokerError::no_randomness("the agent token", e))?,
        };
        let launch = crate::launch::plan(
            &spec,
            &crate::launch::Identity {
                token: &token,
                url: self.inner.public_url.get().map(String::as_str),
            },
            self.inner.config.presets_file.as_deref(),
            self.inner.config.ready_fallback,
            restart.is_some(),
        )?;
        let options = launch.options;
        let resumed = survivor.is_some();
        let session = Arc::new(match survivor {
            Some(session) => AgentTerminal::Hosted(session),
            None => self.new_terminal(&launch.spawn).await?,
        });
        // The agent proves who it is with this token (its COURIER_TOKEN).
        self.inner
            .identities
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(crate::token::token_hash(&token), spec.name.clone());
        self.inner
            .agent_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(spec.name.clone(), token.clone());
        self.inner.store.append_event(match restart {
            Some(attempt) => EventKind::AgentRestarted {
                name: spec.name.clone(),
                attempt,
                pid: session.pid(),
                resumed: launch.resumed,
            },
            None if resumed => EventKind::AgentReattached {
                name: spec.name.clone(),
                pid: session.pid(),
                session: session.id().to_string(),
            },
            None => EventKind::AgentSpawned {
                name: spec.name.clone(),
                command: launch.command_line,
                pid: Some(session.pid()),
            },
        })?;
        self.inner.ops.started(
            &spec.name,
            spec.restart.clone().unwrap_or_default(),
            launch.interrupt_keys,
            options.readiness.clone(),
        );
        let (status_tx, _) = watch::channel(AgentStatus::default());
        let handle = AgentHandle::start(AgentContext {
            spec: spec.clone(),
            session,
            store: self.inner.store.clone(),
            options,
            metrics: self.inner.metrics.clone(),
            shutdown: self.inner.shutdown.clone(),
            wake: Arc::new(Notify::new()),
            status: status_tx,
            control: Arc::new(AgentControl::new(
                mode,
                launch.channels,
                self.inner.config.typing_hold,
            )),
            dialog_answers: launch.dialog_answers,
            framing: Arc::new(launch.framing),
            resumed,
        });
        let supervisor = crate::supervisor::Supervisor {
            broker: self.clone(),
            name: spec.name.clone(),
            session: handle.session.clone(),
            status: handle.status.clone(),
            context_low: crate::context_low::ContextLow::new(launch.context_low),
        };
        Ok((handle, supervisor))
    }
}
