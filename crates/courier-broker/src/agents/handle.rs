//! A running agent as the registry holds it: its terminal, status, control,
//! framing, and the tasks of its current generation.

use std::sync::Arc;
use std::time::Duration;

use courier_core::mode::AgentView;
use courier_terminal::{ExitInfo, Terminal};
use tokio::sync::{Notify, watch};

use super::context::AgentContext;
use super::control::AgentControl;
use super::served_link::ServedLink;
use super::status::AgentStatus;
use crate::launch::framing_policy::FramingPolicy;
use crate::spec::AgentSpec;
use crate::terminals::AgentTerminal;

/// A running agent, held by the broker.
pub struct AgentHandle {
    pub spec: AgentSpec,
    pub session: Arc<AgentTerminal>,
    pub wake: Arc<Notify>,
    pub status: watch::Receiver<AgentStatus>,
    pub control: Arc<AgentControl>,
    /// How messages to it are framed (see [`crate::launch::framing_policy`]).
    pub framing: Arc<FramingPolicy>,
    /// The protocol its TUI shares, when it is a served agent.
    pub served: Arc<ServedLink>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl AgentHandle {
    /// The handle of a generation whose tasks (screen watcher, delivery
    /// loop) run on `ctx`.
    pub fn new(ctx: &AgentContext, tasks: Vec<tokio::task::JoinHandle<()>>) -> AgentHandle {
        AgentHandle {
            spec: ctx.spec.clone(),
            session: ctx.session.clone(),
            wake: ctx.wake.clone(),
            status: ctx.status.subscribe(),
            control: ctx.control.clone(),
            framing: ctx.framing.clone(),
            served: ctx.served.clone(),
            tasks,
        }
    }

    /// What the watchdog needs to judge a queued delivery.
    pub fn view(&self) -> AgentView {
        let s = self.status.borrow();
        // An agent whose screen says it works is busy, not "not ready",
        // even before it was first seen ready (a task it started on).
        let ready = (s.ready || s.working.is_some()) && s.exited.is_none() && s.held.is_none();
        let busy = s.busy || s.working.is_some();
        AgentView {
            ready,
            busy: ready && busy,
            idle: ready && !busy,
            accepting: self.control.accepting(),
            last_progress: Some(self.control.last_progress()),
        }
    }

    /// Adds a task that lives and ends with this generation of the agent
    /// (its supervisor): aborted by [`AgentHandle::kill`].
    pub fn attach_task(&mut self, task: tokio::task::JoinHandle<()>) {
        self.tasks.push(task);
    }

    /// Stops the tasks after the delivery in hand (bounded by `grace`).
    pub async fn stop(&mut self, grace: Duration) {
        self.wake.notify_one();
        for task in &mut self.tasks {
            if tokio::time::timeout(grace, &mut *task).await.is_err() {
                task.abort();
            }
        }
    }

    /// Ends the program and every process it started.
    pub async fn kill(&mut self) -> Option<ExitInfo> {
        for task in &self.tasks {
            task.abort();
        }
        self.session.kill().await
    }
}
