//! `--protocol …`: the fake agent as a server of an agent CLI's own protocol over stdio, instead of
//! a terminal program. Each is a minimal but faithful server of the real protocol (the shapes
//! it sends are kept with their sources in `crates/courier-fake-agent/protocols/`):
//!
//! - [`acp`]: the Agent Client Protocol v1, as `gemini --acp` serves it;
//! - [`codex`]: Codex's app server (`codex app-server`), JSON-RPC without the `jsonrpc` member;
//! - [`claude`]: Claude Code headless with `--input-format stream-json --output-format
//!   stream-json --verbose`.
//!
//! Each turn's reply echoes its input, so a test can tell which message started which turn. The
//! failure flags (`--refuse`, `--crash-after`, `--close-stdout-after`, `--ack-delay-ms`) and the
//! transcript of accepted inputs are shared ([`policy`]); so is the event loop ([`runner`]).
//! Codex's server can also listen on a Unix socket for WebSocket clients ([`listen`]).

pub mod acp;
pub mod claude;
pub mod codex;
mod codex_requests;
pub mod jsonrpc;
pub mod listen;
pub mod policy;
pub mod runner;

use crate::transcript::Transcript;
use policy::{Policy, Settings};

/// Which protocol to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Acp,
    CodexAppServer,
    ClaudeStreamJson,
}

/// Serves `protocol` on stdin/stdout until end of input, or (Codex only) on the Unix socket
/// `listen` until a signal; returns the exit code.
pub fn run(
    protocol: Protocol,
    settings: Settings,
    transcript: Option<Transcript>,
    listen: Option<&std::path::Path>,
) -> u8 {
    let ack_delay = settings.ack_delay;
    let policy = Policy::new(settings, transcript);
    match protocol {
        Protocol::Acp => runner::run(&mut acp::Acp::new(policy), ack_delay),
        Protocol::CodexAppServer => match listen {
            Some(path) => listen::run(&mut codex::Codex::new(policy), path, ack_delay),
            None => runner::run(&mut codex::Codex::new(policy), ack_delay),
        },
        Protocol::ClaudeStreamJson => runner::run(&mut claude::Claude::new(policy), ack_delay),
    }
}
