//! The event loop every protocol mode shares: JSON lines in on stdin, JSON lines out on stdout,
//! timers, and the exits the failure flags ask for.
//!
//! A protocol is a [`Server`]: it is handed each message (after the acknowledgement delay) and each
//! of its own timers, and answers by putting [`Step`]s in an [`Outbox`]. The loop carries them out
//! in time order, so a server stays free of I/O but for its transcript.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::draw_nothing::Lines;
use crate::tty;

/// The longest the loop waits without looking at the signal flags.
const SIGNAL_TICK_MS: i32 = 100;

/// A timer a server asks for.
pub trait Timer {
    /// Whether this timer is a turn's think time, which SIGUSR1 cuts short.
    fn is_think(&self) -> bool;
}

/// One protocol's server.
pub trait Server {
    type Timer: Timer;
    /// One JSON value read from stdin (a line that parsed).
    fn on_message(&mut self, msg: Value, out: &mut Outbox<Self::Timer>);
    /// A timer this server set fired.
    fn on_timer(&mut self, timer: Self::Timer, out: &mut Outbox<Self::Timer>);
    /// A line that is not JSON. Real servers differ; the default reports it on stderr.
    fn on_garbage(&mut self, line: &str, _out: &mut Outbox<Self::Timer>) {
        eprintln!("courier-fake-agent: ignoring a line that is not JSON: {line:?}");
    }
}

/// What the loop does, in time order.
pub enum Step<T> {
    /// Write one JSON line to stdout.
    Send(Value),
    /// Hand a message read from stdin to the server (after the acknowledgement delay).
    Deliver(Value),
    /// Fire one of the server's timers.
    Fire(T),
    /// Exit at once with this code; nothing queued after it is sent.
    Exit(u8),
    /// Point stdout at /dev/null: the reader sees end of file, the process lives on.
    CloseStdout,
}

/// The steps waiting to be carried out, ordered by due time and then by the order they were made.
pub struct Outbox<T> {
    now: Instant,
    seq: u64,
    queue: BTreeMap<(Instant, u64), Step<T>>,
}

impl<T: Timer> Outbox<T> {
    pub fn new(now: Instant) -> Self {
        Outbox {
            now,
            seq: 0,
            queue: BTreeMap::new(),
        }
    }

    /// The time the current message or timer is handled at.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Sets the time the next steps are handled at.
    pub(super) fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    /// Sends `msg` now (after everything already due now).
    pub fn send(&mut self, msg: Value) {
        self.push(Duration::ZERO, Step::Send(msg));
    }

    /// Fires `timer` after `delay`.
    pub fn timer(&mut self, delay: Duration, timer: T) {
        self.push(delay, Step::Fire(timer));
    }

    /// Exits with `code` once what is already due now has been sent.
    pub fn exit(&mut self, code: u8) {
        self.push(Duration::ZERO, Step::Exit(code));
    }

    /// Closes stdout once what is already due now has been sent.
    pub fn close_stdout(&mut self) {
        self.push(Duration::ZERO, Step::CloseStdout);
    }

    /// Carries out `step` after `delay`.
    pub(super) fn push(&mut self, delay: Duration, step: Step<T>) {
        self.seq += 1;
        self.queue.insert((self.now + delay, self.seq), step);
    }

    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Step<T>> {
        let (&(at, _), _) = self.queue.first_key_value()?;
        if at > now {
            return None;
        }
        self.queue.pop_first().map(|(_, step)| step)
    }

    pub(super) fn next_due(&self) -> Option<Instant> {
        self.queue.first_key_value().map(|(&(at, _), _)| at)
    }

    /// SIGUSR1: every pending think timer fires now, in the order they were set.
    pub(super) fn hurry(&mut self, now: Instant) {
        let keys: Vec<(Instant, u64)> = self
            .queue
            .iter()
            .filter(|(_, step)| matches!(step, Step::Fire(t) if t.is_think()))
            .map(|(&k, _)| k)
            .collect();
        for key in keys {
            if let Some(step) = self.queue.remove(&key) {
                self.queue.insert((now, key.1), step);
            }
        }
    }
}

