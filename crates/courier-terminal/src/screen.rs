//! The screen model: every output byte of a session goes through a vt100
//! emulator; this module keeps it with the output times and a change counter.
//!
//! [`ScreenState`] is plain data (fed by the pty reader thread under a
//! mutex); [`Snapshot`] is what everything else reads.

use std::num::NonZeroU16;
use std::time::{Duration, Instant};

/// A synchronized update (DECSET 2026) left open longer than this no
/// longer hides the screen: terminals end it on a timeout too, so a program
/// that never closes one cannot freeze every judgement.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(1);
const SYNC_BEGIN: &[u8] = b"\x1b[?2026h";
const SYNC_END: &[u8] = b"\x1b[?2026l";

/// Default number of scrollback rows kept per session.
/// Rows kept above the screen. Each row costs ~40 bytes per column, so
/// 200 rows of 120 columns is ~1 MB per agent once filled; verification
/// reads at most this many.
pub const DEFAULT_SCROLLBACK: usize = 200;

/// The emulator plus what readiness and verification need to know about output.
pub struct ScreenState {
    parser: vt100::Parser,
    first_output: Option<Instant>,
    last_output: Option<Instant>,
    output_bytes: u64,
    seq: u64,
    /// When the synchronized update in progress began (DECSET 2026 set and
    /// not yet reset): the screen is then a half-drawn frame.
    sync_since: Option<Instant>,
    /// The last bytes fed, so a mode switch split across reads is seen.
    tail: Vec<u8>,
    /// The rows last rendered, for the screen as it was then: a snapshot
    /// of a screen that did not change since is a copy, not a render (the
    /// delivery path looks at one screen several times; rendering its rows
    /// was a quarter of the broker's CPU per delivery).
    rendered: Option<Rendered>,
}

/// Rows rendered for one (`seq`, size, scrollback wanted).
struct Rendered {
    key: (u64, (u16, u16), usize),
    rows: Vec<String>,
    scrollback: Vec<String>,
}

/// A copy of what the screen shows at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Visible rows, plain text (cells never written are left out).
    pub rows: Vec<String>,
    /// The newest scrollback rows (oldest first), as many as asked for; empty
    /// on the alternate screen.
    pub scrollback: Vec<String>,
    /// (row, col), zero based.
    pub cursor: (u16, u16),
    pub cursor_hidden: bool,
    pub alternate_screen: bool,
    /// The program enabled bracketed paste (DECSET 2004).
    pub bracketed_paste: bool,
    /// (rows, cols).
    pub size: (u16, u16),
    pub first_output_at: Option<Instant>,
    pub last_output_at: Option<Instant>,
    pub output_bytes: u64,
    /// Increments on every chunk of output.
    pub seq: u64,
    /// The program is inside a synchronized update (DECSET 2026) begun less
    /// than [`SYNC_TIMEOUT`] ago: this is a half-drawn frame that proves
    /// nothing, neither an echo nor its absence.
    pub mid_frame: bool,
    /// When that update began, so a waiter can look again at its timeout.
    pub mid_frame_since: Option<Instant>,
}

impl Snapshot {
    /// A screen showing `rows` with the cursor at `cursor` (row, col), as
    /// the pure checks' tests build them: drawn, not in a frame update.
    #[cfg(test)]
    pub(crate) fn of_rows(rows: &[&str], cursor: (u16, u16)) -> Snapshot {
        Snapshot {
            rows: rows.iter().map(|s| s.to_string()).collect(),
            scrollback: vec![],
            cursor,
            cursor_hidden: false,
            alternate_screen: true,
            bracketed_paste: true,
            size: (rows.len() as u16, 60),
            first_output_at: None,
            last_output_at: None,
            output_bytes: 1,
            seq: 1,
            mid_frame: false,
            mid_frame_since: None,
        }
    }

    /// The visible rows joined by newlines, trailing blank rows dropped.
    pub fn text(&self) -> String {
        let end = self
            .rows
            .iter()
            .rposition(|r| !r.trim().is_empty())
            .map_or(0, |i| i + 1);
        self.rows[..end].join("\n")
    }

    /// The row the cursor is on ("" when outside the screen).
    pub fn cursor_row(&self) -> &str {
        self.rows
            .get(usize::from(self.cursor.0))
            .map_or("", String::as_str)
    }

    /// Nothing but blanks on the visible screen.
    pub fn is_blank(&self) -> bool {
        self.rows.iter().all(|r| r.trim().is_empty())
    }
}

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

impl ScreenState {
    pub fn new(rows: u16, cols: u16, scrollback: usize) -> Self {
        ScreenState {
            parser: vt100::Parser::new(nz(rows), nz(cols), scrollback),
            first_output: None,
            last_output: None,
            output_bytes: 0,
            seq: 0,
            sync_since: None,
            tail: Vec::new(),
            rendered: None,
        }
    }

