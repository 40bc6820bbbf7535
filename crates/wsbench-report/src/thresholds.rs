//! Checking a result against its scenario's `[thresholds]`.

use wsbench_core::result::RunResult;
use wsbench_core::system::SystemName;

use crate::metrics::{Metric, metric};
use crate::summary::{TransportSummary, summarize};

/// One limit checked against one transport's median.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The system.
    pub transport: SystemName,
    /// The transport and sweep point, as reports name it.
    pub label: String,
    /// What was limited, e.g. "p99 <= 50ms".
    pub limit: String,
    /// The measured value, as text.
    pub actual: String,
    /// Whether the limit held.
    pub pass: bool,
}

/// Every threshold of the scenario, per transport measured.
pub fn check(result: &RunResult) -> Vec<Check> {
    let mut checks = Vec::new();
    for s in summarize(result) {
        let t = result.scenario.thresholds_for(&s.transport);
        if let Some(p99) = t.p99 {
            let limit_ms = p99.0.as_secs_f64() * 1e3;
            checks.push(bound(
                &s,
                metric("latency_p99_ms"),
                limit_ms,
                true,
                format!("p99 <= {p99}"),
                "ms",
            ));
        }
        if let Some(loss) = t.loss {
            checks.push(bound(
                &s,
                metric("loss_ratio"),
                loss,
                true,
                format!("loss <= {loss}"),
                "",
            ));
        }
        if let Some(min) = t.delivered_per_s {
            checks.push(bound(
                &s,
                metric("delivered_per_s"),
                min,
                false,
                format!("delivered/s >= {min}"),
                "",
            ));
        }
        if let Some(bytes) = t.memory_per_connection {
            checks.push(bound(
                &s,
                metric("server_memory_per_connection_kib"),
                bytes as f64 / 1024.0,
                true,
                format!("memory/conn <= {bytes} B"),
                "KiB",
            ));
        }
        if let Some(bytes) = t.server_rss_peak {
            let peak = s
                .runs
                .iter()
                .filter_map(|r| r.server.as_ref().map(|sv| sv.rss_peak_bytes))
                .max();
            checks.push(Check {
                transport: s.transport.clone(),
                label: s.label(),
                limit: format!("server RSS peak <= {bytes} B"),
                actual: peak.map_or("not measured".to_owned(), |p| format!("{p} B")),
                pass: peak.is_some_and(|p| p <= bytes),
            });
        }
    }
    checks
}

/// A metric's median against a limit; a figure that was not measured fails the check.
fn bound(
    s: &TransportSummary,
    m: &Metric,
    limit: f64,
    at_most: bool,
    text: String,
    unit: &str,
) -> Check {
    let value = s.stat(m).map(|st| st.median);
    Check {
        transport: s.transport.clone(),
        label: s.label(),
        limit: text,
        actual: value.map_or("not measured".to_owned(), |v| {
            format!("{v:.4} {unit}").trim().to_owned()
        }),
        pass: value.is_some_and(|v| if at_most { v <= limit } else { v >= limit }),
    }
}
