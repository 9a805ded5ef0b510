//! What the kernel knows about an agent's terminal: the line discipline's
//! mode (canonical, echo), the foreground process group, and whether a
//! process of that group is blocked reading the terminal right now.
//!
//! This sees what the screen cannot: `cat`, or any line program that prints
//! no prompt, draws nothing while it waits for a line, yet the kernel knows
//! it is in canonical mode and sleeping in a read of the terminal
//! ([`waits_for_a_line`]).
//!
//! Linux only (it reads `/proc`); elsewhere [`probe`] answers `None`. One
//! probe costs a handful of small `/proc` reads and one open of the
//! terminal, so it can run every 100–250 ms. When the foreground group's
//! leader is not the reader, the whole of `/proc` is scanned for the
//! group's other members (one small read per process on the machine).
//!
//! How each answer is found:
//!
//! - **The terminal**: the first of the leader's fds 0, 1, 2 that is the
//!   leader's controlling terminal (`tty_nr` of `/proc/<pid>/stat`), or fd 0
//!   when it has none, checked with `stat` before it is opened (so no other
//!   device is ever opened), then opened through `/proc/<pid>/fd/<n>` with
//!   `O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC`. `tcgetattr` succeeds
//!   only on a terminal (it is what `isatty` asks) and gives ICANON and ECHO.
//! - **The foreground group**: `tpgid`, field 8 of `/proc/<pid>/stat`.
//! - **Reading**: a thread of a process of that group sleeps (`S`) in
//!   `read`/`readv` (`/proc/<p>/task/<t>/syscall`) on an fd that is this
//!   terminal (same `st_rdev`). Where the syscall file cannot be read, its
//!   wait channel (`wchan`) being one a tty read sleeps in (`n_tty_read`,
//!   `wait_woken`, `tty_read`) counts instead (the syscall file needs
//!   ptrace-attach rights, e.g. Yama may deny them when the session lives
//!   in another process's tree). A process blocked in `poll`/`select` on
//!   the terminal is not reading: a raw-mode TUI, or bash's readline, which
//!   waits in `pselect6`.

use serde::Serialize;

/// What the kernel says about an agent's terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TtyState {
    /// ICANON is set: the line discipline edits lines and hands over whole lines on Enter.
    pub canonical: bool,
    /// ECHO is set: the kernel echoes typed bytes.
    pub echo: bool,
    /// The terminal's foreground process group (tpgid), if any.
    pub foreground_pgid: Option<i32>,
    /// A process of the foreground group is blocked reading this terminal
    /// right now (only looked for in canonical mode; false in raw mode).
    pub foreground_reading: bool,
}

/// Probes the terminal of the session whose leader is `pid` (the program spawned in the PTY;
/// its stdin is the PTY's slave). None when /proc or the terminal cannot be read (process gone,
/// not Linux, no permission): the caller then knows nothing and must not treat it as ready.
pub fn probe(pid: u32) -> Option<TtyState> {
    #[cfg(target_os = "linux")]
    {
        linux::probe(pid)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// Whether `state` says: a line program waits for a line (canonical mode and the foreground
/// process blocked reading the terminal).
pub fn waits_for_a_line(state: &TtyState) -> bool {
    state.canonical && state.foreground_reading
}

/// The fields of `/proc/<pid>/stat` (or `/proc/<pid>/task/<tid>/stat`)
/// the probe needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct Stat {
    pid: i32,
    /// R, S, D, T, Z, …
    state: char,
    pgrp: i32,
    /// The controlling terminal's device number, kernel encoding; 0: none.
    tty_nr: i32,
    /// The controlling terminal's foreground process group; -1: none.
    tpgid: i32,
}

/// Parses a stat line. The command name (field 2) may hold spaces and
/// parentheses, so the fields after it are read after the last `)`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_stat(text: &str) -> Option<Stat> {
    let pid = text.split_whitespace().next()?.parse().ok()?;
    let rest = text.get(text.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    let _session = fields.next()?;
    let tty_nr = fields.next()?.parse().ok()?;
    let tpgid = fields.next()?.parse().ok()?;
    Some(Stat {
        pid,
        state,
        pgrp,
        tty_nr,
        tpgid,
    })
}

/// `tty_nr` as (major, minor): the kernel packs minor bits 0–7 into bits
/// 0–7, major into bits 8–19, minor bits 8–19 into bits 20–31.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn decode_tty_nr(tty_nr: i32) -> (u32, u32) {
    let n = tty_nr as u32;
    ((n >> 8) & 0xfff, (n & 0xff) | ((n >> 12) & 0xfff00))
}