    /// Feeds output bytes received at `now`.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) {
        if bytes.is_empty() {
            return;
        }
        self.parser.process(bytes);
        self.track_sync(bytes, now);
        self.first_output.get_or_insert(now);
        self.last_output = Some(now);
        self.output_bytes += bytes.len() as u64;
        self.seq += 1;
    }

    /// vt100 ignores DECSET 2026, so the begin/end markers are found here:
    /// the last one in the stream decides whether a frame is open.
    fn track_sync(&mut self, bytes: &[u8], now: Instant) {
        // The kept tail is shorter than a marker, so every marker found is new.
        self.tail.extend_from_slice(bytes);
        let last = |pat: &[u8]| self.tail.windows(pat.len()).rposition(|w| w == pat);
        match (last(SYNC_BEGIN), last(SYNC_END)) {
            (Some(b), e) if e.is_none_or(|e| b > e) => {
                // An update that is already open keeps its first time.
                self.sync_since.get_or_insert(now);
            }
            (_, Some(_)) => self.sync_since = None,
            _ => {}
        }
        let cut = self.tail.len().saturating_sub(SYNC_BEGIN.len() - 1);
        self.tail.drain(..cut);
    }

    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.parser.screen_mut().set_size(nz(rows), nz(cols));
    }

    pub fn cursor(&self) -> (u16, u16) {
        self.parser.screen().cursor_position()
    }

    /// The screen with its attributes, as escape sequences that redraw it.
    pub fn formatted(&self) -> String {
        self.parser.screen().contents_formatted()
    }

    /// Escape sequences that bring a fresh emulator to this state: contents,
    /// cursor and input modes (bracketed paste among them).
    pub fn state_formatted(&self) -> String {
        self.parser.screen().state_formatted()
    }

    /// Escape sequences that paint this screen on a viewer's terminal, fresh
    /// or showing anything: home and clear, the alternate screen when the
    /// program is on it, then the contents with their attributes, the
    /// cursor and the input modes ([`ScreenState::state_formatted`]).
    pub fn paint(&self) -> String {
        let alternate = if self.parser.screen().alternate_screen() {
            "\x1b[?1049h"
        } else {
            ""
        };
        format!("\x1b[H\x1b[2J{alternate}{}", self.state_formatted())
    }

    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (rows.get(), cols.get())
    }

    /// A snapshot with up to `scrollback_rows` of the newest scrollback.
    pub fn snapshot(&mut self, scrollback_rows: usize) -> Snapshot {
        let key = (self.seq, self.size(), scrollback_rows);
        let (rows, scrollback) = match &self.rendered {
            Some(r) if r.key == key => (r.rows.clone(), r.scrollback.clone()),
            _ => {
                let rendered = self.render(key);
                let copies = (rendered.rows.clone(), rendered.scrollback.clone());
                self.rendered = Some(rendered);
                copies
            }
        };
        let screen = self.parser.screen();
        let (size_rows, cols) = screen.size();
        Snapshot {
            rows,
            scrollback,
            cursor: screen.cursor_position(),
            cursor_hidden: screen.hide_cursor(),
            alternate_screen: screen.alternate_screen(),
            bracketed_paste: screen.bracketed_paste(),
            size: (size_rows.get(), cols.get()),
            first_output_at: self.first_output,
            last_output_at: self.last_output,
            output_bytes: self.output_bytes,
            seq: self.seq,
            mid_frame: self.sync_since.is_some_and(|t| t.elapsed() < SYNC_TIMEOUT),
            mid_frame_since: self.sync_since,
        }
    }

    /// The screen's rows and its newest scrollback rows (none on the
    /// alternate screen), rendered now.
    fn render(&self, key: (u64, (u16, u16), usize)) -> Rendered {
        let scrollback = if self.parser.screen().alternate_screen() {
            Vec::new()
        } else {
            self.scrollback_rows(key.2)
        };
        let screen = self.parser.screen();
        let (_, cols) = screen.size();
        Rendered {
            key,
            rows: screen.rows(0, cols.get()).collect(),
            scrollback,
        }
    }

    /// The newest `want` scrollback rows, oldest first.
    ///
    /// Read from a copy of the screen: vt100 keeps scrollback rows as
    /// short as their text, but viewing one (`set_scrollback`) widens it to
    /// the screen's width for good, at 32 bytes a cell. Read on the live
    /// screen at every delivery, 200 rows of 120 columns stayed ~0.75 MB
    /// per agent; the copy is widened instead and dropped.
    fn scrollback_rows(&self, want: usize) -> Vec<String> {
        let live = self.parser.screen();
        let total = live.scrollback_len().min(want);
        if total == 0 {
            return Vec::new();
        }
        let mut screen = live.clone();
        let (rows, cols) = screen.size();
        let page = usize::from(rows.get());
        let mut out = Vec::with_capacity(total);
        // Offset k shows scrollback rows [len-k, len) at the top of the view.
        let mut offset = total;
        while offset > 0 {
            screen.set_scrollback(offset);
            let take = offset.min(page);
            out.extend(screen.rows(0, cols.get()).take(take));
            offset -= take;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_of_an_unchanged_screen_is_the_same_and_a_change_is_seen() {
        let mut s = ScreenState::new(3, 10, 100);
        let t0 = Instant::now();
        s.feed(b"one\r\ntwo", t0);
        let first = s.snapshot(5);
        assert_eq!(s.snapshot(5), first);
        s.feed(b"!", t0);
        assert_eq!(s.snapshot(5).rows[1], "two!");
        s.resize(2, 10);
        assert_eq!(
            s.snapshot(5).rows.len(),
            2,
            "a resize is seen without output"
        );
        s.feed(b"\r\nthree\r\nfour", t0);
        let scrolled = s.snapshot(5);
        assert_eq!(scrolled.rows, ["three", "four"]);
        assert_eq!(
            s.snapshot(1).scrollback.len(),
            1,
            "another scrollback wanted"
        );
    }

    #[test]
    fn tracks_text_cursor_modes_and_times() {
        let mut s = ScreenState::new(5, 20, 100);
        let t0 = Instant::now();
        assert_eq!(s.snapshot(0).first_output_at, None);
        s.feed(b"\x1b[?2004hhello\r\n$ ", t0);
        let snap = s.snapshot(10);
        assert_eq!(snap.rows[0], "hello");
        assert_eq!(snap.cursor_row(), "$ ");
        assert_eq!(snap.cursor, (1, 2));
        assert!(snap.bracketed_paste);
        assert!(!snap.alternate_screen);
        assert_eq!(snap.first_output_at, Some(t0));
        assert_eq!(snap.seq, 1);
        assert!(!snap.is_blank());
        s.feed(b"\x1b[?2004l\x1b[?1049h", Instant::now());
        let snap = s.snapshot(10);
        assert!(!snap.bracketed_paste && snap.alternate_screen && snap.is_blank());
        assert_eq!(snap.first_output_at, Some(t0));
    }

    #[test]
    fn a_synchronized_update_is_a_half_drawn_frame_until_it_ends() {
        let mut s = ScreenState::new(5, 20, 0);
        let t = Instant::now();
        s.feed(b"\x1b[?2026h\x1b[H\x1b[2Jhalf", t);
        assert!(s.snapshot(0).mid_frame);
        s.feed(b" drawn\x1b[?20", t);
        assert!(
            s.snapshot(0).mid_frame,
            "the end marker is not complete yet"
        );
        s.feed(b"26l", t);
        assert!(!s.snapshot(0).mid_frame);
        // Begin and end in one read: a whole frame.
        s.feed(b"\x1b[?2026hframe\x1b[?2026l", t);
        assert!(!s.snapshot(0).mid_frame);
        // A begin split across reads still opens one.
        s.feed(b"\x1b[?2", t);
        s.feed(b"026hx", t);
        assert!(s.snapshot(0).mid_frame);
        // One never closed stops hiding the screen after the timeout.
        let mut s = ScreenState::new(5, 20, 0);
        s.feed(b"\x1b[?2026h", Instant::now() - SYNC_TIMEOUT);
        assert!(!s.snapshot(0).mid_frame);
    }

    #[test]
    fn scrollback_is_bounded_and_read_oldest_first() {
        let mut s = ScreenState::new(3, 10, 4);
        for i in 0..10 {
            s.feed(format!("l{i}\r\n").as_bytes(), Instant::now());
        }
        let snap = s.snapshot(100);
        assert_eq!(snap.scrollback, ["l4", "l5", "l6", "l7"]);
        assert_eq!(snap.rows, ["l8", "l9", ""]);
        assert_eq!(s.snapshot(2).scrollback, ["l6", "l7"]);
        assert!(s.formatted().contains("l9"));
    }

    #[test]
    fn a_painted_screen_reproduces_text_cursor_and_modes_on_a_fresh_terminal() {
        for setup in [&b""[..], b"\x1b[?1049h"] {
            let mut s = ScreenState::new(4, 30, 10);
            s.feed(setup, Instant::now());
            s.feed(
                "\x1b[?2004h\x1b[1mbold\x1b[m caf\u{e9}\r\n> dr".as_bytes(),
                Instant::now(),
            );
            let mut viewer = ScreenState::new(4, 30, 0);
            viewer.feed(b"old junk\r\nmore junk", Instant::now());
            viewer.feed(s.paint().as_bytes(), Instant::now());
            let (a, b) = (s.snapshot(0), viewer.snapshot(0));
            assert!(s.paint().starts_with("\x1b[H\x1b[2J"));
            assert_eq!(a.rows, b.rows);
            assert_eq!(b.rows[0], "bold caf\u{e9}");
            assert_eq!((a.cursor, a.bracketed_paste), (b.cursor, b.bracketed_paste));
            assert_eq!(a.alternate_screen, b.alternate_screen);
            assert_eq!(s.formatted(), viewer.formatted(), "attributes too");
        }
    }
}
