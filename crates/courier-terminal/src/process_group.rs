//! Finding and signalling everything a session started.
//!
//! A session's program is a session leader (setsid), so its process group
//! id is its pid. Helpers that stay in the group die with `killpg`. Helpers
//! that detach (setsid + double fork) leave the group, so every session also
//! carries a cookie in its environment ([`COOKIE_VAR`]); on Linux, release
//! scans `/proc` for processes that are in the group or the session, descend
//! from the leader, or carry the cookie, and signals each of them.

use std::collections::HashMap;

/// The environment variable that marks every process of one session.
pub const COOKIE_VAR: &str = "COURIER_SESSION_ID";

/// Sends `signal` to the process group `pgid` (errors such as "no such
/// group" are ignored: the group may be gone already).
pub fn signal_group(pgid: i32, signal: i32) {
    if pgid > 1 {
        // SAFETY: killpg has no memory-safety preconditions.
        unsafe {
            libc::killpg(pgid, signal);
        }
    }
}

/// Sends `signal` to one process (errors ignored, as above).
pub fn signal_pid(pid: i32, signal: i32) {
    if pid > 1 && pid != std::process::id() as i32 {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// One row of `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
}

/// Parses `/proc/<pid>/stat` content (the command name may hold spaces and
/// parentheses, so fields are read after the last `)`).
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let pid = text.split_whitespace().next()?.parse().ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    Some(ProcStat {
        pid,
        state,
        ppid,
        pgrp,
        session,
    })
}

fn read_stat(pid: i32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Whether `pid` no longer runs (absent, or a zombie waiting to be reaped).
pub fn is_gone(pid: i32) -> bool {
    if cfg!(target_os = "linux") {
        read_stat(pid).is_none_or(|s| s.state == 'Z' || s.state == 'X')
    } else {
        // SAFETY: signal 0 only checks for existence.
        unsafe { libc::kill(pid, 0) != 0 }
    }
}

fn has_cookie(pid: i32, needle: &[u8]) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(|kv| kv == needle))
        .unwrap_or(false)
}

/// Every live process that belongs to the session led by `leader` (see the
/// module docs), excluding the leader itself and this process. Empty where
/// `/proc` does not exist.
pub fn members(leader: i32, cookie: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    let needle = format!("{COOKIE_VAR}={cookie}").into_bytes();
    let stats: HashMap<i32, ProcStat> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read_stat)
        .filter(|s| s.state != 'Z' && s.state != 'X')
        .map(|s| (s.pid, s))
        .collect();
    let descends = |mut pid: i32| {
        for _ in 0..64 {
            match stats.get(&pid) {
                Some(s) if s.ppid == leader => return true,
                Some(s) if s.ppid > 1 => pid = s.ppid,
                _ => return false,
            }
        }
        false
    };
    let mut out: Vec<i32> = stats
        .values()
        .filter(|s| s.pid != leader && s.pid != me)
        .filter(|s| {
            s.pgrp == leader || s.session == leader || descends(s.pid) || has_cookie(s.pid, &needle)
        })
        .map(|s| s.pid)
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let s = parse_stat("42 (a b) c) S 7 42 40 34816 42 4194560 0").unwrap();
        assert_eq!(
            s,
            ProcStat {
                pid: 42,
                state: 'S',
                ppid: 7,
                pgrp: 42,
                session: 40
            }
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_never_a_member() {
        let me = std::process::id() as i32;
        assert!(!is_gone(me));
        assert!(!members(me, "nope").contains(&me));
    }
}