/// What `/proc/<p>/task/<t>/syscall` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
enum Syscall {
    /// The thread is on a CPU: nothing to say.
    Running,
    /// Blocked, but not in a system call (`-1 sp pc`).
    NotInCall,
    /// Blocked in system call `nr` whose first argument is `arg0`.
    Blocked { nr: libc::c_long, arg0: u64 },
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_syscall(text: &str) -> Option<Syscall> {
    let mut fields = text.split_whitespace();
    let first = fields.next()?;
    if first == "running" {
        return Some(Syscall::Running);
    }
    let nr: libc::c_long = first.parse().ok()?;
    if nr < 0 {
        return Some(Syscall::NotInCall);
    }
    let arg0 = fields.next()?;
    let arg0 = u64::from_str_radix(arg0.strip_prefix("0x").unwrap_or(arg0), 16).ok()?;
    Some(Syscall::Blocked { nr, arg0 })
}

/// Wait channels a read of a tty sleeps in (`wait_woken` is generic, but
/// it is where `n_tty_read` waits on current kernels).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const TTY_READ_WCHANS: &[&str] = &["n_tty_read", "wait_woken", "tty_read"];

#[cfg(target_os = "linux")]
pub(crate) mod linux {
    use std::fs::{self, File, OpenOptions};
    use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
    use std::os::unix::io::AsRawFd;

    use super::{Stat, Syscall, TTY_READ_WCHANS, TtyState, decode_tty_nr, parse_stat};

    /// System calls that block reading an fd (`pread` family: a tty cannot
    /// seek, so they fail at once and never block on one).
    const READ_CALLS: [libc::c_long; 2] = [libc::SYS_read, libc::SYS_readv];

    fn read_stat(dir: &str) -> Option<Stat> {
        parse_stat(&fs::read_to_string(format!("{dir}/stat")).ok()?)
    }

    pub(super) fn probe(pid: u32) -> Option<TtyState> {
        let (leader, rdev, lflag) = modes(pid)?;
        let foreground_pgid = (leader.tpgid > 0).then_some(leader.tpgid);
        let canonical = lflag & libc::ICANON != 0;
        Some(TtyState {
            canonical,
            echo: lflag & libc::ECHO != 0,
            foreground_pgid,
            // A raw-mode program (every full-screen TUI) never waits for a
            // line: spare it the scan of /proc, which costs ~1 ms when the
            // group leader is not the reader.
            foreground_reading: canonical && foreground_pgid.is_some_and(|g| group_reads(g, rdev)),
        })
    }

    /// Whether the terminal of the session led by `pid` is in canonical
    /// mode: [`probe`] without looking for a reader (for a caller that
    /// knows the foreground group already).
    pub(crate) fn canonical(pid: u32) -> Option<bool> {
        modes(pid).map(|(_, _, lflag)| lflag & libc::ICANON != 0)
    }

