//! A host that adopts the orphans of its agent's session (as `courier
//! session-host` does): an orphan is re-parented to it, reaped once it
//! ends, and the reader of the terminal is found below it. Alone in its
//! test binary: adopting makes this whole test process a subreaper, and its
//! reaper waits for every child but the agent.

mod common;

use std::time::{Duration, Instant};

use courier_terminal::foreground::{children_of, foreground, foreground_below};
use courier_terminal::host::adopter::adopt_orphans;
use courier_terminal::host::{HostOptions, serve};
use courier_terminal::pty::SpawnSpec;
use courier_terminal::{DEFAULT_OUTPUT_CHUNKS, Terminal};

const PATIENCE: Duration = Duration::from_secs(10);

/// `/proc/<pid>/stat`'s command name and parent.
fn name_and_parent(pid: u32) -> Option<(String, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let ppid = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
    Some((stat[open + 1..close].to_string(), ppid))
}

/// Waits until `cond` holds (bounded), saying `what` if it never does.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_host_adopts_reaps_and_finds_the_reader_below_itself() {
    let me = std::process::id();
    let adopter = adopt_orphans();
    assert_eq!(adopter, Some(me), "PR_SET_CHILD_SUBREAPER refused");
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("adopter.sock");
    // The inner shell starts a sleep in the background and exits: the
    // sleep is orphaned, then `cat` reads the terminal.
    let spec = SpawnSpec::new("adopter", "sh")
        .args(["-c", "sh -c 'sleep 1 &'; exec cat"])
        .size(24, 80);
    let host = tokio::spawn(serve(
        spec,
        HostOptions {
            socket: socket.clone(),
            orphan_timeout: PATIENCE,
            adopter,
        },
    ));
    let session = common::connect_host(&socket, DEFAULT_OUTPUT_CHUNKS, PATIENCE).await;
    assert_eq!(session.adopter(), Some(me), "the hello names the adopter");
    let agent = session.pid();

    let orphan = || {
        children_of(me)
            .into_iter()
            .find(|c| name_and_parent(*c).is_some_and(|(name, _)| name == "sleep"))
    };
    until("the orphaned sleep re-parented to the host", || {
        orphan().is_some()
    })
    .await;

    let reader = foreground(agent).expect("the scan finds the reader");
    let below = foreground_below(agent, me).expect("the walk finds the reader");
    assert_eq!(reader.reader.pid, agent, "{reader:?}");
    assert_eq!(
        (below.reader.pid, below.reading),
        (reader.reader.pid, reader.reading)
    );

    // The sleep ends after a second; the reaper waits for it within another.
    until("the ended orphan reaped (no child but the agent)", || {
        children_of(me)
            .iter()
            .all(|c| *c == agent || name_and_parent(*c).is_none_or(|(n, _)| n != "sleep"))
    })
    .await;
    assert!(
        children_of(me).contains(&agent),
        "the agent itself is never reaped by the host's reaper"
    );

    session.kill().await;
    let _ = tokio::time::timeout(PATIENCE, host).await;
}
