//! `courier mcp`: Courier's MCP server over stdio, started by an agent CLI
//! (Claude Code, Codex, Gemini CLI, opencode) that Courier spawned.
//!
//! - [`config`]: the agent's identity from `COURIER_URL`, `COURIER_AGENT`,
//!   `COURIER_TOKEN`;
//! - [`client`]: the broker's HTTP API, called with the agent's token;
//! - [`args`]: the tools' arguments and their JSON schemas;
//! - [`types`]: the broker's answers;
//! - [`inbox`]: what `read_inbox` shows, so no message reaches the agent twice;
//! - [`format`]: what the model reads back;
//! - [`server`]: the tools themselves (rmcp).
//!
//! stdout carries the protocol and nothing else; diagnostics go to stderr.

pub mod args;
pub mod client;
pub mod config;
pub mod format;
pub mod inbox;
pub mod server;
pub mod types;

use anyhow::Context;
use rmcp::ServiceExt;

pub use config::{Config, ConfigError};
pub use server::CourierServer;

/// Serves MCP on stdin/stdout for the agent named in the environment,
/// until the client closes the connection.
pub async fn serve_stdio() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    serve_stdio_with(config).await
}

/// Same, with an explicit identity.
pub async fn serve_stdio_with(config: Config) -> anyhow::Result<()> {
    tracing::debug!(agent = %config.agent, url = %config.url, "courier mcp starting");
    let service = CourierServer::new(config)
        .serve(rmcp::transport::stdio())
        .await
        .context("MCP handshake on stdio failed")?;
    service
        .waiting()
        .await
        .context("the MCP server stopped abnormally")?;
    Ok(())
}
