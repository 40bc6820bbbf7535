//! Checking a result against its scenario's `[thresholds]`: one check per limit and
//! system, stored in result.json and shown by every format.

use wsbench_core::result::{RunResult, ThresholdCheck};
use wsbench_core::scenario::Thresholds;

use crate::metrics::{DELIVERED_PER_S, LATENCY_P99, LOSS, MEMORY_PER_CONNECTION, Metric};
use crate::summary::{SystemSummary, summarize};
use crate::table::Table;

/// Every threshold of the scenario, per system measured.
pub fn check(result: &RunResult) -> Vec<ThresholdCheck> {
    summarize(result)
        .iter()
        .flat_map(|s| judge(s, &result.scenario.thresholds_for(&s.system)))
        .collect()
}

/// `s`'s figures (medians over its repeats) held to `t`, one check per limit set: the one
/// place a limit is judged, for a scenario's `[thresholds]` and a search's steps alike.
pub fn judge(s: &SystemSummary, t: &Thresholds) -> Vec<ThresholdCheck> {
    let mut checks = Vec::new();
    if let Some(p99) = t.p99 {
        let limit_ms = p99.0.as_secs_f64() * 1e3;
        let value = median(s, &LATENCY_P99);
        checks.push(bound(
            s,
            format!("p99 <= {p99}"),
            limit_ms,
            value,
            "ms",
            true,
        ));
    }
    if let Some(loss) = t.loss {
        let value = median(s, &LOSS);
        checks.push(bound(
            s,
            format!("loss <= {loss}"),
            loss,
            value,
            "share",
            true,
        ));
    }
    if let Some(min) = t.delivered_per_s {
        let value = median(s, &DELIVERED_PER_S);
        let text = format!("delivered/s >= {min}");
        checks.push(bound(s, text, min, value, "msg/s", false));
    }
    if let Some(bytes) = t.memory_per_connection {
        // The metric is in KiB; the limit, and so the check, in bytes.
        let value = median(s, &MEMORY_PER_CONNECTION).map(|k| k * 1024.0);
        let text = format!("memory/conn <= {bytes} B");
        checks.push(bound(s, text, bytes as f64, value, "bytes", true));
    }
    if let Some(bytes) = t.server_rss_peak {
        let peak = s
            .runs
            .iter()
            .filter_map(|r| r.server.as_ref().map(|sv| sv.rss_peak_bytes as f64))
            .reduce(f64::max);
        let text = format!("server RSS peak <= {bytes} B");
        checks.push(bound(s, text, bytes as f64, peak, "bytes", true));
    }
    checks
}

fn median(s: &SystemSummary, m: &Metric) -> Option<f64> {
    s.stat(m).map(|st| st.median)
}

/// `value` against `limit`; a figure that was not measured fails the check.
fn bound(
    s: &SystemSummary,
    text: String,
    limit: f64,
    value: Option<f64>,
    unit: &str,
    at_most: bool,
) -> ThresholdCheck {
    ThresholdCheck {
        system: s.system.clone(),
        label: s.label(),
        limit: text,
        bound: limit,
        value,
        unit: unit.to_owned(),
        pass: value.is_some_and(|v| if at_most { v <= limit } else { v >= limit }),
    }
}

/// A check's value with its unit: `3.21 ms`, `0.0000 share`, `not measured`.
pub fn value_text(c: &ThresholdCheck) -> String {
    match c.value {
        None => "not measured".to_owned(),
        Some(v) if c.unit == "share" => format!("{v:.4} {}", c.unit),
        Some(v) if c.unit == "bytes" => format!("{v:.0} {}", c.unit),
        Some(v) => format!("{v:.2} {}", c.unit),
    }
}

/// A broken check in words: `p99 <= 1us broken (2.31 ms)`.
pub fn broken_text(c: &ThresholdCheck) -> String {
    format!("{} broken ({})", c.limit, value_text(c))
}

/// The checks as a table: system, limit, value, pass or FAIL.
pub fn table(checks: &[ThresholdCheck]) -> Option<Table> {
    if checks.is_empty() {
        return None;
    }
    Some(Table {
        header: ["system", "limit", "value", "result"]
            .map(String::from)
            .to_vec(),
        rows: checks
            .iter()
            .map(|c| {
                vec![
                    c.label.clone(),
                    c.limit.clone(),
                    value_text(c),
                    if c.pass { "pass" } else { "FAIL" }.to_owned(),
                ]
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsbench_core::scenario::HumanDuration;

    fn summary() -> SystemSummary {
        let result: RunResult = crate::fixtures::pair();
        summarize(&result).remove(0)
    }

    /// Each limit is held against the median of the repeats, in the limit's own unit and
    /// direction; nothing is checked that was not asked for.
    #[test]
    fn every_limit_is_judged_on_the_median_in_its_direction() {
        let s = summary();
        assert!(judge(&s, &Thresholds::default()).is_empty());
        let delivered = s.stat(&DELIVERED_PER_S).unwrap().median;
        let at_least = |min: f64| Thresholds {
            delivered_per_s: Some(min),
            ..Thresholds::default()
        };
        assert!(
            judge(&s, &at_least(delivered))[0].pass,
            "a bound it meets holds"
        );
        let over = &judge(&s, &at_least(delivered + 1.0))[0];
        assert!(!over.pass);
        assert_eq!((over.unit.as_str(), over.value), ("msg/s", Some(delivered)));

        let peak = s
            .runs
            .iter()
            .filter_map(|r| r.server.as_ref().map(|sv| sv.rss_peak_bytes))
            .max()
            .unwrap();
        let t = Thresholds {
            server_rss_peak: Some(peak - 1),
            memory_per_connection: Some(1 << 20),
            p99: Some(HumanDuration(std::time::Duration::from_secs(60))),
            loss: Some(0.0),
            ..Thresholds::default()
        };
        let checks = judge(&s, &t);
        let limits: Vec<&str> = checks.iter().map(|c| c.limit.as_str()).collect();
        assert_eq!(limits.len(), 4, "{limits:?}");
        let broken: Vec<&ThresholdCheck> = checks.iter().filter(|c| !c.pass).collect();
        assert_eq!(broken.len(), 1, "{checks:?}");
        assert!(
            broken[0].limit.starts_with("server RSS peak"),
            "the highest repeat's peak"
        );
        assert_eq!(
            broken_text(broken[0]),
            format!("server RSS peak <= {} B broken ({peak} bytes)", peak - 1)
        );
    }

    #[test]
    fn values_are_written_in_their_units_and_missing_ones_fail() {
        let check = |value, unit: &str| ThresholdCheck {
            system: "ws".parse().unwrap(),
            label: "ws".to_owned(),
            limit: "x".to_owned(),
            bound: 1.0,
            value,
            unit: unit.to_owned(),
            pass: false,
        };
        assert_eq!(value_text(&check(None, "ms")), "not measured");
        assert_eq!(value_text(&check(Some(0.00012), "share")), "0.0001 share");
        assert_eq!(value_text(&check(Some(2048.4), "bytes")), "2048 bytes");
        assert_eq!(value_text(&check(Some(3.456), "ms")), "3.46 ms");
        let s = summary();
        let unmeasured = bound(&s, "x".to_owned(), 1.0, None, "ms", true);
        assert!(!unmeasured.pass, "a figure not measured fails its limit");
        assert!(table(&[]).is_none());
        let rows = table(&[unmeasured]).unwrap().rows;
        assert_eq!(rows[0], ["ws", "x", "not measured", "FAIL"]);
    }
}
