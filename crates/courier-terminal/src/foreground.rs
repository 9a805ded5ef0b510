//! Which process reads an agent's terminal right now: the one whose
//! grammar a message typed into it meets. A bash agent in which someone
//! started `node` is read by node until node exits; a `script` agent is
//! read by what runs in the terminal `script` opened.
//!
//! How the reader is found (Linux `/proc`; elsewhere [`foreground`]
//! answers `None`):
//!
//! 1. The terminal's foreground process group (`tpgid` of the agent's
//!    `/proc/<pid>/stat`) and its members on that terminal.
//! 2. Of those, the one blocked reading the terminal (see `tty_probe`),
//!    else the deepest descendant of the terminal's session leader (a
//!    wrapper that stays as a parent, `sudo` or `timeout`, is above what it
//!    runs), else the leader itself.
//! 3. If a descendant of that process leads a session on another terminal
//!    (`script`, `sudo` with `use_pty`: a new PTY whose output it relays),
//!    the same again on that terminal, a few levels deep at most.
//!
//! It costs one scan of `/proc` (a small read per process on the
//! machine, about a millisecond), cheap enough for every delivery.

use serde::Serialize;

/// One process, as `/proc` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    pub pid: u32,
    /// `/proc/<pid>/exe`; None when it cannot be read (another user's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// `/proc/<pid>/cmdline`, `argv[0]` first.
    pub argv: Vec<String>,
    /// The kernel's name of it (`comm`).
    pub name: String,
}

/// The reader of an agent's terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Foreground {
    /// The process that gets what is typed.
    pub reader: Process,
    /// The processes from the agent's down to the reader's parent,
    /// outermost first, through the terminals opened on the way: the
    /// shell that started the reader, a `script` that relays to it.
    pub via: Vec<Process>,
    /// The reader is blocked reading the terminal right now.
    pub reading: bool,
    /// The terminal is in canonical mode and nothing of its foreground
    /// group reads it: typed text waits in the line discipline for the
    /// next reader (the shell, once the foreground program ends).
    pub typed_ahead: bool,
}

/// The reader of the terminal of the agent whose program is `pid`; None
/// when `/proc` cannot say (the process is gone, not Linux).
pub fn foreground(pid: u32) -> Option<Foreground> {
    foreground_each(&[pid]).pop().flatten()
}

/// [`foreground`], looking only at the processes below `adopter`: the
/// agent's parent when it adopts the orphans of the agent's session (a
/// child subreaper, as the session host is: `host::adopter`), so that the
/// whole session lies below it. A walk of that tree costs what the agent
/// runs, not what the machine runs. Falls back to the scan of all of
/// `/proc` when the tree cannot be read or does not hold the agent and a
/// member of its terminal's foreground group.
pub fn foreground_below(pid: u32, adopter: u32) -> Option<Foreground> {
    #[cfg(target_os = "linux")]
    {
        linux::foreground_below(pid, adopter)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (pid, adopter);
        None
    }
}

/// The children of process `pid` (those of each of its threads), from
/// `/proc/<pid>/task/<tid>/children`; empty when it cannot be read.
pub fn children_of(pid: u32) -> Vec<u32> {
    #[cfg(target_os = "linux")]
    {
        i32::try_from(pid)
            .ok()
            .and_then(linux::children)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| u32::try_from(c).ok())
            .collect()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        Vec::new()
    }
}

/// [`foreground`] for several agents from one scan of `/proc` (a listing
/// of every agent costs one scan, not one per agent).
pub fn foreground_each(pids: &[u32]) -> Vec<Option<Foreground>> {
    #[cfg(target_os = "linux")]
    {
        linux::foreground_each(pids)
    }
    #[cfg(not(target_os = "linux"))]
    {
        pids.iter().map(|_| None).collect()
    }
}

/// The fields of `/proc/<pid>/stat` the walk needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct Stat {
    pid: i32,
    name: String,
    state: char,
    ppid: i32,
    pgrp: i32,
    session: i32,
    tty_nr: i32,
    tpgid: i32,
}

