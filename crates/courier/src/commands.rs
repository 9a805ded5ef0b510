//! The client subcommands: each is one or two API calls and a table.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};
use courier_protocol::agents::{AgentList, AgentView, ChannelList, MembershipChange};
use courier_protocol::deliveries::{
    DeadLetters, DeliveryView, MessageStatus, SendReceipt, SendRequest,
};
use courier_protocol::events::{EventsPage, StreamItem};
use courier_protocol::spawn::SpawnRequest;
use courier_protocol::status::{BrokerStatus, FederationStatus, Screen};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cli::{ChannelCommand, Command, DlqCommand, EventsArgs, Global, SendArgs, SpawnArgs};
use crate::client::{Client, decode, segment};
use crate::event_stream::{EventStream, Next};
use crate::output::{cell, cell_of, table};

pub async fn run(global: &Global, command: Command) -> anyhow::Result<ExitCode> {
    let client = Client::connect(global)?;
    let json_out = global.json;
    let value = match command {
        Command::Status => {
            let v = client.get("/v1/status").await?;
            if !json_out {
                let status: BrokerStatus = decode(&v, "the broker's status")?;
                println!(
                    "broker pid {} at {}\n  store: {} ({})\n  agents: {}  pending deliveries: {}  last event: {}",
                    status.pid,
                    client.base,
                    cell_of(&status.store),
                    if status.durable {
                        "durable"
                    } else {
                        "ephemeral"
                    },
                    status.agents,
                    status.pending,
                    status.last_seq
                );
                print_federation(&status.federation);
                crate::ops_cmds::print_dead(&status.dead);
                crate::delivery_cmds::print_stuck(&status.stuck);
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Down => {
            let v = client.post("/v1/shutdown", &json!({})).await?;
            if !json_out {
                println!("broker is shutting down; pending deliveries stay in the store");
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Spawn(args) => {
            let v = spawn(&client, args).await?;
            if !json_out {
                // The answer is the agent's view, or only its name when its
                // program ended before it could be listed.
                let (name, pid) = match decode::<AgentView>(&v, "a spawn") {
                    Ok(agent) => (agent.name, agent.pid),
                    Err(_) => (cell(&v["name"]), None),
                };
                println!(
                    "spawned {} (pid {}); `courier agents` shows when it is ready",
                    cell_of(&name),
                    cell_of(&pid)
                );
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Agents => {
            let v = client.get("/v1/agents").await?;
            if !json_out {
                let list: AgentList = decode(&v, "the agent listing")?;
                let rows: Vec<Vec<String>> = list
                    .agents
                    .iter()
                    .map(|a| {
                        vec![
                            cell_of(&a.name),
                            cell_of(&a.host),
                            cell_of(&a.pid),
                            crate::ops_cmds::state(a),
                            cell_of(&a.queue_depth),
                            cell_of(&a.restarts),
                            cell_of(&a.channels),
                            a.delivery.map_or("-", |d| d.as_str()).to_string(),
                            cell_of(&a.command).replace(',', " "),
                            framing_cell(a),
                            cell_of(&a.result),
                        ]
                    })
                    .collect();
                table(
                    &[
                        "name", "host", "pid", "state", "queued", "restarts", "channels",
                        "delivery", "command", "framing", "result",
                    ],
                    &rows,
                );
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Send(args) => send(&client, args, json_out).await?,
        Command::Events(args) => return events(&client, args, json_out).await,
        Command::Ask(args) => return crate::ask_cmd::ask(&client, args, json_out).await,
        Command::Transcript(args) => {
            return crate::transcript_cmd::transcript(&client, args, json_out).await;
        }
        Command::Screen { name } => {
            let v = client
                .get(&format!("/v1/agents/{}/screen", segment(&name)))
                .await?;
            if !json_out {
                let screen: Screen = decode(&v, "the screen")?;
                let rows = &screen.rows;
                let last = rows
                    .iter()
                    .rposition(|r| !r.trim().is_empty())
                    .map_or(0, |i| i + 1);
                for row in &rows[..last] {
                    // The screen holds whatever the agent printed.
                    println!("{}", crate::output::line(row));
                }
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Release { name } => {
            client
                .delete(&format!("/v1/agents/{}", segment(&name)))
                .await?;
            if !json_out {
                println!(
                    "released {name}: its processes ended; its undelivered messages are dead letters (`courier dlq list`)"
                );
                return Ok(ExitCode::SUCCESS);
            }
            json!({"released": name})
        }
        Command::Channel(ChannelCommand::List) => {
            let v = client.get("/v1/channels").await?;
            if !json_out {
                let list: ChannelList = decode(&v, "the channel listing")?;
                let rows: Vec<Vec<String>> = list
                    .channels
                    .iter()
                    .map(|c| vec![cell_of(&c.name), cell_of(&c.members)])
                    .collect();
                table(&["channel", "members"], &rows);
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Channel(ChannelCommand::Join { channel, agent }) => {
            let v = client
                .post(
                    &format!("/v1/channels/{}/members", segment(&channel)),
                    &json!({"agent": agent}),
                )
                .await?;
            if !json_out {
                membership(&v, "joined", "was already in")?;
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Channel(ChannelCommand::Leave { channel, agent }) => {
            let v = client
                .delete(&format!(
                    "/v1/channels/{}/members/{}",
                    segment(&channel),
                    segment(&agent)
                ))
                .await?;
            if !json_out {
                membership(&v, "left", "was not in")?;
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Dlq(DlqCommand::List) => {
            let v = client.get("/v1/dlq").await?;
            if !json_out {
                let list: DeadLetters = decode(&v, "the dead letters")?;
                let rows: Vec<Vec<String>> = list
                    .dead_letters
                    .iter()
                    .map(|d| {
                        vec![
                            cell_of(&d.id),
                            cell_of(&d.state),
                            cell_of(&d.agent),
                            cell_of(&d.from),
                            cell_of(&d.reason),
                            cell_of(&d.updated_at),
                        ]
                    })
                    .collect();
                table(
                    &["delivery", "state", "agent", "from", "reason", "when"],
                    &rows,
                );
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Dlq(DlqCommand::Replay { delivery_id }) => {
            let v = client
                .post(
                    &format!("/v1/dlq/{}/replay", segment(&delivery_id)),
                    &json!({}),
                )
                .await?;
            if !json_out {
                let d: DeliveryView = decode(&v, "a replay")?;
                println!(
                    "{} back in {}'s queue ({}); follow it with `courier message {}`",
                    cell_of(&d.id),
                    cell_of(&d.agent),
                    cell_of(&d.state),
                    cell_of(&d.message_id)
                );
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Message { id } => {
            let v = client
                .get(&format!("/v1/messages/{}", segment(&id)))
                .await?;
            if !json_out {
                let status: MessageStatus = decode(&v, "a message")?;
                let m = &status.message;
                println!(
                    "{} from {} to {} at {}",
                    cell_of(&m.id),
                    cell_of(&m.from),
                    cell_of(&m.to),
                    cell_of(&m.created_at)
                );
                let rows: Vec<Vec<String>> = status
                    .deliveries
                    .iter()
                    .map(|d| {
                        vec![
                            cell_of(&d.agent),
                            cell_of(&d.state),
                            cell_of(&d.verification),
                            cell_of(&d.channel),
                            cell_of(&d.read_at),
                            cell_of(&d.reason),
                            cell_of(&d.id),
                        ]
                    })
                    .collect();
                table(
                    &[
                        "agent",
                        "state",
                        "verification",
                        "channel",
                        "read at",
                        "reason",
                        "delivery",
                    ],
                    &rows,
                );
                for r in &status.replies {
                    let via = match &r.message_id {
                        Some(id) => format!("message {}", cell_of(id)),
                        None => "its final answer".to_string(),
                    };
                    println!(
                        "reply from {} ({via}) at {}:\n{}",
                        cell_of(&r.from),
                        cell_of(&r.created_at),
                        courier_core::display::for_terminal(&r.text)
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            v
        }
        Command::Inbox(args) => return crate::delivery_cmds::inbox(&client, args, json_out).await,
        Command::Mode { name, mode } => {
            crate::delivery_cmds::mode(&client, &name, &mode, json_out).await?
        }
        Command::Flush { name } => crate::delivery_cmds::flush(&client, &name, json_out).await?,
        Command::Token(command) => {
            return crate::token_cmds::run(&client, command, json_out).await;
        }
        Command::Interrupt { name } => crate::ops_cmds::interrupt(&client, &name, json_out).await?,
        Command::Done(args) => crate::ops_cmds::done(&client, args, json_out).await?,
        Command::Up(_)
        | Command::Demo(_)
        | Command::Completions { .. }
        | Command::Openapi
        | Command::Attach { .. }
        | Command::Open(_)
        | Command::Doctor(_)
        | Command::Hook { .. }
        | Command::SessionHost { .. }
        | Command::ServedTui(_)
        | Command::Mcp => {
            bail!("internal: this command is not a client command")
        }
    };
    if json_out || !value.is_null() {
        crate::output::json(&value);
    }
    Ok(ExitCode::SUCCESS)
}

/// One line for a channel join or leave: `bob joined #ops`.
fn membership(v: &Value, changed: &str, unchanged: &str) -> anyhow::Result<()> {
    let change: MembershipChange = decode(v, "a membership change")?;
    let verb = if change.changed { changed } else { unchanged };
    println!(
        "{} {verb} {}",
        cell_of(&change.agent),
        cell_of(&change.channel)
    );
    Ok(())
}

async fn spawn(client: &Client, args: SpawnArgs) -> anyhow::Result<Value> {
    let mut body = SpawnRequest::named(args.name.clone());
    crate::ops_cmds::add_spawn_fields(&mut body, &args);
    let cwd = match args.cwd {
        Some(dir) => Some(dir),
        None => std::env::current_dir().ok(),
    };
    if args.preset.is_none() && args.command.is_empty() {
        bail!("give a preset (e.g. `courier spawn shell --name bob`) or a command after `--`");
    }
    body.preset = args.preset;
    body.args = args.args;
    body.command = args.command;
    body.env = args.env.into_iter().collect();
    body.cwd = cwd.map(|dir| dir.to_string_lossy().into_owned());
    body.channels = args.channels;
    body.framing = args.framing;
    body.headless = args.headless;
    body.protocol = match args.protocol.as_deref() {
        None => None,
        Some(name) => Some(
            serde_json::from_value(json!(name))
                .with_context(|| format!("unknown headless protocol {name:?}"))?,
        ),
    };
    body.delivery = match args.delivery.as_deref() {
        None => None,
        Some(name) => Some(
            serde_json::from_value(json!(name))
                .with_context(|| format!("unknown delivery channel {name:?}"))?,
        ),
    };
    client.post("/v1/agents", &json!(body)).await
}

async fn send(client: &Client, args: SendArgs, json_out: bool) -> anyhow::Result<Value> {
    let text = match args.text.as_deref() {
        Some("-") | None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the message from stdin")?;
            text
        }
        Some(text) => text.to_string(),
    };
    let body = SendRequest {
        from: Some(args.from),
        to: args.to,
        body: text,
        thread: args.thread,
        idempotency_key: args.idempotency_key,
    };
    let v = client.post("/v1/messages", &json!(body)).await?;
    if !json_out {
        let receipt: SendReceipt = decode(&v, "a send")?;
        let n = receipt.deliveries.len();
        let dup = if receipt.duplicate {
            " (duplicate: already sent with this key)"
        } else {
            ""
        };
        println!(
            "{} accepted for {n} recipient(s){dup}",
            cell_of(&receipt.message_id)
        );
        for refused in &receipt.refused {
            println!(
                "  not to {}: refused by ACL rule {}",
                cell_of(&refused.agent),
                cell_of(&refused.rule)
            );
        }
        return Ok(Value::Null);
    }
    Ok(v)
}

/// `SEQ  TIME  TYPE  key=value…` for an event, a gap's line for a gap:
/// the fields of every kind by their wire names, from core's own
/// serialization of the event (one enum, not a copy of it here).
fn event_line(item: &StreamItem) -> String {
    fields_line(&serde_json::to_value(item).unwrap_or_default())
}

/// The line of an event's fields (also for a kind of a newer broker, which
/// this courier cannot decode).
fn fields_line(e: &Value) -> String {
    let mut parts = vec![cell(&e["seq"]), cell(&e["time"]), cell(&e["type"])];
    for key in [
        "name",
        "agent",
        "from",
        "to",
        "message_id",
        "delivery_id",
        "verification",
        "reason",
        "rule",
        "token_id",
        "ready_by",
        "count",
        "code",
        "signal",
        "attempt",
        "restart_in_ms",
        "keys",
        "line",
        "result",
    ] {
        if let Some(v) = e.get(key).filter(|v| !v.is_null()) {
            parts.push(format!("{key}={}", cell(v)));
        }
    }
    parts.join("  ")
}

async fn events(client: &Client, args: EventsArgs, json_out: bool) -> anyhow::Result<ExitCode> {
    // `--json` prints what the broker sent; the text line reads it as the
    // protocol's stream item (a kind this courier does not know is shown
    // by its raw fields, like any other).
    let print = |e: &Value| {
        if json_out {
            crate::output::json_line(e);
        } else {
            match StreamItem::deserialize(e) {
                Ok(item) => println!("{}", event_line(&item)),
                Err(_) => println!("{}", fields_line(e)),
            }
        }
    };
    if !args.follow {
        let mut since = args.since;
        loop {
            let v = client
                .get(&format!("/v1/events?since={since}&limit=1000"))
                .await?;
            let page: EventsPage = decode(&v, "an event page")?;
            let Some(last) = page.events.last() else {
                return Ok(ExitCode::SUCCESS);
            };
            since = last.seq;
            for e in v["events"].as_array().into_iter().flatten() {
                print(e);
            }
        }
    }
    // Followed until interrupted: a broken stream (the broker restarted)
    // is opened again from the last event printed, so nothing is missed
    // or printed twice.
    let mut stream = EventStream::new(client, args.since);
    loop {
        match stream.next().await? {
            Next::Event(e) | Next::Gap(e) => print(&e),
            Next::Reconnected => eprintln!("courier events: the stream broke; reading on"),
        }
    }
}

/// The workspace line of `courier status` (nothing on a broker on its own).
fn print_federation(f: &FederationStatus) {
    if !f.enabled {
        return;
    }
    let peers: Vec<String> = f
        .peers
        .iter()
        .flatten()
        .map(|p| format!("{} ({})", cell_of(&p.host), cell_of(&p.presence)))
        .collect();
    println!(
        "  workspace: {} as host {} via {} ({}{})  waiting to be forwarded: {}\n  other hosts: {}",
        cell_of(&f.workspace),
        cell_of(&f.host),
        cell_of(&f.url),
        if f.connected == Some(true) {
            "connected"
        } else {
            "NATS unreachable"
        },
        if f.joined == Some(true) {
            ""
        } else {
            ", not joined yet"
        },
        cell_of(&f.pending_forwards),
        if peers.is_empty() {
            "none".to_string()
        } else {
            peers.join(", ")
        },
    );
}

/// `zsh-quoted (foreground: zsh (pid 12): interactive)`: the framing a
/// message would get now, and why.
fn framing_cell(agent: &AgentView) -> String {
    match agent.status.as_ref().and_then(|s| s.framing.as_ref()) {
        Some(f) => format!("{} ({})", f.framing, f.why),
        None => "-".to_string(),
    }
}
