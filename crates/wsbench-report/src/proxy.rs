//! The proxy in front of each system (`[proxy]`), in words: what it was, whether it passed
//! the WebSocket upgrade on (whether it spoke TLS on both sides, how it balanced a
//! cluster), what it refused, and what it cost per delivery (its CPU over the measured
//! window, medians over repeats) and in memory (its highest peak) — part of the path, so
//! part of what a deployment pays.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use wsbench_core::result::ProxyFigures;

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
            let mut how = upgrade.to_owned();
            if first.tls {
                how.push_str(", over TLS to the clients and to the server");
            }
            if first.nodes > 1 {
                let balance = if first.sticky {
                    "keeping each client on one node (hashed on its address)"
                } else {
                    "without sticky sessions (round robin, request by request)"
                };
                let _ = write!(how, ", in front of {} nodes, {balance}", first.nodes);
            }
            let failed = answered(&failed_by_status(&proxies));
            if s.runs.iter().all(|r| r.connections.connected == 0) {
                return Some(format!(
                    "{}: no client got through {} ({how}){failed}",
                    s.label(),
                    first.software
                ));
            }
            let mut cpu: Vec<f64> = proxies.iter().map(|p| p.cpu_us_per_delivery).collect();
            cpu.sort_by(f64::total_cmp);
            let peak = proxies.iter().map(|p| p.rss_peak_bytes).max().unwrap_or(0);
            Some(format!(
                "{}: through {} ({how}): the proxy's CPU {:.2} µs per delivery, its memory at \
                 most {:.1} MiB{failed}",
                s.label(),
                first.software,
                cpu[cpu.len() / 2],
                peak as f64 / (1024.0 * 1024.0)
            ))
        })
        .collect()
}

/// The proxy's error answers over the runs, by status. A long-polling client's last request
/// after its session closed is one too; a session whose requests reached a node that had
/// not opened it is another.
pub fn failed_by_status(proxies: &[&ProxyFigures]) -> BTreeMap<u16, u64> {
    let mut by_status = BTreeMap::new();
    for p in proxies {
        for (status, n) in &p.failed {
            *by_status.entry(*status).or_insert(0u64) += n;
        }
    }
    by_status
}

/// Those answers in words (`; it answered 400 to 20 request(s)`), or nothing.
fn answered(by_status: &BTreeMap<u16, u64>) -> String {
    if by_status.is_empty() {
        return String::new();
    }
    let answers: Vec<String> = by_status
        .iter()
        .map(|(status, n)| format!("{status} to {n} request(s)"))
        .collect();
    format!("; it answered {}", answers.join(", "))
}
