//! Byte stream → key / paste events.
//!
//! A small state machine that survives any split of the input across reads: a UTF-8 character, an
//! escape sequence or a bracketed-paste marker may arrive one byte at a time.

/// One thing the person (or the broker) did on the keyboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A printable character (including space and tab).
    Char(char),
    /// `\r` or `\n` outside a paste.
    Enter,
    /// 0x7f or 0x08.
    Backspace,
    /// Ctrl-D (0x04).
    CtrlD,
    /// A bare Escape key (an ESC not followed by a sequence before [`Parser::flush`]).
    Esc,
    /// ESC immediately followed by `\r` or `\n` (Alt+Enter, or Esc then Enter within the escape
    /// timeout): the "submit" key of multi-line editors.
    AltEnter,
    /// `ESC[200~` was seen: a paste begins (its text follows in [`Event::Paste`]).
    PasteStart,
    /// A complete bracketed paste, with `\r\n` and `\r` turned into `\n`.
    Paste(String),
}

const PASTE_END: &[u8] = b"\x1b[201~";

#[derive(Debug, Default)]
enum State {
    #[default]
    Normal,
    /// Got ESC.
    Esc,
    /// Inside `ESC [` … (parameter and intermediate bytes so far).
    Csi(Vec<u8>),
    /// Got `ESC O` (SS3): the next byte ends it.
    Ss3,
    /// Inside `ESC ]` … (OSC), ended by BEL or ESC \.
    Osc { saw_esc: bool },
    /// Inside a bracketed paste.
    Paste(Vec<u8>),
}

