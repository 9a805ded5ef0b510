//! Where an agent's terminal comes from: a session host when this broker
//! has them (so the agent outlives a crash of the broker), else a PTY of
//! this process; and the sessions a previous broker left running, held
//! until their agents resume (or are ended as orphans).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use courier_terminal::host::RemoteSession;
use courier_terminal::{Session, SpawnSpec, Terminal, TerminalError};

use super::agent_terminal::AgentTerminal;
use super::hosting::Hosting;

/// Opens agents' terminals; holds the survivors of the previous broker.
pub struct TerminalOpener {
    /// Starts agents under session hosts (durable brokers), if set.
    hosting: Option<Hosting>,
    /// Output chunks a live viewer may fall behind (`--stream-buffer`).
    stream_buffer_chunks: usize,
    /// Sessions a previous broker left running, until their agents resume.
    survivors: Mutex<HashMap<String, RemoteSession>>,
}

impl TerminalOpener {
    pub fn new(
        hosting: Option<Hosting>,
        stream_buffer_chunks: usize,
        survivors: HashMap<String, RemoteSession>,
    ) -> TerminalOpener {
        TerminalOpener {
            hosting,
            stream_buffer_chunks,
            survivors: Mutex::new(survivors),
        }
    }

    fn survivors(&self) -> MutexGuard<'_, HashMap<String, RemoteSession>> {
        self.survivors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The session a previous broker left for `agent`, taken over once.
    pub fn take_survivor(&self, agent: &str) -> Option<RemoteSession> {
        self.survivors().remove(agent)
    }

    /// Every survivor no agent took over: they have no owner.
    pub fn take_orphans(&self) -> Vec<RemoteSession> {
        std::mem::take(&mut *self.survivors())
            .into_values()
            .collect()
    }

    /// A new terminal for `spec`: under a session host when this broker has
    /// them, else a PTY of this process.
    pub async fn open(&self, spec: &SpawnSpec) -> Result<AgentTerminal, TerminalError> {
        let chunks = self.stream_buffer_chunks;
        match &self.hosting {
            Some(hosting) if hosting.fits(&spec.agent) => {
                Ok(AgentTerminal::Hosted(Box::new(hosting.spawn(spec).await?)))
            }
            Some(hosting) => {
                tracing::warn!(
                    agent = %spec.agent,
                    socket = %hosting.socket(&spec.agent).display(),
                    "socket path too long for a session host; this agent will not survive a broker crash"
                );
                Ok(AgentTerminal::Local(Session::spawn_with_output(
                    spec, chunks,
                )?))
            }
            None => Ok(AgentTerminal::Local(Session::spawn_with_output(
                spec, chunks,
            )?)),
        }
    }

    /// Waits (at most `bound`) until the ended session's host let go of
    /// `agent`'s socket, so a restart can bind it again.
    pub async fn wait_free(&self, agent: &str, bound: Duration) {
        if let Some(hosting) = &self.hosting {
            hosting.wait_free(agent, bound).await;
        }
    }

    /// Ends the sessions a previous broker left whose agents did not resume.
    pub async fn end_orphans(&self) {
        for orphan in self.take_orphans() {
            tracing::warn!(agent = %orphan.agent(), "ending a surviving session that did not resume");
            orphan.kill().await;
        }
    }
}
