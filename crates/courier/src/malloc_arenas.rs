//! How many malloc arenas the process may use (glibc).
//!
//! glibc gives each thread that allocates an arena of its own, up to eight
//! per core, and each keeps the memory freed into it. The broker's threads
//! (tokio's workers and blocking pool, the store's writer and readers, the
//! event bus) each held some: measured with the daemon bench (10 agents
//! after a load of 32 HTTP senders), two arenas took the broker's private
//! memory from 32–34 MB to 26–27 MB and its growth per agent from 3.3–3.5 to
//! 2.7–2.8 MB, with sends per second and latency unchanged. A
//! `MALLOC_ARENA_MAX` set in the environment is left to glibc.

/// Arenas when `MALLOC_ARENA_MAX` is not set.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
const ARENAS: i32 = 2;

/// Caps the arenas; call before any thread starts.
pub fn limit() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called at the
        // start of main, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}