/// Parses a stat line; the name (field 2) may hold spaces and
/// parentheses, so the fields after it are read after the last `)`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_stat(text: &str) -> Option<Stat> {
    let pid = text.split_whitespace().next()?.parse().ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let mut fields = text.get(close + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let mut next = || fields.next()?.parse::<i32>().ok();
    Some(Stat {
        pid,
        name,
        state,
        ppid: next()?,
        pgrp: next()?,
        session: next()?,
        tty_nr: next()?,
        tpgid: next()?,
    })
}

/// Splits a cmdline (NUL-separated, NUL-terminated) into its arguments.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_cmdline(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|b| *b == 0)
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// The walk over one snapshot of the process table, kept apart from
/// `/proc` so the choice itself is plain logic.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod walk {
    use std::collections::HashMap;

    use super::Stat;

    /// At most this many nested terminals are followed.
    pub(super) const MAX_TERMINALS: usize = 4;

    pub(super) struct Table {
        pub(super) procs: HashMap<i32, Stat>,
    }

    impl Table {
        /// `pid`'s distance below `ancestor` (0: itself), None when it is
        /// not below it.
        pub(super) fn depth_below(&self, pid: i32, ancestor: i32) -> Option<usize> {
            let mut current = pid;
            for depth in 0..64 {
                if current == ancestor {
                    return Some(depth);
                }
                current = self.procs.get(&current)?.ppid;
            }
            None
        }

        /// The chain from `top` down to `pid`, both included, outermost first.
        pub(super) fn chain(&self, top: i32, pid: i32) -> Vec<i32> {
            let mut chain = vec![pid];
            let mut current = pid;
            while current != top && chain.len() < 64 {
                match self.procs.get(&current) {
                    Some(s) if s.ppid > 0 => {
                        current = s.ppid;
                        chain.push(current);
                    }
                    _ => break,
                }
            }
            chain.reverse();
            chain
        }

        /// The foreground group's members on `leader`'s terminal: the one
        /// `reads` says reads it, else the deepest below `leader`, else
        /// `leader`.
        pub(super) fn choose(&self, leader: &Stat, reads: impl Fn(i32) -> bool) -> (i32, bool) {
            let mut members: Vec<&Stat> = self
                .procs
                .values()
                .filter(|s| {
                    s.pgrp == leader.tpgid
                        && s.tty_nr == leader.tty_nr
                        && !matches!(s.state, 'Z' | 'X')
                })
                .collect();
            // Deepest first, then the lowest pid: the same answer every time.
            members.sort_by_key(|s| {
                (
                    std::cmp::Reverse(self.depth_below(s.pid, leader.pid).unwrap_or(0)),
                    s.pid,
                )
            });
            if let Some(reader) = members.iter().find(|s| reads(s.pid)) {
                return (reader.pid, true);
            }
            (members.first().map_or(leader.pid, |s| s.pid), false)
        }

        /// A descendant of `pid` (itself included) leading a session on a
        /// terminal other than `tty_nr`: a new PTY it relays to.
        pub(super) fn inner_terminal(&self, pid: i32, tty_nr: i32) -> Option<&Stat> {
            let mut inner: Vec<&Stat> = self
                .procs
                .values()
                .filter(|s| {
                    s.tty_nr != 0
                        && s.tty_nr != tty_nr
                        && s.session == s.pid
                        && !matches!(s.state, 'Z' | 'X')
                        && self.depth_below(s.pid, pid).is_some()
                })
                .collect();
            inner.sort_by_key(|s| (self.depth_below(s.pid, pid).unwrap_or(0), s.pid));
            inner.first().copied()
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;
    use std::fs;

    use super::walk::{MAX_TERMINALS, Table};
    use super::{Foreground, Process, Stat, parse_cmdline, parse_stat};

    fn read_stat(pid: i32) -> Option<Stat> {
        parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    fn table() -> Option<Table> {
        let procs = fs::read_dir("/proc")
            .ok()?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(read_stat)
            .map(|s| (s.pid, s))
            .collect::<HashMap<_, _>>();
        Some(Table { procs })
    }

    /// A tree walk gives up past this many processes (and the caller
    /// scans `/proc` instead).
    const MAX_TREE: usize = 4096;

    /// The children of `pid` (each thread's); None when `/proc` cannot
    /// list them (gone, or a kernel without `CONFIG_PROC_CHILDREN`).
    pub(super) fn children(pid: i32) -> Option<Vec<i32>> {
        let mut found = Vec::new();
        for task in fs::read_dir(format!("/proc/{pid}/task")).ok()? {
            let task = task.ok()?.file_name();
            let list = fs::read_to_string(format!(
                "/proc/{pid}/task/{}/children",
                task.to_string_lossy()
            ))
            .ok()?;
            found.extend(
                list.split_whitespace()
                    .filter_map(|c| c.parse::<i32>().ok()),
            );
        }
        Some(found)
    }

    /// `root` and every process below it; None when that cannot be read
    /// whole enough to trust (the root gone, no children lists, too many).
    fn tree(root: i32) -> Option<Table> {
        let mut procs = HashMap::new();
        let mut todo = vec![root];
        while let Some(pid) = todo.pop() {
            if procs.len() >= MAX_TREE {
                return None;
            }
            if procs.contains_key(&pid) {
                continue;
            }
            let Some(stat) = read_stat(pid) else {
                if pid == root {
                    return None;
                }
                // Ended since its parent listed it.
                continue;
            };
            let below = children(pid);
            if pid == root && below.is_none() {
                return None;
            }
            procs.insert(pid, stat);
            todo.extend(below.unwrap_or_default());
        }
        Some(Table { procs })
    }

    /// The tree holds the agent, and a member of the foreground group of
    /// its terminal (if it has one): nothing that could read it is outside.
    fn covers(table: &Table, agent: i32) -> bool {
        let Some(leader) = table.procs.get(&agent) else {
            return false;
        };
        leader.tpgid <= 0 || table.procs.values().any(|s| s.pgrp == leader.tpgid)
    }

    pub(super) fn foreground_below(pid: u32, adopter: u32) -> Option<Foreground> {
        let agent = i32::try_from(pid).ok()?;
        let below = i32::try_from(adopter)
            .ok()
            .and_then(tree)
            .filter(|t| covers(t, agent));
        match below {
            Some(table) => foreground(&table, pid),
            None => foreground(&table()?, pid),
        }
    }

    fn process(table: &Table, pid: i32) -> Process {
        let exe = fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        let argv = fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| parse_cmdline(&b))
            .unwrap_or_default();
        let name = table
            .procs
            .get(&pid)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        Process {
            pid: pid as u32,
            exe,
            argv,
            name,
        }
    }

    /// The terminal `tty_nr` names, as `st_rdev` spells it.
    fn rdev(tty_nr: i32) -> u64 {
        let (major, minor) = crate::tty_probe::decode_tty_nr(tty_nr);
        libc::makedev(major, minor)
    }

    pub(super) fn foreground_each(pids: &[u32]) -> Vec<Option<Foreground>> {
        match table() {
            Some(table) => pids.iter().map(|pid| foreground(&table, *pid)).collect(),
            None => pids.iter().map(|_| None).collect(),
        }
    }

    fn foreground(table: &Table, pid: u32) -> Option<Foreground> {
        let agent = i32::try_from(pid).ok()?;
        let mut leader = table.procs.get(&agent)?.clone();
        if matches!(leader.state, 'Z' | 'X') {
            return None;
        }
        let mut path: Vec<i32> = Vec::new();
        for _ in 0..MAX_TERMINALS {
            if leader.tty_nr == 0 || leader.tpgid <= 0 {
                break;
            }
            let terminal = rdev(leader.tty_nr);
            let (chosen, reading) =
                table.choose(&leader, |p| crate::tty_probe::linux::reads(p, terminal));
            let chain = table.chain(leader.pid, chosen);
            if let Some(inner) = table.inner_terminal(chosen, leader.tty_nr) {
                // `script`, `sudo`: the text goes on to the terminal it opened.
                path.extend(&chain);
                let below = table.chain(chosen, inner.pid);
                path.extend(below.iter().skip(1).take(below.len().saturating_sub(2)));
                leader = inner.clone();
                continue;
            }
            let (reader, above) = chain.split_last()?;
            path.extend(above);
            // `reading` already says whether a member of the foreground
            // group reads the terminal (`choose` asked each one): only the
            // mode is wanted here, not `tty_probe`'s own look for a reader,
            // which scans all of /proc when the group's leader is not it.
            let canonical = crate::tty_probe::linux::canonical(leader.pid as u32);
            let typed_ahead = canonical == Some(true) && !reading;
            return Some(Foreground {
                reader: process(table, *reader),
                via: path.iter().map(|p| process(table, *p)).collect(),
                reading,
                typed_ahead,
            });
        }
        // No terminal (or too deep): the leader reached is the reader.
        Some(Foreground {
            reader: process(table, leader.pid),
            via: path.iter().map(|p| process(table, *p)).collect(),
            reading: false,
            typed_ahead: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::walk::Table;
    use super::*;

    fn stat(pid: i32, ppid: i32, pgrp: i32, session: i32, tty_nr: i32, tpgid: i32) -> Stat {
        Stat {
            pid,
            name: format!("p{pid}"),
            state: 'S',
            ppid,
            pgrp,
            session,
            tty_nr,
            tpgid,
        }
    }

    fn table(stats: &[Stat]) -> Table {
        Table {
            procs: stats
                .iter()
                .map(|s| (s.pid, s.clone()))
                .collect::<HashMap<_, _>>(),
        }
    }

    #[test]
    fn parses_stat_and_cmdline() {
        let s = parse_stat("42 (a (b) c) S 7 42 40 34816 43 4194560 0").unwrap();
        assert_eq!((s.pid, s.name.as_str(), s.state), (42, "a (b) c", 'S'));
        assert_eq!(
            (s.ppid, s.pgrp, s.session, s.tty_nr, s.tpgid),
            (7, 42, 40, 34816, 43)
        );
        assert_eq!(parse_stat("42 (x) S 7"), None);
        assert_eq!(
            parse_cmdline(b"bash\0--rcfile\0a b\0"),
            ["bash", "--rcfile", "a b"]
        );
        assert!(parse_cmdline(b"").is_empty());
    }

    #[test]
    fn the_foreground_job_of_a_shell_is_its_reader() {
        // bash 10 (session leader on tty 1) started node 11 as a job.
        let t = table(&[stat(10, 1, 10, 10, 1, 11), stat(11, 10, 11, 10, 1, 11)]);
        assert_eq!(t.choose(&t.procs[&10], |_| false), (11, false));
        // Back at the prompt: bash.
        let t = table(&[stat(10, 1, 10, 10, 1, 10)]);
        assert_eq!(t.choose(&t.procs[&10], |_| false), (10, false));
    }

    #[test]
    fn a_reader_wins_over_the_deepest() {
        // `cat | node`: both in group 11, cat reads the terminal.
        let t = table(&[
            stat(10, 1, 10, 10, 1, 11),
            stat(11, 10, 11, 10, 1, 11),
            stat(12, 10, 11, 10, 1, 11),
            stat(13, 12, 11, 10, 1, 11),
        ]);
        assert_eq!(t.choose(&t.procs[&10], |p| p == 11), (11, true));
        assert_eq!(t.choose(&t.procs[&10], |_| false), (13, false), "deepest");
    }

    #[test]
    fn a_relay_to_a_new_terminal_is_followed() {
        // script 10 on tty 1; its child 11 leads a session on tty 2.
        let t = table(&[
            stat(10, 1, 10, 10, 1, 10),
            stat(11, 10, 11, 11, 2, 12),
            stat(12, 11, 12, 11, 2, 12),
        ]);
        let (chosen, _) = t.choose(&t.procs[&10], |_| false);
        assert_eq!(chosen, 10);
        let inner = t.inner_terminal(chosen, 1).unwrap();
        assert_eq!(inner.pid, 11);
        assert_eq!(t.choose(inner, |_| false), (12, false));
        assert_eq!(t.chain(10, 12), [10, 11, 12]);
    }

    #[test]
    fn knows_nothing_of_a_missing_process() {
        assert_eq!(foreground(u32::MAX), None);
    }
}
