//! Operating agents from the command line: the spawn request's restart,
//! task, resume and context-low fields, `courier interrupt`, `courier
//! done`, and an agent's state as `courier agents` shows it.

use anyhow::Context;
use serde_json::{Value, json};

use crate::cli::{DoneArgs, SpawnArgs};
use crate::client::{Client, segment};
use crate::output::cell;

/// Adds the operating fields of `args` to a spawn request body.
pub fn add_spawn_fields(body: &mut Value, args: &SpawnArgs) {
    if let Some(task) = &args.task {
        body["task"] = json!(task);
    }
    if let Some(id) = &args.resume {
        body["resume"] = json!({"session": id});
    } else if args.continue_last {
        body["resume"] = json!({"last": true});
    }
    if let Some(policy) = &args.restart {
        let mut restart = json!({"policy": policy});
        if let Some(n) = args.max_restarts {
            restart["max_restarts"] = json!(n);
        }
        if let Some(s) = args.restart_window_s {
            restart["window_s"] = json!(s);
        }
        if !args.backoff_ms.is_empty() {
            restart["backoff_ms"] = json!(args.backoff_ms);
        }
        body["restart"] = restart;
    }
    if !args.context_low_patterns.is_empty() {
        body["context_low_patterns"] = json!(args.context_low_patterns);
    }
    if !args.busy_patterns.is_empty() {
        body["busy_patterns"] = json!(args.busy_patterns);
    }
    if !args.idle_patterns.is_empty() {
        body["idle_patterns"] = json!(args.idle_patterns);
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
        println!("{name}: sent {}", cell(&v["keys"]));
        return Ok(Value::Null);
    }
    Ok(v)
}

/// `courier done [RESULT]`, as the agent in `COURIER_AGENT`.
pub async fn done(client: &Client, args: DoneArgs, json_out: bool) -> anyhow::Result<Value> {
    let agent = args
        .agent
        .context("no agent: run this from an agent's shell (COURIER_AGENT) or pass --agent")?;
    let mut body = json!({});
    if let Some(result) = args.result {
        body["result"] = json!(result);
    }
    let v = client
        .post(&format!("/v1/agents/{}/done", segment(&agent)), &body)
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
pub fn state(a: &Value) -> String {
    let s = &a["status"];
    let word = a["state"].as_str().unwrap_or_default();
    let why = match word {
        "dead" => Some(cell(&a["dead_reason"])),
        "restarting" => Some(format!("attempt {}", cell(&a["restarting"]["attempt"]))),
        "held" => Some(cell(&s["held"])),
        "busy" => s["working"].as_str().map(|_| cell(&s["working"])),
        "starting" => s["not_ready"].as_str().map(|_| cell(&s["not_ready"])),
        "remote" | "away" => Some(cell(&a["presence"])),
        _ => None,
    };
    let state = match why {
        Some(why) => format!("{}: {why}", cell(&a["state"])),
        None => cell(&a["state"]),
    };
    // Done is a state only while nothing else is going on; a done agent
    // that works again still says so.
    let state = if a["done"] == json!(true) && word != "done" {
        format!("{state}, done")
    } else {
        state
    };
    if a["context_low"].is_string() {
        format!("{state}, context low")
    } else {
        state
    }
}

/// Under `courier status`: each dead agent and why.
pub fn print_dead(dead: &Value) {
    let Some(list) = dead.as_array().filter(|l| !l.is_empty()) else {
        return;
    };
    println!("  DEGRADED: {} agent(s) dead", list.len());
    for d in list {
        println!(
            "  - {} since {} after {} restart(s): {}",
            cell(&d["name"]),
            cell(&d["since"]),
            cell(&d["restarts"]),
            cell(&d["reason"])
        );
    }
}
