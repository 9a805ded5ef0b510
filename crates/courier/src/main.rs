//! `courier`: the broker daemon and its command-line client.
//!
//! - [`cli`]: flags and subcommands (clap);
//! - [`client`]: the HTTP client that talks to a running broker;
//! - [`commands`]: one function per client subcommand;
//! - [`output`]: tables for people, JSON for scripts;
//! - [`up`]: running the broker in the foreground;
//! - [`demo`]: a self-contained tour with real agents in real terminals;
//! - [`attach`]: a person driving an agent's terminal, live over its
//!   terminal stream; [`tty`]: the person's own terminal meanwhile;
//! - [`open`]: the dashboard's one-time login URL;
//! - [`malloc_arenas`]: fewer glibc arenas, so freed memory is reused.

mod ask_cmd;
mod attach;
mod cli;
mod client;
mod commands;
mod delivery_cmds;
mod demo;
mod doctor;
mod event_stream;
mod hook;
mod malloc_arenas;
mod open;
mod ops_cmds;
mod output;
mod served_tui;
mod token_cmds;
mod transcript_cmd;
mod tty;
mod up;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};

fn main() -> ExitCode {
    malloc_arenas::limit();
    let mut args = std::env::args_os();
    let program = args.next();
    let rest: Vec<_> = args.collect();
    // The fake agent ships inside this binary so that `courier demo` needs
    // nothing else on the machine.
    if rest.first().is_some_and(|a| a == "fake-agent") {
        let argv = std::iter::once(std::ffi::OsString::from("courier fake-agent"))
            .chain(rest.into_iter().skip(1));
        return courier_fake_agent::run(argv);
    }
    let cli = Cli::parse_from(program.into_iter().chain(rest));
    // Before any runtime: it becomes the TUI (exec), its server's parent.
    if let Command::ServedTui(args) = &cli.command {
        return served_tui::run(args);
    }
    init_tracing(&cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // An error can quote the broker, which can quote a sender.
            let text = format!("{e:#}");
            eprintln!("error: {}", courier_core::display::for_terminal(&text));
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(command: &Command) {
    let default = match command {
        Command::Up(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Up(args) => up::run(g, args).await,
        Command::Demo(args) => demo::run(g, args).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "courier",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            println!("{}", courier_protocol::openapi::document());
            Ok(ExitCode::SUCCESS)
        }
        Command::Attach(args) => attach::run(g, &args).await,
        Command::Doctor(args) => doctor::run(g, &args),
        Command::Open(args) => open::run(g, args).await,
        // Before connecting: outside Courier a hook must do nothing, quietly.
        Command::Hook { event } => hook::main(g, &event).await,
        Command::Mcp => {
            courier_mcp::serve_stdio().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SessionHost {
            socket,
            orphan_timeout_ms,
        } => session_host(socket, orphan_timeout_ms).await,
        other => commands::run(g, other).await,
    }
}

/// `courier session-host`: serves one agent's terminal until it ends.
async fn session_host(
    socket: std::path::PathBuf,
    orphan_timeout_ms: u64,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    use tokio::io::AsyncReadExt;
    let mut json = Vec::new();
    tokio::io::stdin()
        .read_to_end(&mut json)
        .await
        .context("reading the spawn spec from stdin")?;
    let spec: courier_terminal::SpawnSpec =
        serde_json::from_slice(&json).context("the spawn spec on stdin is not valid JSON")?;
    let opts = courier_terminal::host::HostOptions {
        socket,
        orphan_timeout: std::time::Duration::from_millis(orphan_timeout_ms),
        // This process hosts one agent and nothing else: it adopts (and
        // reaps) what the agent's session leaves behind.
        adopter: courier_terminal::host::adopter::adopt_orphans(),
    };
    let end = courier_terminal::host::serve(spec, opts).await?;
    tracing::info!(?end, "session host done");
    Ok(ExitCode::SUCCESS)
}
