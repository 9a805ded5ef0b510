//! Interrupting an agent's current turn (a headless agent's through its
//! protocol, `session/cancel`): its interrupt keys (the preset's,
//! Esc for TUIs that document it, else Ctrl-C), never typed into a known
//! dialog (keys there are menu choices) nor across a message being typed.

use courier_core::event::EventKind;
use courier_terminal::{NotReady, Terminal};

use super::state::Lifecycle;
use crate::agents::ops::AgentOps;
use crate::agents::status::AgentStatus;
use crate::error::BrokerError;
use crate::terminals::AgentTerminal;

/// How long an interrupt waits for a message being typed to end.
const DELIVERY_END_BOUND: std::time::Duration = std::time::Duration::from_secs(3);

/// Why an interrupt was not sent.
#[derive(Debug, thiserror::Error)]
pub enum InterruptRefused {
    #[error(
        "agent {agent:?} shows a dialog, where keys are menu choices; nothing was sent: {line}"
    )]
    Dialog { agent: String, line: String },
    #[error("agent {agent:?} is not running ({why}); nothing was sent")]
    NotRunning { agent: String, why: String },
    #[error(
        "a message ({delivery}) is being typed into agent {agent:?}; nothing was sent, try again when it ended"
    )]
    Delivering { agent: String, delivery: String },
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// Sends `name` its interrupt keys (`agent_interrupted`); returns the
/// keys as a person names them (`esc`, `ctrl-c`).
pub async fn interrupt(lifecycle: &Lifecycle, name: &str) -> Result<String, InterruptRefused> {
    let (session, mut status, served) = {
        let agents = lifecycle.registry.lock().await;
        let agent = agents
            .get(name)
            .ok_or_else(|| BrokerError::unknown_agent(name))?;
        (
            agent.session.clone(),
            agent.status.clone(),
            agent.served.session(),
        )
    };
    // A headless agent, or a served one the broker is joined to: its own
    // protocol cancels the running turn, whoever started it.
    if let Some(native) = session.native().cloned().or(served) {
        let now = status.borrow().clone();
        return cancel_turn(lifecycle, name, &now, &native).await;
    }
    // A message being typed ends within moments (its outcome is
    // recorded first): give it that long before refusing.
    let _ = tokio::time::timeout(
        DELIVERY_END_BOUND,
        status.wait_for(|s| s.delivering.is_none() || s.exited.is_some()),
    )
    .await;
    let ops = lifecycle
        .ops
        .get(name)
        .ok_or_else(|| BrokerError::unknown_agent(name))?;
    // A copy: the status lock is not held while the screen is read.
    let now = status.borrow().clone();
    if let Some(refused) = refusal(name, &session, &now, &ops) {
        return Err(refused);
    }
    session
        .write(ops.interrupt_keys.as_bytes())
        .await
        .map_err(BrokerError::from)?;
    let keys = courier_presets::describe_keys(&ops.interrupt_keys);
    tracing::info!(agent = name, %keys, "interrupted");
    recorded(lifecycle, name, keys).await
}

/// A headless (or served) agent's turn is cancelled through its protocol
/// (ACP `session/cancel`, stream-json `interrupt`, Codex `turn/interrupt`):
/// the delivery that started it ends `turn_cancelled`.
async fn cancel_turn(
    lifecycle: &Lifecycle,
    name: &str,
    status: &AgentStatus,
    native: &crate::native::NativeSession,
) -> Result<String, InterruptRefused> {
    if let Some(exit) = status.exited {
        return Err(InterruptRefused::NotRunning {
            agent: name.to_string(),
            why: exit.to_string(),
        });
    }
    let keys = native
        .cancel()
        .await
        .map_err(|why| InterruptRefused::NotRunning {
            agent: name.to_string(),
            why,
        })?
        .to_string();
    tracing::info!(agent = name, "turn cancelled");
    recorded(lifecycle, name, keys).await
}

/// `agent_interrupted`, once the keys went out (or the turn was cancelled).
async fn recorded(
    lifecycle: &Lifecycle,
    name: &str,
    keys: String,
) -> Result<String, InterruptRefused> {
    let event = EventKind::AgentInterrupted {
        name: name.to_string(),
        keys: keys.clone(),
    };
    lifecycle
        .services
        .store
        .append_event_async(event)
        .await
        .map_err(BrokerError::from)?;
    Ok(keys)
}

/// Why keys must not be sent now: the agent ended, a message is being
/// typed, or a dialog shows (where keys are menu choices).
fn refusal(
    name: &str,
    session: &AgentTerminal,
    status: &AgentStatus,
    ops: &AgentOps,
) -> Option<InterruptRefused> {
    if let Some(exit) = status.exited.or(session.exit_status()) {
        let why = match &ops.dead {
            Some(_) => format!("dead: {exit}"),
            None => exit.to_string(),
        };
        return Some(InterruptRefused::NotRunning {
            agent: name.to_string(),
            why,
        });
    }
    if let Some(delivery) = &status.delivering {
        return Some(InterruptRefused::Delivering {
            agent: name.to_string(),
            delivery: delivery.to_string(),
        });
    }
    let snap = session.snapshot(0);
    let dialog = courier_terminal::readiness::visible_dialog(&snap, &ops.readiness);
    if let Some(NotReady::Dialog { line, .. }) = dialog {
        return Some(InterruptRefused::Dialog {
            agent: name.to_string(),
            line,
        });
    }
    None
}
