//! `courier inbox`, `courier mode`, `courier flush`, and the stuck list of
//! `courier status`.

use std::process::ExitCode;

use anyhow::Context;
use courier_core::DeliveryState;
use courier_protocol::agents::{Flushed, ModeRequest};
use courier_protocol::deliveries::{Inbox, Marked, ReadRequest};
use courier_protocol::status::StuckDelivery;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::InboxArgs;
use crate::client::{Client, decode, segment};
use crate::output::cell_of;

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
    let mut items = decode::<Inbox>(&v, "the inbox")?.deliveries;
    if args.unread {
        items.retain(|d| d.read_at.is_none());
    }
    items.reverse();
    let to_mark: Vec<String> = items
        .iter()
        .filter(|d| matches!(d.state, DeliveryState::Verified | DeliveryState::Unverified))
        .map(|d| d.id.as_str().to_string())
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
                    .json(&ReadRequest {
                        delivery_ids: Some(to_mark),
                    }),
            )
            .await?;
        decode::<Marked>(&r, "marking read")?.marked
    };
    if json_out {
        crate::output::json(&json!({"agent": agent, "deliveries": items, "marked": marked}));
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        println!("no messages for {agent}");
    }
    for d in &items {
        let m = d.message.as_ref();
        println!(
            "── {} from {} to {} [{}{}]",
            cell_of(&m.map(|m| &m.id)),
            cell_of(&m.map(|m| &m.from)),
            cell_of(&m.map(|m| &m.to)),
            cell_of(&d.state),
            if d.read_at.is_none() { "" } else { ", read" }
        );
        println!("{}", crate::output::text(m.map_or("", |m| m.body.as_str())));
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
                .json(&ModeRequest {
                    mode: mode.to_string(),
                }),
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
        let flushed: Flushed = decode(&v, "a flush")?;
        println!("{name}: {} queued deliveries let through", flushed.flushed);
        return Ok(Value::Null);
    }
    Ok(v)
}

/// Under `courier status`: each stuck delivery, its reason, why, and its screen.
pub fn print_stuck(stuck: &[StuckDelivery]) {
    if stuck.is_empty() {
        return;
    }
    println!("  DEGRADED: {} delivery(ies) stuck", stuck.len());
    for s in stuck {
        println!(
            "  - {} to {} ({}, {}, no progress for {} ms): {}",
            cell_of(&s.delivery_id),
            cell_of(&s.agent),
            cell_of(&s.state),
            cell_of(&s.reason),
            s.waited_ms,
            cell_of(&s.why)
        );
        for row in s.screen.iter().flatten() {
            println!("      | {}", crate::output::line(row));
        }
    }
}
