//! An agent as the API shows it (`GET /v1/agents`, `GET /v1/agents/{name}`,
//! the spawn's answer), with the one `state` every client displays:
//! core's `agent_state` over the facts this broker has (the agent's
//! status, its operating entry, the watchdog's stuck deliveries, its
//! queue), computed here once so the CLI, MCP and the dashboard agree.

use std::collections::HashSet;

use courier_core::{AgentFacts, AgentState, Locality, agent_state};
use courier_protocol::agents::{AgentStatusView, AgentView, ExitInfo, FramingView, Restarting};

use crate::agents::ops::AgentOps;
use crate::agents::status::AgentStatus;
use crate::broker::Broker;
use crate::spec::AgentSpec;

/// The agents with at least one stuck delivery, read once per listing.
pub fn stuck_agents(broker: &Broker) -> HashSet<String> {
    broker.stuck().into_iter().map(|s| s.agent).collect()
}

/// The state of a local agent.
pub fn local_state(
    status: &AgentStatus,
    ops: Option<&AgentOps>,
    stuck: bool,
    depth: usize,
) -> AgentState {
    agent_state(&AgentFacts {
        locality: Locality::Local,
        dead: ops.is_some_and(|o| o.dead.is_some()),
        restarting: ops.is_some_and(|o| o.restarting.is_some()),
        exited: status.exited.is_some(),
        stuck,
        held: status.held.is_some(),
        // A busy pattern before the first prompt is working too.
        busy: status.busy || status.working.is_some(),
        ready: status.ready,
        queued: depth,
        done: ops.is_some_and(|o| o.done.is_some()),
    })
}

/// A local agent's listing with its operating fields (restarts, dead,
/// done, result, context_low: see `agents/ops.rs`) and its `state`.
pub fn listed(
    broker: &Broker,
    stuck: &HashSet<String>,
    spec: &AgentSpec,
    status: &AgentStatus,
    pid: u32,
    depth: Option<usize>,
) -> AgentView {
    let ops = broker.ops_of(&spec.name);
    // A depth the store could not count is not claimed empty: the label
    // stays `ready` (deliveries may be queued), never `idle` or `done`.
    let queued = depth.unwrap_or(1);
    let agent_state = local_state(status, ops.as_ref(), stuck.contains(&spec.name), queued);
    let mut view = AgentView {
        channels: spec.channels.clone(),
        command: Some(spec.command.clone()),
        context_low: None,
        dead: Some(false),
        dead_reason: None,
        delivery: Some(status.channels),
        done: Some(false),
        done_at: None,
        host: None,
        mode: Some(status.mode),
        name: spec.name.clone(),
        pid: Some(pid),
        preset: Some(spec.preset.clone()),
        presence: None,
        queue_depth: depth,
        remote: None,
        restart: None,
        restarting: None,
        restarts: Some(0),
        result: None,
        state: agent_state,
        status: Some(status_view(status)),
    };
    if let Some(ops) = &ops {
        with_ops(&mut view, ops);
    }
    view
}

/// The operating fields of an agent that has an entry (an agent without
/// one shows `restarts: 0`, `dead: false`, `done: false`).
fn with_ops(view: &mut AgentView, ops: &AgentOps) {
    view.restart = Some(ops.policy.policy.as_str().to_string());
    view.restarts = Some(ops.restarts);
    view.dead = Some(ops.dead.is_some());
    view.done = Some(ops.done.is_some());
    view.restarting = ops
        .restarting
        .map(|(attempt, at)| Restarting { at, attempt });
    view.dead_reason = ops.dead.as_ref().map(|dead| dead.reason.clone());
    if let Some(done) = &ops.done {
        view.done_at = Some(done.at);
        view.result = Some(done.result.clone());
    }
    view.context_low = ops.context_low.clone();
}

/// The broker's status of an agent as the API shows it.
fn status_view(status: &AgentStatus) -> AgentStatusView {
    AgentStatusView {
        busy: status.busy,
        channels: status.channels,
        delay_ms: status.delay_ms,
        delivering: status.delivering.clone(),
        exited: status.exited.map(|e| ExitInfo {
            code: e.code,
            signal: e.signal,
        }),
        framing: status.framing.as_ref().map(|f| FramingView {
            framing: f.framing.to_string(),
            why: f.why.clone(),
        }),
        held: status.held.clone(),
        mode: status.mode,
        not_ready: status.not_ready.clone(),
        ready: status.ready,
        // The terminal crate's wire name of how it became ready.
        ready_by: status
            .ready_by
            .and_then(|by| serde_json::to_value(by).ok())
            .and_then(|by| by.as_str().map(str::to_string)),
        working: status.working.clone(),
    }
}

/// An agent of another host of the workspace, as the directory lists it.
pub fn remote_view(agent: &courier_store::RemoteAgent) -> AgentView {
    let locality = if agent.presence == "away" {
        Locality::Away
    } else {
        Locality::Remote
    };
    let agent_state = agent_state(&AgentFacts {
        locality,
        ..AgentFacts::default()
    });
    AgentView {
        channels: agent.channels.clone(),
        command: None,
        context_low: None,
        dead: None,
        dead_reason: None,
        delivery: None,
        done: None,
        done_at: None,
        host: Some(agent.host.clone()),
        mode: None,
        name: agent.name.clone(),
        pid: None,
        preset: None,
        presence: Some(agent.presence.clone()),
        queue_depth: None,
        remote: Some(true),
        restart: None,
        restarting: None,
        restarts: None,
        result: None,
        state: agent_state,
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::ops::Dead;

    #[test]
    fn the_openapi_document_lists_every_state_in_core_order() {
        let doc: serde_json::Value = serde_json::from_str(&super::super::admin::OPENAPI).unwrap();
        let documented = &doc["components"]["schemas"]["AgentState"]["enum"];
        let core: Vec<&str> = AgentState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(documented, &serde_json::json!(core));
    }

    #[test]
    fn the_facts_come_from_the_status_the_ops_entry_and_the_watchdog() {
        let ready = AgentStatus {
            ready: true,
            ..AgentStatus::default()
        };
        assert_eq!(local_state(&ready, None, false, 0), AgentState::Idle);
        assert_eq!(local_state(&ready, None, false, 2), AgentState::Ready);
        assert_eq!(local_state(&ready, None, true, 2), AgentState::Stuck);
        // A busy pattern before the first prompt: working, not starting.
        let working = AgentStatus {
            working: Some("esc to interrupt".into()),
            ..AgentStatus::default()
        };
        assert_eq!(local_state(&working, None, false, 0), AgentState::Busy);
        let held = AgentStatus {
            held: Some("draft".into()),
            ..ready.clone()
        };
        assert_eq!(local_state(&held, None, false, 1), AgentState::Held);
        let restarting = AgentOps {
            restarting: Some((
                1,
                courier_core::time::Clock::now(&courier_core::time::SystemClock),
            )),
            ..AgentOps::default()
        };
        assert_eq!(
            local_state(&AgentStatus::default(), Some(&restarting), false, 0),
            AgentState::Restarting
        );
        let dead = AgentOps {
            dead: Some(Dead {
                since: courier_core::time::Clock::now(&courier_core::time::SystemClock),
                restarts: 0,
                reason: "gave up".into(),
            }),
            ..AgentOps::default()
        };
        assert_eq!(local_state(&ready, Some(&dead), true, 3), AgentState::Dead);
    }
}
