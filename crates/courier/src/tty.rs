//! The person's own terminal while `courier attach` runs: raw mode, the
//! alternate screen, its size, and putting everything back afterwards
//! (on detach, on the agent's exit, on errors and on panics: the guard's
//! drop does it).

use std::io::Write;

/// Escape sequences that undo what an agent's output may have switched on
/// in this terminal (bracketed paste, application cursor keys and keypad,
/// mouse and focus reporting, a synchronized update left open, a scroll
/// region, a hidden cursor, colours), then leave the alternate screen,
/// which brings back what the terminal showed before `attach`.
const RESTORE: &str = "\x1b[?2004l\x1b[?1l\x1b>\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\
\x1b[?1004l\x1b[?2026l\x1b[r\x1b[m\x1b[?25h\x1b[?1049l";

/// Enter the alternate screen (the agent is painted there, as in tmux).
const ENTER: &str = "\x1b[?1049h\x1b[H\x1b[2J";

/// The local terminal in raw mode on the alternate screen; restored on drop.
pub struct Attached {
    saved: libc::termios,
}

impl Attached {
    /// Raw mode on stdin (keys go through as bytes, Ctrl-C included), the
    /// alternate screen on stdout.
    pub fn enter() -> anyhow::Result<Attached> {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(0, &mut saved) } != 0 {
            anyhow::bail!("attach needs a terminal on stdin (run it in an interactive shell)");
        }
        let mut raw = saved;
        // SAFETY: cfmakeraw only edits the struct it is given.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: plain tcsetattr on stdin with a valid termios.
        if unsafe { libc::tcsetattr(0, libc::TCSANOW, &raw) } != 0 {
            anyhow::bail!(
                "cannot put the terminal in raw mode: {}",
                std::io::Error::last_os_error()
            );
        }
        let attached = Attached { saved };
        let mut out = std::io::stdout().lock();
        out.write_all(ENTER.as_bytes())?;
        out.flush()?;
        Ok(attached)
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(RESTORE.as_bytes());
        let _ = out.flush();
        // SAFETY: restores the termios read in `enter`.
        unsafe { libc::tcsetattr(0, libc::TCSADRAIN, &self.saved) };
    }
}

/// The terminal's size (rows, cols), when stdin or stdout is a terminal
/// that knows it.
pub fn size() -> Option<(u16, u16)> {
    [0, 1].into_iter().find_map(|fd| {
        // SAFETY: winsize is plain data; TIOCGWINSZ fills it or fails.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0;
        (ok && ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restoring_leaves_the_alternate_screen_last_and_shows_the_cursor() {
        assert!(RESTORE.ends_with("\x1b[?1049l"));
        assert!(RESTORE.contains("\x1b[?25h") && RESTORE.contains("\x1b[?2004l"));
        assert!(ENTER.starts_with("\x1b[?1049h"));
    }
}
