//! `courier demo`: a broker, three agents in real terminals (a bordered TUI,
//! a line REPL and python3), direct, channel and broadcast messages, a live
//! timeline of every delivery, and a summary. No network, no API keys.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use courier_broker::server::RunningServer;
use courier_broker::{AgentSpec, Broker, BrokerConfig, Durability};
use courier_core::event::EventKind;
use courier_core::{MessageId, NewMessage, Recipient};

use crate::cli::{DemoArgs, Global};

const DEADLINE: Duration = Duration::from_secs(25);

fn agent(name: &str, command: Vec<String>) -> AgentSpec {
    AgentSpec {
        name: name.into(),
        command,
        preset: None,
        args: vec![],
        env: BTreeMap::new(),
        cwd: None,
        rows: 30,
        cols: 100,
        channels: vec!["team".into()],
        prompt_pattern: None,
        dialog_patterns: vec![],
        collapsed_paste_patterns: vec![],
        delivery: None,
        headless: false,
        protocol: None,
        submit: None,
        inert_prefix: None,
        framing: None,
        restart: None,
        task: None,
        resume: None,
        interrupt_keys: None,
        context_low_patterns: vec![],
        busy_patterns: vec![],
        idle_patterns: vec![],
    }
}

fn agents() -> anyhow::Result<Vec<AgentSpec>> {
    let exe =
        std::env::current_exe().context("cannot find the courier binary to run the demo agents")?;
    let exe = exe.display().to_string();
    let fake = |args: &[&str]| {
        let mut c = vec![exe.clone(), "fake-agent".into()];
        c.extend(args.iter().map(|a| a.to_string()));
        c
    };
    let third = if which("python3") {
        agent("carol", vec!["python3".into(), "-i".into(), "-q".into()])
    } else {
        agent(
            "carol",
            vec!["bash".into(), "--norc".into(), "--noprofile".into()],
        )
    };
    Ok(vec![
        agent(
            "alice",
            fake(&["--border", "--prompt", "❯", "--nbsp", "--reply", "on it"]),
        ),
        agent("bob", fake(&["--mode", "line", "--reply", "ack"])),
        third,
    ])
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn script(rounds: u32) -> Vec<(String, Recipient, String)> {
    let mut out = Vec::new();
    let names = ["alice", "bob", "carol"];
    for round in 0..rounds {
        for (i, from) in names.iter().enumerate() {
            let to = names[(i + 1) % names.len()];
            out.push((
                from.to_string(),
                Recipient::Agent(to.into()),
                format!("round {round}: hello {to}, this is {from}"),
            ));
        }
        out.push((
            "alice".into(),
            Recipient::Channel("team".into()),
            format!("round {round}: standup in #team"),
        ));
    }
    out.push((
        "human".into(),
        Recipient::Broadcast,
        "wrap up, please".into(),
    ));
    out
}

pub async fn run(_global: &Global, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let config = BrokerConfig::new(Durability::Ephemeral { state_dir: None });
    let broker = Broker::start(config)
        .await
        .context("cannot start the demo broker")?;
    let server = RunningServer::start(broker.clone()).await?;
    println!("courier demo: broker (in memory) at {}", server.url);
    let mut events = broker.bus().subscribe();
    for spec in agents()? {
        println!("  spawning {:<6} {}", spec.name, spec.command.join(" "));
        broker.spawn(spec).await?;
    }
    let mut sent_at: BTreeMap<MessageId, (Instant, String, String)> = BTreeMap::new();
    let mut expected = 0usize;
    for (from, to, body) in script(args.rounds) {
        let label = (from.clone(), to.to_string());
        let receipt = broker.send(NewMessage::new(from, to, body)).await?;
        expected += receipt.deliveries.len();
        sent_at.insert(
            receipt.message.id.clone(),
            (Instant::now(), label.0, label.1),
        );
    }
    println!(
        "  sent {} messages ({expected} deliveries); timeline:",
        sent_at.len()
    );
    let mut summary = Summary::default();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while summary.finished() < expected {
        let event = tokio::select! {
            e = events.recv() => e,
            _ = tokio::time::sleep_until(deadline) => break,
        };
        let Ok(event) = event else { continue };
        let ms = started.elapsed().as_millis();
        match &event.kind {
            EventKind::AgentReady { name, ready_by } => {
                println!("  {ms:>6} ms  {name} ready ({ready_by})")
            }
            EventKind::DeliveryVerified {
                message_id,
                agent,
                verification,
                reason,
                ..
            } => {
                let sent = sent_at.get(message_id);
                let latency = sent.map(|(t, ..)| t.elapsed());
                let route = sent.map_or(String::new(), |(_, from, to)| {
                    if to.starts_with('#') || to == "*" {
                        format!("{from} → {agent} via {to}")
                    } else {
                        format!("{from} → {agent}")
                    }
                });
                if let Some(l) = latency {
                    summary.latencies.push(l);
                }
                let how = match reason {
                    Some(r) => format!("{} ({r})", verification.as_str()),
                    None => verification.as_str().to_string(),
                };
                if verification.as_str() == "echo" {
                    summary.verified += 1;
                } else {
                    summary.unverified += 1;
                }
                println!(
                    "  {ms:>6} ms  {route:<26} {how:<8} send→verified {:>7.1} ms  ({message_id})",
                    latency.unwrap_or_default().as_secs_f64() * 1000.0
                );
            }
            EventKind::DeliveryDropped { name, count, .. } => {
                summary.dropped += *count as usize;
                println!("  {ms:>6} ms  {count} dropped for {name} (queue full)");
            }
            EventKind::DeliveryDead { agent, reason, .. } => {
                summary.dead += 1;
                println!("  {ms:>6} ms  dead letter for {agent}: {reason}");
            }
            EventKind::DeliveryRetry { agent, reason, .. } => {
                println!("  {ms:>6} ms  retry for {agent}: {reason}")
            }
            _ => {}
        }
    }
    broker.stop().await;
    summary.print(sent_at.len(), expected, started.elapsed());
    Ok(if summary.finished() == expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Default)]
struct Summary {
    verified: usize,
    unverified: usize,
    dropped: usize,
    dead: usize,
    latencies: Vec<Duration>,
}

impl Summary {
    fn finished(&self) -> usize {
        self.verified + self.unverified + self.dropped + self.dead
    }

    fn print(&mut self, messages: usize, expected: usize, took: Duration) {
        self.latencies.sort();
        let pct = |p: f64| -> f64 {
            if self.latencies.is_empty() {
                return 0.0;
            }
            let i = ((self.latencies.len() - 1) as f64 * p).round() as usize;
            self.latencies[i].as_secs_f64() * 1000.0
        };
        println!("\nsummary after {:.1} s", took.as_secs_f64());
        println!("  messages sent      {messages}");
        println!("  deliveries         {expected}");
        println!("  verified (echo)    {}", self.verified);
        println!("  unverified         {}", self.unverified);
        println!("  dropped            {}", self.dropped);
        println!("  dead               {}", self.dead);
        println!(
            "  send → verified    p50 {:.1} ms, p99 {:.1} ms (includes waiting for readiness)",
            pct(0.5),
            pct(0.99)
        );
        let missing = expected.saturating_sub(self.finished());
        if missing > 0 {
            println!("  NOT FINISHED       {missing} (deadline reached)");
        }
    }
}
