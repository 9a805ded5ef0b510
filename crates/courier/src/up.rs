//! `courier up`: the broker in the foreground.

use std::process::ExitCode;

use anyhow::Context;
use courier_broker::server::RunningServer;
use courier_broker::state_dir::default_state_dir;
use courier_broker::{Broker, BrokerConfig, Durability};

use crate::cli::{Global, UpArgs};

pub async fn run(global: &Global, args: UpArgs) -> anyhow::Result<ExitCode> {
    let state_dir = global.state_dir.clone().unwrap_or_else(default_state_dir);
    let durability = if args.ephemeral {
        Durability::Ephemeral {
            state_dir: Some(state_dir.clone()),
        }
    } else {
        Durability::Durable {
            state_dir: state_dir.clone(),
        }
    };
    let mut config = BrokerConfig::new(durability);
    let acl = courier_broker::auth::acl_file::resolve(args.acl.as_deref(), &state_dir)
        .context("cannot start the broker: the rules of who may message whom are not usable")?;
    if let Some(path) = &acl.path {
        tracing::info!(
            file = %path.display(),
            rules = acl.acl.rule_count(),
            default = acl.acl.default_action().as_str(),
            "ACL loaded"
        );
    }
    config.acl = std::sync::Arc::new(acl.acl);
    config.acl_path = acl.path;
    config.listen = args.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not an address like 127.0.0.1:7777",
            args.listen
        )
    })?;
    if !config.listen.ip().is_loopback() {
        tracing::warn!(listen = %config.listen, "the API listens beyond loopback; anyone who can reach it needs only the token");
    }
    config.queue_cap = args.queue_cap;
    config.max_body_bytes = args.max_body;
    config.stuck_after = std::time::Duration::from_millis(args.stuck_after_ms.max(1));
    config.busy_stuck_after = std::time::Duration::from_millis(args.busy_stuck_after_ms.max(1));
    config.retention = std::time::Duration::from_secs(
        args.retention_hours
            .clamp(1, 1_000_000)
            .saturating_mul(3600),
    );
    config.token = global.token.clone();
    // Agents of a durable broker live in session hosts (this very binary),
    // so a crash of the broker leaves them running for the next start.
    if !args.ephemeral && !args.no_session_hosts {
        config.session_host = std::env::current_exe().ok();
    }
    config.orphan_timeout = std::time::Duration::from_secs(args.orphan_timeout_s.max(1));
    config.typing_hold = std::time::Duration::from_millis(args.typing_hold_ms);
    config.stream_buffer_chunks = args.stream_buffer_chunks.clamp(1, 65_536);
    config.federation = federation_config(&args.nats, &state_dir)?;
    config.allow_hosts = args.allow_host.clone();
    config.max_connections = args.max_connections.max(1);
    config.header_read_timeout = std::time::Duration::from_millis(args.header_timeout_ms.max(1));
    let broker = Broker::start(config).await.with_context(|| {
        format!(
            "cannot start the broker with state directory {}",
            state_dir.display()
        )
    })?;
    broker.shutdown_signal().listen_for_signals();
    let server = RunningServer::start(broker).await?;
    eprintln!(
        "courier broker listening on {} (state: {}{})\nconnection file: {}",
        server.url,
        state_dir.display(),
        if args.ephemeral { ", ephemeral" } else { "" },
        state_dir.join("connection.json").display()
    );
    server.wait().await;
    Ok(ExitCode::SUCCESS)
}

/// The workspace to join, from `--nats` and its options.
pub(crate) fn federation_config(
    args: &crate::cli::NatsArgs,
    state_dir: &std::path::Path,
) -> anyhow::Result<Option<courier_broker::federation::FederationConfig>> {
    let Some(url) = &args.url else {
        return Ok(None);
    };
    let host = match &args.host_id {
        Some(host) => host.clone(),
        None => courier_broker::federation::default_host_id(
            &std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default(),
            state_dir,
        ),
    };
    let mut config = courier_broker::federation::FederationConfig::new(url, &args.workspace, &host);
    config.creds = args.nats_creds.clone();
    config.user = args.nats_user.clone();
    config.password = args.nats_password.clone();
    config.token = args.nats_token.clone();
    config.tls_ca = args.nats_tls_ca.clone();
    config.tls_cert = args.nats_tls_cert.clone();
    config.tls_key = args.nats_tls_key.clone();
    config.require_tls = args.nats_require_tls;
    config.replicas = args.nats_replicas;
    config.monitor = args.nats_monitor.clone();
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("cannot join the workspace: {e}"))?;
    Ok(Some(config))
}
