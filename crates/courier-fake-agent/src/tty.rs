//! The few libc calls the fake agent needs: raw mode, window size, signals, poll, the grandchild.

use std::ffi::CString;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};

/// Puts stdin's tty in raw-ish mode and restores the saved settings on drop (and on request).
pub struct RawMode {
    saved: Option<libc::termios>,
}

impl RawMode {
    /// No echo, no canonical line editing, no CR→NL mapping (Enter arrives as `\r`), no
    /// flow control; ISIG stays on so Ctrl-C still sends SIGINT. When stdin is not a tty this is a
    /// no-op.
    pub fn enable() -> Self {
        // SAFETY: termios is plain old data; tcgetattr fills it or fails.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: valid fd and pointer.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } != 0 {
            return Self { saved: None };
        }
        let saved = t;
        t.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ECHONL | libc::IEXTEN);
        t.c_iflag &= !(libc::ICRNL | libc::INLCR | libc::IGNCR | libc::IXON | libc::ISTRIP);
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        // SAFETY: valid fd and pointer.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) };
        Self { saved: Some(saved) }
    }

    pub fn restore(&self) {
        if let Some(saved) = &self.saved {
            // SAFETY: valid fd and pointer to the settings read at start.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved) };
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.restore();
    }
}

/// (rows, cols) of the terminal on stdout (or stdin), 24×80 when unknown.
pub fn window_size() -> (usize, usize) {
    for fd in [libc::STDOUT_FILENO, libc::STDIN_FILENO] {
        // SAFETY: winsize is plain old data.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ writes a winsize through the pointer.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0
            && ws.ws_row > 0
            && ws.ws_col > 0
        {
            return (usize::from(ws.ws_row), usize::from(ws.ws_col));
        }
    }
    (24, 80)
}

/// The last terminating signal received (0 = none), and whether the window changed.
static TERM_SIGNAL: AtomicI32 = AtomicI32::new(0);
static WINCH: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_term(sig: libc::c_int) {
    TERM_SIGNAL.store(sig, Ordering::SeqCst);
}

extern "C" fn on_winch(_sig: libc::c_int) {
    WINCH.store(1, Ordering::SeqCst);
}

/// Installs handlers for SIGTERM, SIGHUP, SIGINT (recorded, the main loop exits) and SIGWINCH.
/// No SA_RESTART, so a blocked poll returns EINTR at once.
pub fn install_signal_handlers() {
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 4] = [
        (libc::SIGTERM, on_term),
        (libc::SIGHUP, on_term),
        (libc::SIGINT, on_term),
        (libc::SIGWINCH, on_winch),
    ];
    for (sig, handler) in handlers {
        // SAFETY: sigaction is plain old data; the handlers only store to atomics.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// A terminating signal that arrived since start, if any.
pub fn term_signal() -> Option<i32> {
    match TERM_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// True (once) after SIGWINCH.
pub fn take_winch() -> bool {
    WINCH.swap(0, Ordering::SeqCst) != 0
}

/// Set by SIGUSR1 (protocol modes): the running turn should stop thinking and answer now.
static HURRY: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_usr1(_sig: libc::c_int) {
    HURRY.store(1, Ordering::SeqCst);
}

/// Installs the SIGUSR1 handler of the protocol modes (see [`take_hurry`]). No SA_RESTART, so a
/// blocked poll returns EINTR at once.
pub fn install_hurry_handler() {
    // SAFETY: sigaction is plain old data; the handler only stores to an atomic.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = 0;
        libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
    }
}

/// True (once) after SIGUSR1.
pub fn take_hurry() -> bool {
    HURRY.swap(0, Ordering::SeqCst) != 0
}

/// Like [`poll_stdin`], but with `watch_stdin` false only waits (for the timeout or a signal):
/// after end of input stdin would always be readable.
pub fn poll_input(watch_stdin: bool, timeout_ms: i32) -> io::Result<bool> {
    if watch_stdin {
        return poll_stdin(timeout_ms);
    }
    let mut pfd = libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd; a negative fd is ignored, so this only waits.
    let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(false)
}

/// Points stdout (fd 1) at /dev/null: whoever reads our stdout sees end of file, and later writes
/// vanish (the fd number is not reused by a file opened later).
pub fn close_stdout() -> io::Result<()> {
    let null = CString::new("/dev/null").map_err(io::Error::other)?;
    // SAFETY: a valid C string; the fd is closed below.
    let fd = unsafe { libc::open(null.as_ptr(), libc::O_WRONLY) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds are valid.
    let r = unsafe { libc::dup2(fd, libc::STDOUT_FILENO) };
    let e = io::Error::last_os_error();
    // SAFETY: fd is ours and no longer needed.
    unsafe { libc::close(fd) };
    if r < 0 { Err(e) } else { Ok(()) }
}

/// Waits up to `timeout_ms` (-1 = forever) for stdin to be readable. Ok(false) on timeout or EINTR.
pub fn poll_stdin(timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(e);
    }
    Ok(r > 0)
}

/// Like [`poll_stdin`], also watching `other` (readable; writable too when its flag is set):
/// which of the two are ready. EINTR is a timeout.
pub fn poll_stdin_and(
    other: Option<(std::os::fd::RawFd, bool)>,
    timeout_ms: i32,
) -> io::Result<(bool, bool)> {
    let Some((fd, write)) = other else {
        return poll_stdin(timeout_ms).map(|ready| (ready, false));
    };
    let mut pfds = [
        libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd,
            events: libc::POLLIN | if write { libc::POLLOUT } else { 0 },
            revents: 0,
        },
    ];
    // SAFETY: two valid pollfds.
    let r = unsafe { libc::poll(pfds.as_mut_ptr(), 2, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok((false, false));
        }
        return Err(e);
    }
    Ok((pfds[0].revents != 0, pfds[1].revents != 0))
}