/// Runs `server` until end of input with nothing left to do, a signal, a failure step, or the
/// reader of stdout going away. Returns the exit code: 0, 130 on SIGINT, or what a step asked for.
pub fn run<S: Server>(server: &mut S, ack_delay: Duration) -> u8 {
    tty::install_signal_handlers();
    tty::install_hurry_handler();
    let mut out = Outbox::new(Instant::now());
    let mut lines = Lines::default();
    let mut eof = false;
    let mut stdout_open = true;
    let mut buf = [0u8; 65536];
    loop {
        let now = Instant::now();
        out.now = now;
        if tty::take_hurry() {
            out.hurry(now);
        }
        while let Some(step) = out.pop_due(now) {
            match step {
                Step::Send(msg) => {
                    if stdout_open && !write_line(&msg) {
                        return 0; // the reader of our stdout went away
                    }
                }
                Step::Deliver(msg) => server.on_message(msg, &mut out),
                Step::Fire(timer) => server.on_timer(timer, &mut out),
                Step::Exit(code) => return code,
                Step::CloseStdout => {
                    if let Err(e) = tty::close_stdout() {
                        eprintln!("courier-fake-agent: cannot close stdout: {e}");
                        return 1;
                    }
                    stdout_open = false;
                }
            }
        }
        if let Some(sig) = tty::term_signal() {
            return if sig == libc::SIGINT { 130 } else { 0 };
        }
        let next = out.next_due();
        if eof && next.is_none() {
            return 0;
        }
        // Bounded, so a signal that lands between the checks above and the poll (and so does not
        // interrupt it) is seen within one tick.
        let timeout = next.map_or(SIGNAL_TICK_MS, |at| {
            let ms = at.saturating_duration_since(Instant::now()).as_millis();
            i32::try_from(ms.saturating_add(1)).map_or(SIGNAL_TICK_MS, |ms| ms.min(SIGNAL_TICK_MS))
        });
        match tty::poll_input(!eof, timeout) {
            Ok(true) => match tty::read_stdin(&mut buf) {
                Ok(Some(0)) | Err(_) => {
                    eof = true;
                    if let Some(last) = lines.finish() {
                        deliver(server, &mut out, &last, ack_delay);
                    }
                }
                Ok(Some(n)) => {
                    out.now = Instant::now();
                    for line in lines.feed(&buf[..n]) {
                        deliver(server, &mut out, &line, ack_delay);
                    }
                }
                Ok(None) => {}
            },
            Ok(false) => {}
            Err(e) => {
                eprintln!("courier-fake-agent: cannot poll stdin: {e}");
                return 1;
            }
        }
    }
}

/// Queues one line read from stdin for the server, `ack_delay` from now.
fn deliver<S: Server>(server: &mut S, out: &mut Outbox<S::Timer>, line: &str, ack_delay: Duration) {
    let line = line.trim_end_matches('\r');
    if line.trim().is_empty() {
        return;
    }
    match serde_json::from_str::<Value>(line) {
        Ok(msg) => out.push(ack_delay, Step::Deliver(msg)),
        Err(_) => server.on_garbage(line, out),
    }
}

/// Writes one JSON line and flushes; false when stdout is gone.
fn write_line(msg: &Value) -> bool {
    let mut line = msg.to_string();
    line.push('\n');
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(line.as_bytes())
        .and_then(|()| stdout.flush())
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum T {
        Think(u8),
        Other,
    }

    impl Timer for T {
        fn is_think(&self) -> bool {
            matches!(self, T::Think(_))
        }
    }

    #[test]
    fn steps_come_out_in_time_then_creation_order_and_hurry_moves_only_think_timers() {
        let t0 = Instant::now();
        let mut out: Outbox<T> = Outbox::new(t0);
        out.timer(Duration::from_secs(60), T::Think(1));
        out.timer(Duration::from_secs(30), T::Other);
        out.send(serde_json::json!(1));
        out.send(serde_json::json!(2));
        let firsts: Vec<Value> = std::iter::from_fn(|| match out.pop_due(t0) {
            Some(Step::Send(v)) => Some(v),
            _ => None,
        })
        .collect();
        assert_eq!(firsts, [serde_json::json!(1), serde_json::json!(2)]);
        out.hurry(t0);
        assert!(matches!(out.pop_due(t0), Some(Step::Fire(T::Think(1)))));
        assert!(out.pop_due(t0).is_none(), "the other timer keeps its time");
        assert_eq!(out.next_due(), Some(t0 + Duration::from_secs(30)));
    }
}
