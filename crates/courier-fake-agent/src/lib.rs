//! `courier-fake-agent`: a program that behaves like the agent terminals Courier must drive (full
//! screen TUIs and plain REPLs), with one flag per quirk. See docs/fake-agent.md.
//!
//! Modules: [`cli`] (flags, main loop), `app` (the submit/busy state machine), `composer` (the
//! input buffer and what Enter does with it), `input` (bytes to keys and pastes), `render` (screen
//! drawing), `transcript` (what was submitted), `tty` (raw mode, size, signals), `hook` (a
//! UserPromptSubmit command hook, as Claude Code runs it), `draw_nothing` (the `cat`-like mode), `validate` (an editor that keeps input that does not
//! parse), `protocol` (`--protocol`: the fake as a server of an agent CLI's own protocol over
//! stdio — ACP, Codex's app server, Claude Code's stream-json — or, for Codex, on a Unix socket),
//! `remote` (`--remote`: the TUI as a client of a Codex app server; the screen side is
//! `app_remote`).

mod app;
mod busy_merge;
pub mod cli;
mod composer;
mod config;
mod draw_nothing;
mod hook;
mod input;
mod protocol;
mod remote;
mod render;
mod transcript;
mod tty;
mod validate;
mod ws_frames;

pub use cli::run;