/// One read from stdin (Ok(0) = end of input; EINTR maps to an empty read of `None`).
pub fn read_stdin(buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::read(libc::STDIN_FILENO, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted || e.kind() == io::ErrorKind::WouldBlock {
            return Ok(None);
        }
        return Err(e);
    }
    Ok(Some(n.unsigned_abs()))
}

/// Starts a grandchild that outlives us: fork, the child forks again and exits, so the grandchild
/// is re-parented to init. The grandchild ignores SIGHUP and SIGINT, points stdin/stdout/stderr at /dev/null
/// (so it does not keep the PTY open) and sleeps for an hour. It stays in our process group unless
/// `new_session` (then it calls `setsid` and only its pid can reach it). Its pid is written to
/// `pidfile` (via a temporary file and rename) before this returns.
///
/// Must be called while the process is single-threaded (first thing in `main`).
pub fn spawn_grandchild(pidfile: &Path, new_session: bool) -> io::Result<i32> {
    let devnull = CString::new("/dev/null").map_err(io::Error::other)?;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: single-threaded here; the child only calls async-signal-safe functions.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(io::Error::last_os_error());
    }
    if child == 0 {
        // SAFETY: async-signal-safe calls only, then _exit.
        unsafe {
            libc::close(rd);
            let gc = libc::fork();
            if gc == 0 {
                libc::close(wr);
                if new_session {
                    libc::setsid();
                }
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                let fd = libc::open(devnull.as_ptr(), libc::O_RDWR);
                if fd >= 0 {
                    libc::dup2(fd, 0);
                    libc::dup2(fd, 1);
                    libc::dup2(fd, 2);
                    if fd > 2 {
                        libc::close(fd);
                    }
                }
                libc::sleep(3600);
                libc::_exit(0);
            }
            let bytes = gc.to_ne_bytes();
            libc::write(wr, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(wr) };
    let mut bytes = [0u8; 4];
    let mut got = 0;
    while got < bytes.len() {
        // SAFETY: reading into the remaining part of `bytes`.
        let n = unsafe { libc::read(rd, bytes[got..].as_mut_ptr().cast(), bytes.len() - got) };
        if n <= 0 {
            break;
        }
        got += n.unsigned_abs();
    }
    // SAFETY: closing the read end; reaping the intermediate child.
    unsafe {
        libc::close(rd);
        libc::waitpid(child, std::ptr::null_mut(), 0);
    }
    let gc = i32::from_ne_bytes(bytes);
    if got < bytes.len() || gc <= 0 {
        return Err(io::Error::other(
            "the intermediate child did not report a grandchild pid",
        ));
    }
    let tmp = pidfile.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, format!("{gc}\n"))?;
    std::fs::rename(&tmp, pidfile)?;
    Ok(gc)
}