/// Incremental parser. Feed it bytes with [`Parser::feed`].
#[derive(Debug, Default)]
pub struct Parser {
    state: State,
    /// Bytes of an incomplete UTF-8 character.
    utf8: Vec<u8>,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while a lone ESC waits for what follows (the caller may call [`Parser::flush`] after a
    /// short pause to turn it into [`Event::Esc`]).
    pub fn pending_esc(&self) -> bool {
        matches!(self.state, State::Esc)
    }

    /// Nothing more arrived for a while: a pending lone ESC is the Escape key.
    pub fn flush(&mut self) -> Vec<Event> {
        if self.pending_esc() {
            self.state = State::Normal;
            vec![Event::Esc]
        } else {
            Vec::new()
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        for &b in bytes {
            self.byte(b, &mut out);
        }
        out
    }

    fn byte(&mut self, b: u8, out: &mut Vec<Event>) {
        match &mut self.state {
            State::Normal => self.normal(b, out),
            State::Esc => match b {
                b'[' => self.state = State::Csi(Vec::new()),
                b'O' => self.state = State::Ss3,
                b']' => self.state = State::Osc { saw_esc: false },
                0x1b => {
                    // ESC ESC: the first one was a bare Escape key.
                    out.push(Event::Esc);
                }
                b'\r' | b'\n' => {
                    out.push(Event::AltEnter);
                    self.state = State::Normal;
                }
                _ => {
                    // Alt+key and other two-byte sequences: ignored.
                    self.state = State::Normal;
                }
            },
            State::Csi(params) => {
                if (0x40..=0x7e).contains(&b) {
                    let is_paste_start = b == b'~' && params.as_slice() == b"200";
                    self.state = State::Normal;
                    if is_paste_start {
                        self.utf8.clear();
                        out.push(Event::PasteStart);
                        self.state = State::Paste(Vec::new());
                    }
                } else if params.len() < 64 {
                    params.push(b);
                } else {
                    // Runaway sequence: give up on it.
                    self.state = State::Normal;
                }
            }
            State::Ss3 => self.state = State::Normal,
            State::Osc { saw_esc } => {
                if b == 0x07 || (*saw_esc && b == b'\\') {
                    self.state = State::Normal;
                } else {
                    *saw_esc = b == 0x1b;
                }
            }
            State::Paste(buf) => {
                buf.push(b);
                if buf.ends_with(PASTE_END) {
                    let len = buf.len() - PASTE_END.len();
                    buf.truncate(len);
                    let raw = std::mem::take(buf);
                    self.state = State::Normal;
                    out.push(Event::Paste(normalize_newlines(&String::from_utf8_lossy(
                        &raw,
                    ))));
                }
            }
        }
    }

    fn normal(&mut self, b: u8, out: &mut Vec<Event>) {
        if !self.utf8.is_empty() || b >= 0x80 {
            self.utf8.push(b);
            match std::str::from_utf8(&self.utf8) {
                Ok(s) => {
                    out.extend(s.chars().map(Event::Char));
                    self.utf8.clear();
                }
                Err(e) if e.error_len().is_some() || self.utf8.len() >= 4 => {
                    // Invalid UTF-8: drop it.
                    self.utf8.clear();
                }
                Err(_) => {} // incomplete: wait for more
            }
            return;
        }
        match b {
            b'\r' | b'\n' => out.push(Event::Enter),
            0x7f | 0x08 => out.push(Event::Backspace),
            0x04 => out.push(Event::CtrlD),
            0x1b => self.state = State::Esc,
            b'\t' => out.push(Event::Char('\t')),
            0x00..=0x1f => {} // other control keys: ignored
            _ => out.push(Event::Char(char::from(b))),
        }
    }
}

/// `\r\n` → `\n`, lone `\r` → `\n`.
pub fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(chunks: &[&[u8]]) -> Vec<Event> {
        let mut p = Parser::new();
        chunks.iter().flat_map(|c| p.feed(c)).collect()
    }

    #[test]
    fn plain_keys_enter_backspace() {
        let ev = feed_all(&[b"ab\x7f\r"]);
        assert_eq!(
            ev,
            vec![
                Event::Char('a'),
                Event::Char('b'),
                Event::Backspace,
                Event::Enter
            ]
        );
        assert_eq!(
            feed_all(&[b"\n\x08\x04"]),
            vec![Event::Enter, Event::Backspace, Event::CtrlD]
        );
    }

    #[test]
    fn bracketed_paste_in_one_read() {
        let ev = feed_all(&[b"\x1b[200~hello\r\nworld\x1b[201~\r"]);
        assert_eq!(
            ev,
            vec![
                Event::PasteStart,
                Event::Paste("hello\nworld".into()),
                Event::Enter
            ]
        );
    }

    #[test]
    fn bracketed_paste_split_across_reads_byte_by_byte() {
        let all = "\x1b[200~héllo ❯\rwörld\x1b[201~x".as_bytes();
        let chunks: Vec<&[u8]> = all.chunks(1).collect();
        let ev = feed_all(&chunks);
        assert_eq!(
            ev,
            vec![
                Event::PasteStart,
                Event::Paste("héllo ❯\nwörld".into()),
                Event::Char('x')
            ]
        );
        // Split exactly inside the end marker.
        let ev = feed_all(&[b"\x1b[20", b"0~ab\x1b[2", b"01", b"~"]);
        assert_eq!(ev, vec![Event::PasteStart, Event::Paste("ab".into())]);
    }

    #[test]
    fn paste_keeps_escape_sequences_that_are_not_the_end_marker() {
        let ev = feed_all(&[b"\x1b[200~a\x1b[Ab\x1b[201~"]);
        assert_eq!(ev, vec![Event::PasteStart, Event::Paste("a\x1b[Ab".into())]);
    }

    #[test]
    fn escape_sequences_are_ignored() {
        // arrows, function keys, focus events, SS3, OSC replies, Alt+x
        let ev = feed_all(&[
            b"\x1b[A\x1b[1;5C\x1b[15~\x1b[I\x1bOP\x1b]11;rgb:0/0/0\x07\x1b]0;t\x1b\\\x1bxq",
        ]);
        assert_eq!(ev, vec![Event::Char('q')]);
        let ev = feed_all(&[b"\x1b", b"[", b"B", b"z"]);
        assert_eq!(ev, vec![Event::Char('z')]);
    }

    #[test]
    fn lone_escape_becomes_esc_on_flush() {
        let mut p = Parser::new();
        assert!(p.feed(b"\x1b").is_empty());
        assert!(p.pending_esc());
        assert_eq!(p.flush(), vec![Event::Esc]);
        assert!(!p.pending_esc());
        assert!(p.flush().is_empty());
        assert_eq!(p.feed(b"\x1b\x1b["), vec![Event::Esc]);
    }

    #[test]
    fn esc_then_enter_is_alt_enter_in_one_read_or_split() {
        assert_eq!(
            feed_all(&[b"a\x1b\r"]),
            vec![Event::Char('a'), Event::AltEnter]
        );
        assert_eq!(
            feed_all(&[b"\x1b", b"\n", b"\r"]),
            vec![Event::AltEnter, Event::Enter]
        );
    }

    #[test]
    fn utf8_split_and_invalid() {
        let bytes = "é❯".as_bytes();
        let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(feed_all(&chunks), vec![Event::Char('é'), Event::Char('❯')]);
        assert_eq!(feed_all(&[b"\xff", b"a"]), vec![Event::Char('a')]);
    }
}
