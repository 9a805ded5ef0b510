//! The bytes typed into a terminal for one text. Pure.
//!
//! - With bracketed paste enabled by the program: one paste,
//!   `ESC[200~` + text + `ESC[201~`, split into chunks for writing.
//! - Without: newlines become a visible ` ⏎ ` and tabs a space, so the whole
//!   text is one line that cannot execute line by line.
//!
//! Either way the text is sanitized again here (idempotent, see
//! [`courier_core::sanitize`]), so no byte sequence can end the paste, move
//! the cursor or submit early; Enter (`\r`) is sent separately, after the
//! echo is seen.

use courier_core::sanitize::sanitize_body;

pub const PASTE_START: &[u8] = b"\x1b[200~";
pub const PASTE_END: &[u8] = b"\x1b[201~";
/// What submits: sent on its own.
pub const ENTER: &[u8] = b"\r";
/// What a newline becomes without bracketed paste.
pub const NEWLINE_MARK: &str = " ⏎ ";
/// Default write chunk.
pub const DEFAULT_CHUNK: usize = 1024;

/// The bytes of one injection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    /// Written in order, yielding between them.
    pub chunks: Vec<Vec<u8>>,
    /// The text as the program should echo it.
    pub echo: String,
    pub bracketed: bool,
}

impl Injection {
    /// Every byte, as written (for tests).
    pub fn bytes(&self) -> Vec<u8> {
        self.chunks.concat()
    }
}

/// The one-line form used without bracketed paste.
pub fn one_line(text: &str) -> String {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.replace('\n', NEWLINE_MARK).replace('\t', " ")
}

/// Splits `bytes` into chunks of at most `size` bytes (at least 4, so a
/// UTF-8 character always fits), never inside a UTF-8 character.
fn chunk(bytes: &[u8], size: usize) -> Vec<Vec<u8>> {
    let size = size.max(4);
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let mut end = (start + size).min(bytes.len());
        while end < bytes.len() && end > start + 1 && (bytes[end] & 0xc0) == 0x80 {
            end -= 1;
        }
        out.push(bytes[start..end].to_vec());
        start = end;
    }
    out
}

/// Builds the injection of `text` (a framed message).
pub fn build(text: &str, bracketed: bool, chunk_size: usize) -> Injection {
    let clean = sanitize_body(text);
    if bracketed {
        let body = clean.strip_suffix('\n').unwrap_or(&clean);
        let mut bytes = Vec::with_capacity(body.len() + PASTE_START.len() + PASTE_END.len());
        bytes.extend_from_slice(PASTE_START);
        bytes.extend_from_slice(body.as_bytes());
        bytes.extend_from_slice(PASTE_END);
        Injection {
            chunks: chunk(&bytes, chunk_size),
            echo: body.to_string(),
            bracketed,
        }
    } else {
        let line = one_line(&clean);
        Injection {
            chunks: chunk(line.as_bytes(), chunk_size),
            echo: line,
            bracketed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracketed_is_one_paste() {
        let inj = build("hi\nthere", true, 4);
        assert_eq!(inj.bytes(), b"\x1b[200~hi\nthere\x1b[201~");
        assert!(inj.chunks.iter().all(|c| c.len() <= 4));
        assert_eq!(inj.echo, "hi\nthere");
        let wide = build("ééé€€", true, 5);
        assert!(wide.chunks.iter().all(|c| c.len() <= 5));
        let middle = &wide.chunks[1..wide.chunks.len() - 1];
        assert!(middle.iter().all(|c| std::str::from_utf8(c).is_ok()));
    }

    #[test]
    fn plain_is_one_line() {
        let inj = build("a\n\tb\nc\n", false, 1024);
        assert_eq!(inj.bytes(), "a ⏎  b ⏎ c".as_bytes());
        assert_eq!(inj.echo, "a ⏎  b ⏎ c");
    }

    #[test]
    fn hostile_bytes_are_neutralised_in_both_modes() {
        for mode in [true, false] {
            let inj = build("x\x1b[201~\r\u{9b}2J", mode, 3);
            let bytes = inj.bytes();
            let inner = if mode {
                &bytes[PASTE_START.len()..bytes.len() - PASTE_END.len()]
            } else {
                &bytes[..]
            };
            assert!(!inner.contains(&0x1b) && !inner.contains(&b'\r'), "{inj:?}");
        }
    }
}
