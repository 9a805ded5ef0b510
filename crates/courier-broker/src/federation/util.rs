//! Small helpers every federation task uses: pausing until the broker
//! stops, retry backoff, locking an in-memory map, and the waits.

use std::time::Duration;

use super::local::Local;

/// How long a directory operation waits for NATS before giving up.
pub const DIRECTORY_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a spawn or a send right after the start waits for the join.
pub const JOIN_WAIT: Duration = Duration::from_secs(5);

/// Waits `delay`, or less if the broker stops; `false` once it stopped.
pub async fn pause(local: &Local, delay: Duration) -> bool {
    tokio::select! {
        _ = local.shutdown_signal().wait() => false,
        _ = tokio::time::sleep(delay) => !local.shutdown_signal().is_triggered(),
    }
}

/// Locks one of federation's in-memory maps. A panic while it was held
/// leaves it usable: each is updated in single statements.
pub fn locked<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The next retry delay: doubling from 100 ms up to `max`.
pub fn backoff(attempt: u32, max: Duration) -> Duration {
    let ms = 100u64.saturating_mul(1u64 << attempt.min(16));
    Duration::from_millis(ms).min(max)
}
