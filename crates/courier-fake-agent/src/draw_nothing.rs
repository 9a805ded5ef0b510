//! `--draw-nothing`: a program that behaves like `cat`.
//!
//! The tty stays as it was (canonical mode, the kernel echoes and edits lines) and nothing is ever
//! written to it, so the screen shows only the kernel's echo. While idle the process sits in a
//! plain blocking read() of the terminal: a broker can only tell that it is ready from the kernel
//! (canonical mode, foreground process blocked reading the tty), which is what this mode tests.

use crate::transcript::Transcript;
use crate::tty;

/// Splits what read() returns into lines; a line may arrive in pieces (Ctrl-D in the middle of a
/// line makes the kernel hand over what was typed so far).
#[derive(Debug, Default)]
pub struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    /// The complete lines in `bytes` (without their `\n`), keeping any unfinished rest.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.partial);
                out.push(String::from_utf8_lossy(&line).into_owned());
            } else {
                self.partial.push(b);
            }
        }
        out
    }

    /// At end of input: an unfinished last line still counts, as `cat` would print it.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.partial);
        (!rest.is_empty()).then(|| String::from_utf8_lossy(&rest).into_owned())
    }
}

/// Reads lines until end of input; returns the exit code (0 at end of input or SIGTERM/SIGHUP,
/// 130 on SIGINT).
pub fn run(mut transcript: Option<Transcript>) -> u8 {
    let mut lines = Lines::default();
    let mut n = 0;
    let mut record = |line: &str| {
        n += 1;
        if let Some(t) = &mut transcript
            && let Err(e) = t.record(n, line)
        {
            eprintln!(
                "courier-fake-agent: cannot write transcript {}: {e}",
                t.path().display()
            );
        }
    };
    let mut buf = [0u8; 4096];
    loop {
        if let Some(sig) = tty::term_signal() {
            return if sig == libc::SIGINT { 130 } else { 0 };
        }
        // A plain blocking read, no poll: idle means blocked in read() on the terminal.
        match tty::read_stdin(&mut buf) {
            Ok(Some(0)) | Err(_) => {
                if let Some(rest) = lines.finish() {
                    record(&rest);
                }
                return 0;
            }
            Ok(Some(k)) => lines.feed(&buf[..k]).iter().for_each(|l| record(l)),
            Ok(None) => {} // interrupted by a signal: checked at the top
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_reads_and_the_rest_at_the_end() {
        let mut l = Lines::default();
        assert_eq!(l.feed(b"hel"), Vec::<String>::new());
        assert_eq!(l.feed(b"lo\n\nwor"), vec!["hello", ""]);
        assert_eq!(l.feed(b"ld\n"), vec!["world"]);
        assert_eq!(l.finish(), None);
        l.feed(b"tail");
        assert_eq!(l.finish().as_deref(), Some("tail"));
    }
}
