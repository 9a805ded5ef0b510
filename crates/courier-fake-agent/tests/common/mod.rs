//! Helpers shared by the fake agent's PTY tests: the agent in a real PTY
//! with a vt100 screen, transcripts, waiting with a bound.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;
/// Generous: tests only wait this long when something is broken.
pub const TIMEOUT: Duration = Duration::from_secs(15);

pub fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("non-zero terminal size")
}

pub struct Agent {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    pub screen: Arc<Mutex<vt100::Parser>>,
    /// Every byte the agent wrote.
    pub raw: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
    pub master: Box<dyn MasterPty + Send>,
}

impl Agent {
    pub fn start(args: &[&str]) -> Agent {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_courier-fake-agent"));
        cmd.args(args);
        let child = pair.slave.spawn_command(cmd).expect("spawn fake agent");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(nz(ROWS), nz(COLS), 0)));
        let s2 = Arc::clone(&screen);
        let raw = Arc::new(Mutex::new(Vec::new()));
        let r2 = Arc::clone(&raw);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s2.lock().expect("screen lock").process(&buf[..n]);
                r2.lock().expect("raw lock").extend_from_slice(&buf[..n]);
            }
        });
        Agent {
            child,
            writer,
            screen,
            raw,
            reader: Some(reader),
            master: pair.master,
        }
    }

    pub fn pid(&self) -> i32 {
        let pid = self.child.process_id().expect("child pid");
        i32::try_from(pid).expect("pid fits i32")
    }

    pub fn contents(&self) -> String {
        self.screen.lock().expect("screen lock").screen().contents()
    }

    /// (row, col), 0-based.
    pub fn cursor(&self) -> (u16, u16) {
        self.screen
            .lock()
            .expect("screen lock")
            .screen()
            .cursor_position()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    pub fn wait_screen(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let c = self.contents();
            if pred(&c) {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{c}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.exit_code();
            }
            assert!(Instant::now() < deadline, "fake agent did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // portable-pty makes the child a session (and process group) leader.
            // SAFETY: plain kill(2) on our own child's process group.
            unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
            let _ = self.child.wait();
        }
        drop(self.reader.take());
    }
}

pub fn wait_file(path: &Path, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let s = std::fs::read_to_string(path).unwrap_or_default();
        if pred(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {}: {s:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// All whitespace (spaces, NBSP, line breaks) removed: the way a checker compares wrapped text.
pub fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The text inside the box's side borders, row by row.
pub fn box_text(screen: &str) -> String {
    screen
        .lines()
        .filter_map(|l| l.strip_prefix("│ "))
        .map(|l| l.trim_end().trim_end_matches('│'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The transcript's texts, once it holds `n` lines.
pub fn wait_submissions(path: &Path, n: usize) -> Vec<String> {
    wait_file(path, |s| s.lines().count() >= n && s.ends_with('\n'))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v["text"].as_str().expect("text").to_string()
        })
        .collect()
}

pub fn transcript_now(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The screen's rows without trailing spaces, empty rows dropped.
pub fn rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Longer than any window the tests below use: waiting this long after the screen showed a paste
/// puts the next key out of the window for sure.
pub const PAST_WINDOW: Duration = Duration::from_millis(600);
pub const WINDOW_MS: &str = "500";
