//! Operating agents from the command line: the spawn request's restart,
//! task, resume and context-low fields, `courier interrupt`, `courier
//! done`, and an agent's state as `courier agents` shows it.

use anyhow::Context;
use courier_core::{AgentState, Backoff, RestartMode, RestartPolicy};
use courier_protocol::agents::{AgentView, DoneRequest, Interrupted};
use courier_protocol::spawn::{ResumeRequest, SpawnRequest};
use courier_protocol::status::DeadAgent;
use serde_json::{Value, json};

use crate::cli::{DoneArgs, SpawnArgs};
use crate::client::{Client, decode, segment};
use crate::output::cell_of;

/// Adds the operating fields of `args` to a spawn request.
pub fn add_spawn_fields(body: &mut SpawnRequest, args: &SpawnArgs) {
    body.task = args.task.clone();
    if let Some(id) = &args.resume {
        body.resume = Some(ResumeRequest {
            session: Some(id.clone()),
            last: false,
        });
    } else if args.continue_last {
        body.resume = Some(ResumeRequest {
            session: None,
            last: true,
        });
    }
    if let Some(policy) = &args.restart {
        let mut restart = RestartPolicy {
            policy: restart_mode(policy),
            ..RestartPolicy::default()
        };
        if let Some(n) = args.max_restarts {
            restart.max_restarts = n;
        }
        if let Some(s) = args.restart_window_s {
            restart.window_s = s;
        }
        if !args.backoff_ms.is_empty() {
            restart.backoff_ms = Backoff::Steps(args.backoff_ms.clone());
        }
        body.restart = Some(restart);
    }
    body.context_low_patterns = args.context_low_patterns.clone();
    body.busy_patterns = args.busy_patterns.clone();
    body.idle_patterns = args.idle_patterns.clone();
}

/// `--restart`'s value (clap allows only these three).
fn restart_mode(policy: &str) -> RestartMode {
    match policy {
        "on-failure" => RestartMode::OnFailure,
        "always" => RestartMode::Always,
        _ => RestartMode::Never,
    }
}

/// `courier interrupt NAME`.
pub async fn interrupt(client: &Client, name: &str, json_out: bool) -> anyhow::Result<Value> {
    let v = client
        .post(
            &format!("/v1/agents/{}/interrupt", segment(name)),
            &json!({}),
        )
        .await?;
    if !json_out {
        let interrupted: Interrupted = decode(&v, "an interrupt")?;
        println!("{name}: sent {}", cell_of(&interrupted.keys));
        return Ok(Value::Null);
    }
    Ok(v)
}

/// `courier done [RESULT]`, as the agent in `COURIER_AGENT`.
pub async fn done(client: &Client, args: DoneArgs, json_out: bool) -> anyhow::Result<Value> {
    let agent = args
        .agent
        .context("no agent: run this from an agent's shell (COURIER_AGENT) or pass --agent")?;
    let body = DoneRequest {
        result: args.result,
    };
    let v = client
        .post(
            &format!("/v1/agents/{}/done", segment(&agent)),
            &json!(body),
        )
        .await?;
    if !json_out {
        println!("{agent}: done");
        return Ok(Value::Null);
    }
    Ok(v)
}

/// The state column of `courier agents`: the broker's `state` (the same
/// word MCP and the dashboard show), with what says why when the listing
/// has it, `done` when it reported so, and `context low` during such an
/// episode.
pub fn state(a: &AgentView) -> String {
    let s = a.status.clone().unwrap_or_default();
    let why = match a.state {
        AgentState::Dead => Some(cell_of(&a.dead_reason)),
        AgentState::Restarting => Some(format!(
            "attempt {}",
            cell_of(&a.restarting.as_ref().map(|r| r.attempt))
        )),
        AgentState::Held => Some(cell_of(&s.held)),
        AgentState::Busy => s.working.as_ref().map(cell_of),
        AgentState::Starting => s.not_ready.as_ref().map(cell_of),
        AgentState::Remote | AgentState::Away => Some(cell_of(&a.presence)),
        _ => None,
    };
    let state = match why {
        Some(why) => format!("{}: {why}", a.state.as_str()),
        None => a.state.as_str().to_string(),
    };
    // Done is a state only while nothing else is going on; a done agent
    // that works again still says so.
    let state = if a.done == Some(true) && a.state != AgentState::Done {
        format!("{state}, done")
    } else {
        state
    };
    if a.context_low.is_some() {
        format!("{state}, context low")
    } else {
        state
    }
}

/// Under `courier status`: each dead agent and why.
pub fn print_dead(dead: &[DeadAgent]) {
    if dead.is_empty() {
        return;
    }
    println!("  DEGRADED: {} agent(s) dead", dead.len());
    for d in dead {
        println!(
            "  - {} since {} after {} restart(s): {}",
            cell_of(&d.name),
            cell_of(&d.since),
            d.restarts,
            cell_of(&d.reason)
        );
    }
}
