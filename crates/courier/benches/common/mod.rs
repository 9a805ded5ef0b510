//! What the daemon, terminals and federation benches share: stopping a
//! broker they started, and finding a text on a screen the API returned.

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
