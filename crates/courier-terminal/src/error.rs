//! Errors of the terminal side, each naming the agent (and command) concerned.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("agent {agent}: cannot open a pty of {rows}x{cols} for `{command}`: {reason}")]
    OpenPty {
        agent: String,
        command: String,
        rows: u16,
        cols: u16,
        reason: String,
    },
    #[error("agent {agent}: cannot spawn `{command}`: {reason}")]
    Spawn {
        agent: String,
        command: String,
        reason: String,
    },
    #[error("agent {agent}: cannot start the pty {what} thread: {source}")]
    Thread {
        agent: String,
        what: &'static str,
        source: io::Error,
    },
    #[error("agent {agent}: writing {len} bytes to the terminal failed: {source}")]
    Write {
        agent: String,
        len: usize,
        source: io::Error,
    },
    #[error("agent {agent}: the terminal writer is closed (the session ended)")]
    WriterClosed { agent: String },
    /// A headless agent (its CLI on pipes, spoken to in its own protocol)
    /// has no terminal to type into.
    #[error("agent {agent} is headless: it has no terminal to type into (send it a message)")]
    NoTerminal { agent: String },
    #[error("agent {agent}: resizing the terminal to {rows}x{cols} failed: {reason}")]
    Resize {
        agent: String,
        rows: u16,
        cols: u16,
        reason: String,
    },
    #[error("agent {agent}: session host at {socket}: {detail}")]
    Host {
        agent: String,
        socket: std::path::PathBuf,
        detail: String,
    },
    #[error("invalid {what} pattern `{pattern}`: {source}")]
    Pattern {
        what: &'static str,
        pattern: String,
        source: Box<regex::Error>,
    },
}

/// Compiles a configured pattern (shared with every agent that uses the
/// same one, [`crate::compiled`]), naming it in the error.
pub fn compile(what: &'static str, pattern: &str) -> Result<regex::Regex, TerminalError> {
    crate::compiled::shared(pattern).map_err(|source| TerminalError::Pattern {
        what,
        pattern: pattern.to_string(),
        source: Box::new(source),
    })
}
