//! A terminal agent's served protocol (Codex's app server that its TUI
//! joined, `launch/served.rs`): the broker joins it as a second client,
//! and while joined, deliveries go through it (channel `native`); when it
//! goes away (or never comes), they are typed into the terminal instead.
//! Each change is an `agent_channel` event.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use courier_core::event::EventKind;
use courier_terminal::Terminal;
use tokio::sync::watch;

use super::context::AgentContext;
use crate::launch::served::Served;
use crate::native::NativeSession;

/// How long the first join may take before deliveries fall back to
/// keystrokes: the server starts beside the TUI (Codex: about a second).
const JOIN_WINDOW: Duration = Duration::from_secs(20);
/// Between two tries to join again after the server went away.
const REJOIN_EVERY: Duration = Duration::from_secs(2);
/// Between two connects while the server is still starting.
const CONNECT_EVERY: Duration = Duration::from_millis(25);

/// Where an agent's served protocol stands.
#[derive(Clone, Default)]
pub enum LinkState {
    /// Not a served agent: its terminal is its only channel.
    #[default]
    None,
    /// The first join is under way: deliveries wait for it.
    Joining,
    /// Joined: deliveries go through it.
    Joined(Arc<NativeSession>),
    /// Gone, or never joined: deliveries are typed (why).
    Gone(String),
}

/// The current state of an agent's served protocol, shared by its tasks.
pub struct ServedLink {
    state: watch::Sender<LinkState>,
    /// What to join; `None`: not a served agent.
    pub served: Option<Served>,
}

impl ServedLink {
    pub fn new(served: Option<Served>) -> ServedLink {
        let state = if served.is_some() {
            LinkState::Joining
        } else {
            LinkState::None
        };
        ServedLink {
            state: watch::channel(state).0,
            served,
        }
    }

    /// The session to deliver through, while joined.
    pub fn session(&self) -> Option<Arc<NativeSession>> {
        match &*self.state.borrow() {
            LinkState::Joined(session) => Some(session.clone()),
            _ => None,
        }
    }

    /// Whether deliveries wait for the first join.
    pub fn joining(&self) -> bool {
        matches!(*self.state.borrow(), LinkState::Joining)
    }

    pub fn subscribe(&self) -> watch::Receiver<LinkState> {
        self.state.subscribe()
    }
}

/// Joins the agent's served protocol and keeps it joined while the agent
/// lives, recording each change of channel.
pub async fn keep_joined(ctx: Arc<AgentContext>) {
    let Some(served) = ctx.served.served.clone() else {
        return;
    };
    let cwd = ctx
        .spec
        .cwd
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"))
        .display()
        .to_string();
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
        let fell_back = !matches!(*ctx.served.state.borrow(), LinkState::Gone(_));
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
    ctx.served.state.send_replace(state);
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
