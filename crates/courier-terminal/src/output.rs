//! Live output for people watching an agent: every chunk the session reads
//! from the program, fanned out to any number of viewers through a bounded
//! broadcast.
//!
//! Publishing never waits: a viewer that falls behind by more than the
//! bound loses its place (`RecvError::Lagged`) instead of slowing the
//! agent or the broker, and starts again from a fresh screen copy
//! ([`OutputWatch`]). The copy and the subscription are taken together
//! under the screen's lock, the same lock the output is fed under, so a
//! viewer misses no byte and sees none twice.

use bytes::Bytes;
use tokio::sync::broadcast;

/// Output chunks kept for a viewer that has not read them yet (each chunk
/// is one read from the terminal, up to 64 KiB). A chunk is freed once
/// every viewer has it; only a lagging viewer holds up to this many.
pub const DEFAULT_OUTPUT_CHUNKS: usize = 256;

/// The sending side, kept by a session beside its screen.
#[derive(Debug)]
pub struct OutputFanout {
    tx: broadcast::Sender<Bytes>,
}

impl OutputFanout {
    /// A fan-out that keeps up to `chunks` unread chunks per viewer (at
    /// least one).
    pub fn new(chunks: usize) -> Self {
        let (tx, _) = broadcast::channel(chunks.max(1));
        OutputFanout { tx }
    }

    /// Hands `chunk` to every viewer; copies it only when someone watches.
    /// Call it while holding the screen lock the chunk was fed under.
    pub fn publish(&self, chunk: &[u8]) {
        if self.tx.receiver_count() > 0 {
            // No receiver left between the check and the send is harmless.
            let _ = self.tx.send(Bytes::copy_from_slice(chunk));
        }
    }

    /// Every chunk published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Bytes> {
        self.tx.subscribe()
    }
}

impl Default for OutputFanout {
    fn default() -> Self {
        OutputFanout::new(DEFAULT_OUTPUT_CHUNKS)
    }
}

/// A consistent start for a viewer: the screen as it is, then every output
/// chunk after it.
#[derive(Debug)]
pub struct OutputWatch {
    /// Escape sequences that paint the screen on a fresh terminal
    /// ([`crate::screen::ScreenState::paint`]).
    pub screen: String,
    pub rows: u16,
    pub cols: u16,
    /// Output read after `screen` was taken.
    pub output: broadcast::Receiver<Bytes>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    #[test]
    fn nothing_is_copied_for_nobody_and_a_slow_viewer_lags_instead_of_blocking() {
        let fanout = OutputFanout::new(2);
        fanout.publish(b"before anyone watched");
        let mut viewer = fanout.subscribe();
        assert!(matches!(viewer.try_recv(), Err(TryRecvError::Empty)));
        for chunk in [&b"one"[..], b"two", b"three"] {
            fanout.publish(chunk);
        }
        assert!(matches!(viewer.try_recv(), Err(TryRecvError::Lagged(1))));
        assert_eq!(viewer.try_recv().unwrap(), Bytes::from_static(b"two"));
        assert_eq!(viewer.try_recv().unwrap(), Bytes::from_static(b"three"));
    }
}
