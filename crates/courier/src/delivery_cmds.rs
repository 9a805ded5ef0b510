//! `courier inbox`, `courier mode`, `courier flush`, and the stuck list of
//! `courier status`.

use std::process::ExitCode;

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::InboxArgs;
use crate::client::{Client, segment};
use crate::output::cell;

/// Prints the agent's newest deliveries (oldest first) and marks those that
/// reached it as read (unless `--peek`).
pub async fn inbox(client: &Client, args: InboxArgs, json_out: bool) -> anyhow::Result<ExitCode> {
    let agent = args
        .agent
        .context("no agent: run this from an agent's shell (COURIER_AGENT) or pass --agent")?;
    let v = client
        .get(&format!(
            "/v1/agents/{}/inbox?limit={}",
            segment(&agent),
            args.limit
        ))
        .await?;
    let mut items: Vec<Value> = v["deliveries"].as_array().cloned().unwrap_or_default();
    if args.unread {
        items.retain(|d| d["read_at"].is_null());
    }
    items.reverse();
    let to_mark: Vec<Value> = items
        .iter()
        .filter(|d| matches!(d["state"].as_str(), Some("verified" | "unverified")))
        .map(|d| d["id"].clone())
        .collect();
    let marked = if args.peek || to_mark.is_empty() {
        Vec::new()
    } else {
        let r = client
            .call(
                client
                    .request(
                        Method::POST,
                        &format!("/v1/agents/{}/inbox/read", segment(&agent)),
                    )
                    .json(&json!({"delivery_ids": to_mark})),
            )
            .await?;
        r["marked"].as_array().cloned().unwrap_or_default()
    };
    if json_out {
        crate::output::json(&json!({"agent": agent, "deliveries": items, "marked": marked}));
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        println!("no messages for {agent}");
    }
    for d in &items {
        let m = &d["message"];
        println!(
            "── {} from {} to {} [{}{}]",
            cell(&m["id"]),
            cell(&m["from"]),
            cell(&m["to"]),
            cell(&d["state"]),
            if d["read_at"].is_null() { "" } else { ", read" }
        );
        println!("{}", crate::output::text(m["body"].as_str().unwrap_or("")));
    }
    if !marked.is_empty() {
        println!("({} marked read)", marked.len());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn mode(
    client: &Client,
    name: &str,
    mode: &str,
    json_out: bool,
) -> anyhow::Result<Value> {
    let v = client
        .call(
            client
                .request(Method::PUT, &format!("/v1/agents/{}/mode", segment(name)))
                .json(&json!({"mode": mode})),
        )
        .await?;
    if !json_out {
        println!("{name}: delivery mode {mode}");
        return Ok(Value::Null);
    }
    Ok(v)
}

pub async fn flush(client: &Client, name: &str, json_out: bool) -> anyhow::Result<Value> {
    let v = client
        .post(&format!("/v1/agents/{}/flush", segment(name)), &json!({}))
        .await?;
    if !json_out {
        println!(
            "{name}: {} queued deliveries let through",
            cell(&v["flushed"])
        );
        return Ok(Value::Null);
    }
    Ok(v)
}

/// Under `courier status`: each stuck delivery, its reason, why, and its screen.
pub fn print_stuck(stuck: &Value) {
    let Some(list) = stuck.as_array().filter(|l| !l.is_empty()) else {
        return;
    };
    println!("  DEGRADED: {} delivery(ies) stuck", list.len());
    for s in list {
        println!(
            "  - {} to {} ({}, {}, no progress for {} ms): {}",
            cell(&s["delivery_id"]),
            cell(&s["agent"]),
            cell(&s["state"]),
            cell(&s["reason"]),
            cell(&s["waited_ms"]),
            cell(&s["why"])
        );
        for row in s["screen"].as_array().into_iter().flatten() {
            println!(
                "      | {}",
                crate::output::line(row.as_str().unwrap_or(""))
            );
        }
    }
}
