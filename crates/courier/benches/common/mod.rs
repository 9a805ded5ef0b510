//! What the daemon, native, terminals and federation benches share:
//! stopping a broker they started, finding a text on a screen the API
//! returned, percentiles of sorted latencies, and (`daemon`) a `courier up`
//! driven over HTTP with one message at a time timed.

#[allow(dead_code)] // only the daemon and native benches drive one this way
pub mod daemon;

use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Stops a broker as `courier down` would (SIGTERM), killing it if it has
/// not exited within 10 s.
pub fn stop(child: &mut Child) {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether a `GET /v1/agents/{name}/screen` answer shows `token` on a row.
#[allow(dead_code)] // not every bench reads screens
pub fn shows(screen: &Value, token: &str) -> bool {
    screen["rows"].as_array().is_some_and(|rows| {
        rows.iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains(token)))
    })
}

/// The `p` percentile (0.0–1.0, nearest rank) of sorted latencies; zero
/// when there are none.
#[allow(dead_code)] // not every bench times latencies
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// `4.51 ms`, as the tables write a latency.
#[allow(dead_code)]
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", in_ms(d))
}

#[allow(dead_code)]
pub fn in_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The machine's cores, for each table's heading.
#[allow(dead_code)]
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
