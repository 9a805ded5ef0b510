//! An agent as the API shows it (`GET /v1/agents`, `GET /v1/agents/{name}`,
//! the spawn's answer), with the one `state` every client displays:
//! core's `agent_state` over the facts this broker has (the agent's
//! status, its operating entry, the watchdog's stuck deliveries, its
//! queue), computed here once so the CLI, MCP and the dashboard agree.

use std::collections::HashSet;

use courier_core::{AgentFacts, AgentState, Locality, agent_state};
use serde_json::{Value, json};

use crate::agent::AgentStatus;
use crate::agent_ops::AgentOps;
use crate::agent_spec::AgentSpec;
use crate::broker::Broker;

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
/// done, result, context_low: see `crate::agent_ops`) and its `state`.
pub fn listed(
    broker: &Broker,
    stuck: &HashSet<String>,
    spec: &AgentSpec,
    status: &AgentStatus,
    pid: u32,
    depth: usize,
) -> Value {
    let ops = broker.ops_of(&spec.name);
    let agent_state = local_state(status, ops.as_ref(), stuck.contains(&spec.name), depth);
    let mut v = json!({
        "name": spec.name, "command": spec.command, "preset": spec.preset, "channels": spec.channels,
        "pid": pid, "queue_depth": depth, "state": agent_state, "status": status,
        "mode": status.mode, "delivery": status.channels,
    });
    if let (Some(obj), Value::Object(ops)) = (v.as_object_mut(), broker.ops_json(&spec.name)) {
        obj.extend(ops);
    }
    v
}

/// An agent of another host of the workspace, as the directory lists it.
pub fn remote_json(agent: &courier_store::RemoteAgent) -> Value {
    let locality = if agent.presence == "away" {
        Locality::Away
    } else {
        Locality::Remote
    };
    let agent_state = agent_state(&AgentFacts {
        locality,
        ..AgentFacts::default()
    });
    json!({
        "name": agent.name, "host": agent.host, "remote": true, "state": agent_state,
        "presence": agent.presence, "channels": agent.channels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent_ops::Dead;

    #[test]
    fn the_openapi_document_lists_every_state_in_core_order() {
        let doc: Value = serde_json::from_str(&super::super::admin::OPENAPI).unwrap();
        let documented = &doc["components"]["schemas"]["AgentState"]["enum"];
        let core: Vec<&str> = AgentState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(documented, &json!(core));
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
            restarting: Some((1, crate::crash::now())),
            ..AgentOps::default()
        };
        assert_eq!(
            local_state(&AgentStatus::default(), Some(&restarting), false, 0),
            AgentState::Restarting
        );
        let dead = AgentOps {
            dead: Some(Dead {
                since: crate::crash::now(),
                restarts: 0,
                reason: "gave up".into(),
            }),
            ..AgentOps::default()
        };
        assert_eq!(local_state(&ready, Some(&dead), true, 3), AgentState::Dead);
    }
}
