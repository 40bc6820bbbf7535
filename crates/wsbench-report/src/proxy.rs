//! The proxy in front of each system (`[proxy]`), in words: what it was, whether it passed
//! the WebSocket upgrade on (and whether it spoke TLS on both sides), and what it cost per delivery (its CPU over the measured
//! window, medians over repeats) and in memory (its highest peak) — part of the path, so
//! part of what a deployment pays.

use crate::summary::SystemSummary;

/// A line per system measured through a proxy.
pub fn lines(summaries: &[SystemSummary]) -> Vec<String> {
    summaries
        .iter()
        .filter_map(|s| {
            let proxies: Vec<_> = s.runs.iter().filter_map(|r| r.proxy.as_ref()).collect();
            let first = proxies.first()?;
            let upgrade = if first.upgrade {
                "which passes the WebSocket upgrade on"
            } else {
                "which does not pass the WebSocket upgrade on"
            };
            let how = if first.tls {
                format!("{upgrade}, over TLS to the clients and to the server")
            } else {
                upgrade.to_owned()
            };
            if s.runs.iter().all(|r| r.connections.connected == 0) {
                return Some(format!(
                    "{}: no client got through {} ({how})",
                    s.label(),
                    first.software
                ));
            }
            let mut cpu: Vec<f64> = proxies.iter().map(|p| p.cpu_us_per_delivery).collect();
            cpu.sort_by(f64::total_cmp);
            let peak = proxies.iter().map(|p| p.rss_peak_bytes).max().unwrap_or(0);
            Some(format!(
                "{}: through {} ({how}): the proxy's CPU {:.2} µs per delivery, its memory at \
                 most {:.1} MiB",
                s.label(),
                first.software,
                cpu[cpu.len() / 2],
                peak as f64 / (1024.0 * 1024.0)
            ))
        })
        .collect()
}
