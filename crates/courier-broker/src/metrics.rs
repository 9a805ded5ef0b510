//! Counters for `/metrics` (Prometheus text format, version 0.0.4).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub messages_accepted: AtomicU64,
    pub messages_duplicate: AtomicU64,
    /// Sends the ACL refused as a whole.
    pub messages_refused: AtomicU64,
    pub deliveries_verified: AtomicU64,
    pub deliveries_unverified: AtomicU64,
    pub deliveries_failed: AtomicU64,
    pub deliveries_dropped: AtomicU64,
    pub deliveries_read: AtomicU64,
    pub deliveries_stuck: AtomicU64,
    pub http_requests: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        add(counter, 1);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        add(counter, n);
    }

    /// Renders every counter plus the given gauges.
    // Long: one line per counter, in the order /metrics shows them.
    pub fn render(&self, gauges: &[(&str, &str, u64)]) -> String {
        let counters = [
            (
                "courier_messages_accepted_total",
                "Messages accepted",
                &self.messages_accepted,
            ),
            (
                "courier_messages_duplicate_total",
                "Sends answered as duplicates",
                &self.messages_duplicate,
            ),
            (
                "courier_messages_refused_total",
                "Sends the ACL refused as a whole",
                &self.messages_refused,
            ),
            (
                "courier_deliveries_verified_total",
                "Deliveries proven on screen",
                &self.deliveries_verified,
            ),
            (
                "courier_deliveries_unverified_total",
                "Deliveries ended without proof",
                &self.deliveries_unverified,
            ),
            (
                "courier_deliveries_failed_total",
                "Failed injection attempts",
                &self.deliveries_failed,
            ),
            (
                "courier_deliveries_dropped_total",
                "Deliveries evicted by the queue cap",
                &self.deliveries_dropped,
            ),
            (
                "courier_deliveries_read_total",
                "Deliveries the agent confirmed it read (inbox or hook)",
                &self.deliveries_read,
            ),
            (
                "courier_deliveries_stuck_total",
                "Deliveries the watchdog found stuck",
                &self.deliveries_stuck,
            ),
            (
                "courier_http_requests_total",
                "HTTP requests served",
                &self.http_requests,
            ),
        ];
        let mut out = String::new();
        for (name, help, counter) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }

    /// One gauge with one label, a series per value (label values are
    /// fixed names, never user text, so they need no escaping).
    pub fn render_labeled_gauge(
        name: &str,
        help: &str,
        label: &str,
        series: &[(&str, u64)],
    ) -> String {
        let mut out = format!("# HELP {name} {help}\n# TYPE {name} gauge\n");
        for (value, n) in series {
            let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        Metrics::inc(&m.messages_accepted);
        let text = m.render(&[("courier_agents", "Agents", 3)]);
        assert!(text.contains("courier_messages_accepted_total 1\n"));
        assert!(text.contains("# TYPE courier_agents gauge\ncourier_agents 3\n"));
        let labeled = Metrics::render_labeled_gauge(
            "courier_deliveries_stuck_by_reason",
            "Stuck",
            "reason",
            &[("agent_busy", 2), ("in_flight", 0)],
        );
        assert_eq!(
            labeled,
            "# HELP courier_deliveries_stuck_by_reason Stuck\n\
             # TYPE courier_deliveries_stuck_by_reason gauge\n\
             courier_deliveries_stuck_by_reason{reason=\"agent_busy\"} 2\n\
             courier_deliveries_stuck_by_reason{reason=\"in_flight\"} 0\n"
        );
    }
}
