//! A native protocol session, whichever protocol the CLI speaks: the
//! handshake, one message's turn at a time and its answer, the
//! conversation streamed meanwhile, cancelling the turn. The delivery
//! path, the watcher and `courier interrupt` speak to this, never to one
//! protocol's client.

use courier_core::NativeProtocol;
use tokio::sync::watch;

use super::acp::{AcpClient, PendingPrompt};
use super::claude::{ClaudeClient, PendingTurn};
use super::codex::{self, CodexClient};
use super::jsonrpc::{AgentInput, AgentOutput};
use super::turn::{PromptAnswer, Update};

/// One headless agent's protocol client.
pub enum NativeSession {
    /// The Agent Client Protocol (`gemini --acp`).
    Acp(AcpClient),
    /// Claude Code's stream-json.
    Claude(ClaudeClient),
    /// Codex's app server.
    Codex(CodexClient),
}

/// A message written, the answer of its turn to come.
pub enum Pending<'a> {
    Acp(PendingPrompt),
    Claude(PendingTurn<'a>),
    Codex(codex::PendingTurn<'a>),
}

impl Pending<'_> {
    /// How the turn that carries the message ended.
    pub async fn answer(self) -> PromptAnswer {
        match self {
            Pending::Acp(p) => p.answer().await,
            Pending::Claude(p) => p.answer().await,
            Pending::Codex(p) => p.answer().await,
        }
    }
}

impl NativeSession {
    /// A client of `protocol` on a headless agent's stdio (nothing sent yet).
    pub fn new(protocol: NativeProtocol, stdin: AgentInput, stdout: AgentOutput) -> Self {
        match protocol {
            NativeProtocol::Acp => NativeSession::Acp(AcpClient::new(stdin, stdout)),
            NativeProtocol::ClaudeStreamJson => {
                NativeSession::Claude(ClaudeClient::new(stdin, stdout))
            }
            NativeProtocol::CodexAppServer => NativeSession::Codex(CodexClient::new(stdin, stdout)),
        }
    }

    /// A client of the app server a TUI shares, on `socket` (WebSocket
    /// frames on a Unix socket): only Codex's app server is served so.
    pub async fn join_served(
        protocol: NativeProtocol,
        socket: &std::path::Path,
    ) -> Result<Self, String> {
        if protocol != NativeProtocol::CodexAppServer {
            return Err(format!(
                "{} is not served to a TUI; only codex-app-server is",
                protocol.as_str()
            ));
        }
        let (output, input) = super::websocket::connect(socket).await?;
        Ok(NativeSession::Codex(CodexClient::joining(input, output)))
    }

    /// The protocol's name (`acp`, `claude-stream-json`, `codex-app-server`).
    pub fn protocol(&self) -> NativeProtocol {
        match self {
            NativeSession::Acp(_) => NativeProtocol::Acp,
            NativeSession::Claude(_) => NativeProtocol::ClaudeStreamJson,
            NativeSession::Codex(_) => NativeProtocol::CodexAppServer,
        }
    }

    /// The protocol's handshake; the session's id once it is done.
    pub async fn handshake(&self, cwd: &str) -> Result<String, String> {
        match self {
            NativeSession::Acp(c) => c.handshake(cwd).await,
            NativeSession::Claude(c) => c.handshake().await,
            NativeSession::Codex(c) => c.handshake(cwd).await,
        }
    }

    /// Writes one message's text; `steer`: into the running turn, where
    /// the protocol can (Codex's `turn/steer`; the others queue it for
    /// after the turn). `Err`: nothing was written.
    pub async fn prompt(&self, text: &str, steer: bool) -> Result<Pending<'_>, String> {
        match self {
            NativeSession::Acp(c) => c.prompt(text).await.map(Pending::Acp),
            NativeSession::Claude(c) => c.prompt(text).await.map(Pending::Claude),
            NativeSession::Codex(c) => c.prompt(text, steer).await.map(Pending::Codex),
        }
    }

    /// Cancels the running turn; what the request is called, for a person.
    pub async fn cancel(&self) -> Result<&'static str, String> {
        match self {
            NativeSession::Acp(c) => c.cancel().await.map(|()| "session/cancel"),
            NativeSession::Claude(c) => c.cancel().await.map(|()| "interrupt"),
            NativeSession::Codex(c) => c.cancel().await.map(|()| "turn/interrupt"),
        }
    }

    /// Whether a turn runs, kept current.
    pub fn turn(&self) -> watch::Receiver<bool> {
        match self {
            NativeSession::Acp(c) => c.turn(),
            NativeSession::Claude(c) => c.turn(),
            NativeSession::Codex(c) => c.turn(),
        }
    }

    /// Marks a turn running or over (the delivery that started it knows).
    pub fn set_turn(&self, running: bool) {
        match self {
            NativeSession::Acp(c) => c.set_turn(running),
            NativeSession::Claude(c) => c.set_turn(running),
            NativeSession::Codex(c) => c.set_turn(running),
        }
    }

    /// Whether the agent's output ended, and why.
    pub fn closed(&self) -> Option<String> {
        match self {
            NativeSession::Acp(c) => c.closed(),
            NativeSession::Claude(c) => c.closed(),
            NativeSession::Codex(c) => c.closed(),
        }
    }

    /// Whether a message can be steered into the running turn now (only
    /// Codex can: `turn/steer`).
    pub fn can_steer(&self) -> bool {
        match self {
            NativeSession::Codex(c) => c.can_steer(),
            NativeSession::Acp(_) | NativeSession::Claude(_) => false,
        }
    }

    /// Waits until the agent's output ended; why.
    pub async fn wait_closed(&self) -> String {
        match self {
            NativeSession::Acp(c) => c.wait_closed().await,
            NativeSession::Claude(c) => c.wait_closed().await,
            NativeSession::Codex(c) => c.wait_closed().await,
        }
    }

    /// Drops what was streamed before now (between turns).
    pub async fn drain_updates(&self) {
        match self {
            NativeSession::Acp(c) => c.drain_updates().await,
            NativeSession::Claude(c) => c.drain_updates().await,
            NativeSession::Codex(c) => c.drain_updates().await,
        }
    }

    /// The next update of the running turn; `None` once the output ended.
    pub async fn next_update(&self) -> Option<Update> {
        match self {
            NativeSession::Acp(c) => c.next_update().await,
            NativeSession::Claude(c) => c.next_update().await,
            NativeSession::Codex(c) => c.next_update().await,
        }
    }
}
