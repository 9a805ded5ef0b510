//! The host adopts what its agent leaves behind: it is a child subreaper
//! (`PR_SET_CHILD_SUBREAPER`), so a process of the agent's session whose
//! parent exits is re-parented to the host instead of to init, and the
//! agent's whole session stays below the host. Finding who reads the
//! agent's terminal ([`crate::foreground`]) then walks that tree instead of
//! every process on the machine: the scan cost milliseconds per delivery
//! on a machine running a few hundred processes.
//!
//! What the host adopts it must also reap: a task looks for ended children
//! other than the agent (whose exit the PTY's own waiter collects) every
//! [`REAP_EVERY`].

use std::time::Duration;

/// How often adopted processes that ended are reaped (a zombie holds only
/// a process table slot until then).
pub const REAP_EVERY: Duration = Duration::from_secs(1);

/// Makes this process a child subreaper; its pid if that took (always on
/// Linux since 3.4), None elsewhere or when the kernel refused.
pub fn adopt_orphans() -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER reads its integer
        // argument only.
        let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        (r == 0).then(std::process::id)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Reaps, forever, the children of this process that ended, except `agent`.
pub async fn reap_adopted(agent: u32) {
    let mut every = tokio::time::interval(REAP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        reap_once(agent);
    }
}

/// One pass: each child but `agent` that ended is waited for.
fn reap_once(agent: u32) {
    #[cfg(target_os = "linux")]
    for child in crate::foreground::children_of(std::process::id()) {
        if child == agent {
            continue;
        }
        let Ok(pid) = i32::try_from(child) else {
            continue;
        };
        let mut status = 0;
        // SAFETY: waitpid writes only into `status`; WNOHANG never blocks,
        // and a pid that is not (or no longer) our child is refused.
        unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = agent;
}
