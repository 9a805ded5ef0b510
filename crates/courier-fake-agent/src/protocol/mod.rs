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

pub mod acp;
pub mod claude;
pub mod codex;
mod codex_requests;
pub mod jsonrpc;
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

/// Serves `protocol` on stdin/stdout until end of input; returns the exit code.
pub fn run(protocol: Protocol, settings: Settings, transcript: Option<Transcript>) -> u8 {
    let ack_delay = settings.ack_delay;
    let policy = Policy::new(settings, transcript);
    match protocol {
        Protocol::Acp => runner::run(&mut acp::Acp::new(policy), ack_delay),
        Protocol::CodexAppServer => runner::run(&mut codex::Codex::new(policy), ack_delay),
        Protocol::ClaudeStreamJson => runner::run(&mut claude::Claude::new(policy), ack_delay),
    }
}
