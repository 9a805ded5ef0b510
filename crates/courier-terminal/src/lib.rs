//! Courier's terminal side: agents run in PTYs, and every delivery is proved
//! by reading the rendered screen.
//!
//! Components, one per module:
//!
//! - [`terminal`]: the [`Terminal`] trait the broker talks to (write, resize,
//!   snapshot, subscribe, kill, wait for exit, pid, id), so sessions can later
//!   live in a detached host process.
//! - [`session`]: [`Session`], a program in a PTY owned by this process.
//! - [`host`]: a session served by a separate host process so that it
//!   outlives the broker ([`host::RemoteSession`] on the broker's side).
//! - [`pty`]: opening the PTY, spawning as a session leader (`setsid`), and
//!   the reader / writer / waiter threads that keep blocking I/O off tokio.
//! - [`process_group`]: finding and ending everything a session started
//!   (process group, descendants, and detached helpers via an env cookie).
//! - [`screen`]: the vt100 screen model with output times and a change counter.
//! - [`output`]: live output for viewers, a bounded broadcast per session
//!   ([`output::OutputWatch`]: a screen copy and the bytes after it).
//! - [`foreground`]: which process reads the terminal now (the
//!   foreground group, through shells that started it and terminals
//!   opened by `script`), so a message is framed for what reads it.
//! - [`tty_probe`]: what the kernel knows about an agent's terminal
//!   (canonical mode, echo, foreground group, a reader blocked on it), so a
//!   line program that draws no prompt (`cat`) is seen waiting for a line.
//! - [`readiness`]: the pure ready / not-ready decision from a snapshot and
//!   the times; [`wait`]: waiting on screen changes without polling.
//! - [`inject`]: the pure byte builder (bracketed paste or one line).
//! - [`normalize`] and [`verify`]: pure screen normalizing and matching
//!   (echo, a trace specific to one message).
//! - [`input_line`]: is the input empty, a draft, or unknown; the signature
//!   of an empty prompt; whether it still holds a given text
//!   ([`input_line::holds_text`]) and the hold on it: the one check the
//!   submission verdict, the resume and the broker's hold share.
//! - [`submit`]: the Enter step of a delivery (settle, Enter, retry Enter
//!   alone, learn the composer's window).
//! - [`submission`]: the pure verdict after Enter: did the text leave the
//!   input (never while the input holds it, whatever is drawn under it; never
//!   judged by cursor movement, nor on a half-drawn frame)?
//! - [`deliver`](mod@deliver): the whole sequence for one text, returning a
//!   [`DeliveryReport`]; [`enter_timing`]: what a composer taught about
//!   when Enter submits (its paste-to-Enter window, found by search).
//! - [`resume`]: settling, from a surviving session's screen, a delivery a
//!   previous broker left in flight.
//! - [`write_failure`]: the pure rule for a failed write (failed only when
//!   nothing can be doubled, unverified once anything may have arrived).
//! - [`error`]: [`TerminalError`], naming the agent and command.

pub mod compiled;
pub mod deliver;
pub mod enter_timing;
pub mod error;
pub mod foreground;
pub mod host;
pub mod inject;
pub mod input_line;
pub mod normalize;
pub mod output;
pub mod process_group;
pub mod pty;
pub mod readiness;
pub mod resume;
pub mod screen;
pub mod session;
pub mod submission;
pub mod submit;
pub mod terminal;
pub mod tty_probe;
pub mod verify;
pub mod wait;
pub mod write_failure;

pub use deliver::{
    BeforeEnter, DeliverOptions, DeliveryOutcome, DeliveryReport, NoHook, deliver, deliver_with,
};
pub use error::TerminalError;
pub use output::{DEFAULT_OUTPUT_CHUNKS, OutputWatch};
pub use pty::SpawnSpec;
pub use readiness::{Activity, NotReady, ReadinessConfig, ReadyBy};
pub use screen::Snapshot;
pub use session::Session;
pub use terminal::{ExitInfo, Terminal};
pub use wait::wait_ready;
