//! Joins a terminal agent's served protocol as a second client (its TUI is
//! the first) and keeps it joined while the agent lives: while joined,
//! deliveries go through it (channel `native`); when it goes away (or never
//! comes), they are typed into the terminal instead. Each change is an
//! `agent_channel` event.

use std::sync::Arc;
use std::time::Duration;

use courier_core::event::EventKind;
use courier_terminal::Terminal;

use super::context::AgentContext;
use super::served_link::LinkState;
use crate::launch::served::Served;
use crate::native::NativeSession;

/// How long the first join may take before deliveries fall back to
/// keystrokes: the server starts beside the TUI (Codex: about a second).
const JOIN_WINDOW: Duration = Duration::from_secs(20);
/// Between two tries to join again after the server went away.
const REJOIN_EVERY: Duration = Duration::from_secs(2);
/// Between two connects while the server is still starting.
const CONNECT_EVERY: Duration = Duration::from_millis(25);

/// Joins the agent's served protocol and keeps it joined while the agent
/// lives, recording each change of channel.
pub async fn keep_joined(ctx: Arc<AgentContext>) {
    let Some(served) = ctx.served.served.clone() else {
        return;
    };
    let cwd = ctx.workdir();
    let mut window = Some(tokio::time::Instant::now() + JOIN_WINDOW);
    loop {
        let joined = tokio::select! {
            joined = join(&served, &cwd, window) => joined,
            _ = ctx.session.wait_exit() => return,
            _ = ctx.shutdown.wait() => return,
        };
        let why = match joined {
            Ok((session, thread)) => {
                set(&ctx, LinkState::Joined(session.clone()));
                let why = format!(
                    "joined the {} on {} (thread {thread})",
                    served.protocol.as_str(),
                    served.socket.display()
                );
                channel_event(&ctx, "native", why).await;
                tokio::select! {
                    why = session.wait_closed() => format!("the {} went away: {why}", served.protocol.as_str()),
                    _ = ctx.session.wait_exit() => return,
                    _ = ctx.shutdown.wait() => return,
                }
            }
            Err(why) => why,
        };
        let fell_back = !ctx.served.gone();
        set(&ctx, LinkState::Gone(why.clone()));
        if fell_back {
            channel_event(&ctx, "keystrokes", why).await;
        }
        window = None;
        tokio::select! {
            () = tokio::time::sleep(REJOIN_EVERY) => {}
            _ = ctx.session.wait_exit() => return,
            _ = ctx.shutdown.wait() => return,
        }
    }
}

/// Connects (trying again until `window` ends while the server starts;
/// once without a window) and joins the TUI's thread.
async fn join(
    served: &Served,
    cwd: &str,
    window: Option<tokio::time::Instant>,
) -> Result<(Arc<NativeSession>, String), String> {
    let session = loop {
        match NativeSession::join_served(served.protocol, &served.socket).await {
            Ok(session) => break session,
            Err(why) => match window {
                Some(end) if tokio::time::Instant::now() < end => {
                    tokio::time::sleep(CONNECT_EVERY).await;
                }
                _ => {
                    return Err(format!(
                        "the {} never listened: {why}",
                        served.protocol.as_str()
                    ));
                }
            },
        }
    };
    let thread = session
        .handshake(cwd)
        .await
        .map_err(|why| format!("joining the {} failed: {why}", served.protocol.as_str()))?;
    Ok((Arc::new(session), thread))
}

fn set(ctx: &AgentContext, state: LinkState) {
    ctx.served.set(state);
    ctx.wake.notify_one();
}

async fn channel_event(ctx: &AgentContext, channel: &str, why: String) {
    tracing::info!(channel, %why, "delivery channel");
    ctx.record(EventKind::AgentChannel {
        name: ctx.spec.name.clone(),
        channel: channel.to_string(),
        why,
    })
    .await;
}