    /// The session leader's stat, its terminal's device number and that
    /// terminal's local modes (`c_lflag`); None when it is gone or its
    /// terminal cannot be read.
    fn modes(pid: u32) -> Option<(Stat, u64, libc::tcflag_t)> {
        let dir = format!("/proc/{pid}");
        let leader = read_stat(&dir)?;
        if matches!(leader.state, 'Z' | 'X') {
            return None;
        }
        let (tty, rdev) = open_terminal(&dir, leader.tty_nr)?;
        let mut termios = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: the fd is open for as long as `tty` lives, and tcgetattr
        // only writes a termios into the pointer it is given.
        if unsafe { libc::tcgetattr(tty.as_raw_fd(), termios.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: tcgetattr returned 0, so it filled the termios in.
        let termios = unsafe { termios.assume_init() };
        Some((leader, rdev, termios.c_lflag))
    }

    /// The leader's terminal, opened, with its device number: the first of
    /// fds 0–2 that is its controlling terminal, or fd 0 when it has none.
    /// Only a character device with the right number is ever opened.
    fn open_terminal(dir: &str, tty_nr: i32) -> Option<(File, u64)> {
        let fds: &[u32] = if tty_nr == 0 { &[0] } else { &[0, 1, 2] };
        for fd in fds {
            let path = format!("{dir}/fd/{fd}");
            let Ok(meta) = fs::metadata(&path) else {
                continue;
            };
            let rdev = meta.rdev();
            if !meta.file_type().is_char_device() {
                continue;
            }
            if tty_nr != 0 && (libc::major(rdev), libc::minor(rdev)) != decode_tty_nr(tty_nr) {
                continue;
            }
            let Ok(file) = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open(&path)
            else {
                continue;
            };
            return Some((file, rdev));
        }
        None
    }

    /// Whether process `pid` is blocked reading the terminal `rdev` (see
    /// `crate::foreground`, which prefers that process as the reader).
    pub(crate) fn reads(pid: i32, rdev: u64) -> bool {
        read_stat(&format!("/proc/{pid}")).is_some_and(|s| process_reads(&s, rdev))
    }

    /// Whether a process of group `pgid` is blocked reading the terminal
    /// `rdev`: the group's leader first, then every other member.
    fn group_reads(pgid: i32, rdev: u64) -> bool {
        if let Some(s) = read_stat(&format!("/proc/{pgid}"))
            && s.pgrp == pgid
            && process_reads(&s, rdev)
        {
            return true;
        }
        let Ok(entries) = fs::read_dir("/proc") else {
            return false;
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|p| *p != pgid)
            .filter_map(|p| read_stat(&format!("/proc/{p}")))
            .any(|s| s.pgrp == pgid && process_reads(&s, rdev))
    }

    /// Whether a thread of process `proc` is blocked reading `rdev`: the
    /// main thread first (its state is the process's), then the others.
    fn process_reads(proc: &Stat, rdev: u64) -> bool {
        let pid = proc.pid;
        if thread_reads(&format!("/proc/{pid}/task/{pid}"), proc.state, rdev) {
            return true;
        }
        let Ok(entries) = fs::read_dir(format!("/proc/{pid}/task")) else {
            return false;
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|t| *t != pid)
            .any(|t| {
                let dir = format!("/proc/{pid}/task/{t}");
                read_stat(&dir).is_some_and(|s| thread_reads(&dir, s.state, rdev))
            })
    }

    /// `dir` is `/proc/<p>/task/<t>`; `state` its state letter.
    fn thread_reads(dir: &str, state: char, rdev: u64) -> bool {
        if state != 'S' {
            return false;
        }
        let Ok(text) = fs::read_to_string(format!("{dir}/syscall")) else {
            return wchan_is_tty_read(dir);
        };
        match super::parse_syscall(&text) {
            Some(Syscall::Blocked { nr, arg0 }) if READ_CALLS.contains(&nr) => {
                match fd_is(dir, arg0, rdev) {
                    Some(same) => same,
                    None => wchan_is_tty_read(dir),
                }
            }
            Some(_) => false,
            None => wchan_is_tty_read(dir),
        }
    }

    /// Whether fd `fd` of the thread is the terminal `rdev` (None: unknown).
    fn fd_is(dir: &str, fd: u64, rdev: u64) -> Option<bool> {
        if fd > i32::MAX as u64 {
            return Some(false);
        }
        let meta = fs::metadata(format!("{dir}/fd/{fd}")).ok()?;
        Some(meta.file_type().is_char_device() && meta.rdev() == rdev)
    }

    fn wchan_is_tty_read(dir: &str) -> bool {
        fs::read_to_string(format!("{dir}/wchan"))
            .is_ok_and(|w| TTY_READ_WCHANS.contains(&w.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let line = "42 (a (b) c) d) S 7 42 40 34816 43 4194560 0 0 0 0 0 0 0 0 20 0 1 0";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                pid: 42,
                state: 'S',
                pgrp: 42,
                tty_nr: 34816,
                tpgid: 43,
            })
        );
        let none = "7 (kworker/0:1 ) I 2 0 0 0 -1 69238880 0";
        assert_eq!(parse_stat(none).map(|s| (s.tty_nr, s.tpgid)), Some((0, -1)));
    }

    #[test]
    fn rejects_broken_stat() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("42 (cat) S 7 42 40"), None, "cut short");
        assert_eq!(parse_stat("42 (cat S 7 42 40 34816 43"), None, "no ')'");
        assert_eq!(parse_stat("x (cat) S 7 42 40 34816 43"), None);
    }

    #[test]
    fn decodes_tty_nr() {
        // 34816 is /dev/pts/0, 136:0.
        assert_eq!(decode_tty_nr(34816), (136, 0));
        assert_eq!(decode_tty_nr((137 << 8) | 44), (137, 44));
        // A minor above 255 keeps its high bits above the major.
        assert_eq!(decode_tty_nr((1 << 20) | (4 << 8) | 2), (4, 258));
    }

    #[test]
    fn parses_syscall_lines() {
        assert_eq!(parse_syscall("running\n"), Some(Syscall::Running));
        assert_eq!(
            parse_syscall("-1 0x7ffd4b0c3a58 0x7f0e1c2a1b2c\n"),
            Some(Syscall::NotInCall)
        );
        assert_eq!(
            parse_syscall("0 0x3 0x7f8bdb967000 0x20000 0x0 0x0 0x0 0x7ffd 0x7f8b\n"),
            Some(Syscall::Blocked { nr: 0, arg0: 3 })
        );
        assert_eq!(
            parse_syscall("63 0x0 0x1 0x2 0x3 0x4 0x5 0x6 0x7"),
            Some(Syscall::Blocked { nr: 63, arg0: 0 })
        );
        assert_eq!(parse_syscall(""), None);
        assert_eq!(parse_syscall("0"), None);
        assert_eq!(parse_syscall("zero 0x0"), None);
    }

    #[test]
    fn line_waits_need_canonical_mode_and_a_reader() {
        let state = |canonical, foreground_reading| TtyState {
            canonical,
            echo: true,
            foreground_pgid: Some(7),
            foreground_reading,
        };
        assert!(waits_for_a_line(&state(true, true)));
        assert!(!waits_for_a_line(&state(true, false)));
        assert!(!waits_for_a_line(&state(false, true)));
        assert!(!waits_for_a_line(&state(false, false)));
    }

    #[test]
    fn knows_nothing_of_a_missing_process() {
        assert_eq!(probe(u32::MAX), None);
        assert_eq!(probe(i32::MAX as u32), None);
    }
}
