//! One system's figures over its repeats: median and spread of every metric.

use std::collections::BTreeMap;

use wsbench_core::histogram::LatencyHistogram;
use wsbench_core::result::{RunResult, Status, SystemRun, point_label};
use wsbench_core::system::{Protocol, SystemName};

use crate::metrics::{METRICS, Metric};

/// Median, lowest and highest of a metric over repeats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Median.
    pub median: f64,
    /// Lowest.
    pub min: f64,
    /// Highest.
    pub max: f64,
    /// Repeats it was measured in.
    pub n: usize,
}

impl Stat {
    /// The statistic of `values`, if there are any.
    pub fn of(mut values: Vec<f64>) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(|a, b| a.total_cmp(b));
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Some(Stat {
            median,
            min: values[0],
            max: values[n - 1],
            n,
        })
    }

    /// `(max - min) / median`: how much repeats disagreed.
    pub fn spread(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median.abs()
        }
    }
}

/// Everything reports say about one system.
#[derive(Debug, Clone)]
pub struct SystemSummary {
    /// The system.
    pub system: SystemName,
    /// How its clients speak, if the scenario knows the system.
    pub protocol: Option<Protocol>,
    /// What its server runs on (`rust` for wsbench's own, `node`, ...).
    pub runtime: String,
    /// Whether its clients spoke TLS to it.
    pub tls: bool,
    /// Whether its clients offered permessage-deflate (see [`SystemSummary::compressed`]
    /// for whether the server took it).
    pub compression: bool,
    /// The sweep point (empty without a sweep).
    pub point: BTreeMap<String, f64>,
    /// Its runs, in order.
    pub runs: Vec<SystemRun>,
    /// Statuses, e.g. "ok ×2", "degraded ×2" or "ok,FAILED".
    pub status: String,
    /// Median connected clients.
    pub connected: f64,
    /// Clients asked for.
    pub requested: u64,
    /// One statistic per metric of [`METRICS`] (None where no run measured it).
    pub stats: Vec<Option<Stat>>,
    /// Latency histogram of all its complete runs merged.
    pub latency: LatencyHistogram,
    /// Connect-time histogram of the same runs merged.
    pub connect_time: LatencyHistogram,
    /// Highest load-generator CPU share of its runs.
    pub loadgen_cpu: f64,
    /// Whether any run was load-generator bound.
    pub loadgen_bound: bool,
}

impl SystemSummary {
    /// The system, and the sweep point if there is one: `ws clients=1000`.
    pub fn label(&self) -> String {
        with_point(self.system.to_string(), &self.point)
    }

    /// Its ratio row's name against `base`: `socketio/ws clients=1000`.
    pub fn ratio_label(&self, base: &SystemSummary) -> String {
        with_point(format!("{}/{}", self.system, base.system), &self.point)
    }

    /// Whether at least one of its runs completed.
    pub fn any_complete(&self) -> bool {
        self.runs.iter().any(|r| r.status.measured())
    }

    /// What its figures are compared within: its runtime, whether over TLS, and whether
    /// compressed (`node`, `node over TLS`, `node compressed`). Claims are judged per
    /// group, ratios taken within one.
    pub fn group(&self) -> String {
        let mut group = self.runtime.clone();
        if self.tls {
            group.push_str(" over TLS");
        }
        if self.compressed() {
            group.push_str(" compressed");
        }
        group
    }

    /// Connections on which the server accepted permessage-deflate, over all its runs.
    pub fn compressed_connections(&self) -> u64 {
        self.runs.iter().map(|r| r.connections.compressed).sum()
    }

    /// Whether it was measured compressed: offered, and the server took it.
    pub fn compressed(&self) -> bool {
        self.compression && self.compressed_connections() > 0
    }

    /// Whether its clients speak `protocol`.
    pub fn speaks(&self, protocol: Protocol) -> bool {
        self.protocol == Some(protocol)
    }

    /// The statistic of `metric`.
    pub fn stat(&self, metric: &Metric) -> Option<Stat> {
        let i = METRICS.iter().position(|m| m.key == metric.key)?;
        self.stats[i]
    }
}

/// The raw-WebSocket system of `s`'s group (runtime, and TLS or not) measured at `s`'s
/// point: what `s`'s ratios are taken against (`None` for a raw-WebSocket system itself).
pub fn baseline_of<'a>(
    summaries: &'a [SystemSummary],
    s: &SystemSummary,
) -> Option<&'a SystemSummary> {
    if s.speaks(Protocol::Ws) {
        return None;
    }
    summaries
        .iter()
        .find(|w| w.speaks(Protocol::Ws) && w.point == s.point && w.group() == s.group())
}

/// The runtime wsbench's own servers run on: other runtimes are compared with it.
pub const OWN_RUNTIME: &str = "rust";

/// wsbench's own system of `s`'s protocol at `s`'s point, when `s` runs on another runtime:
/// the second ratio row of a system of the user's (`node-ws/ws`).
pub fn own_counterpart<'a>(
    summaries: &'a [SystemSummary],
    s: &SystemSummary,
) -> Option<&'a SystemSummary> {
    if s.runtime == OWN_RUNTIME || s.protocol.is_none() {
        return None;
    }
    summaries.iter().find(|o| {
        o.runtime == OWN_RUNTIME
            && o.tls == s.tls
            && o.compressed() == s.compressed()
            && o.protocol == s.protocol
            && o.point == s.point
    })
}

/// For a system spoken to over TLS, the same runtime's system of its protocol without TLS
/// (compressed or not as it is) at its point: the ratio row of what TLS adds
/// (`node-ws-tls/node-ws`).
pub fn plain_twin<'a>(
    summaries: &'a [SystemSummary],
    s: &SystemSummary,
) -> Option<&'a SystemSummary> {
    if !s.tls {
        return None;
    }
    summaries
        .iter()
        .find(|p| !p.tls && p.compressed() == s.compressed() && same_kind(p, s))
}

/// For a system measured compressed, the same runtime's system of its protocol without
/// compression (over TLS or not as it is) at its point: the ratio row of what compression
/// changes (`node-ws-deflate/node-ws`).
pub fn uncompressed_twin<'a>(
    summaries: &'a [SystemSummary],
    s: &SystemSummary,
) -> Option<&'a SystemSummary> {
    if !s.compressed() {
        return None;
    }
    summaries
        .iter()
        .find(|p| !p.compression && p.tls == s.tls && same_kind(p, s))
}

/// Same runtime, protocol and point.
fn same_kind(a: &SystemSummary, b: &SystemSummary) -> bool {
    a.runtime == b.runtime && a.protocol == b.protocol && a.point == b.point
}

/// The groups measured (runtimes, over TLS or not), in the order their first system ran.
pub fn groups(summaries: &[SystemSummary]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in summaries {
        let group = s.group();
        if !out.contains(&group) {
            out.push(group);
        }
    }
    out
}

/// Summaries in the scenario's system order; figures come from complete runs, or from
/// all runs when none completed.
pub fn summarize(result: &RunResult) -> Vec<SystemSummary> {
    let mut out = Vec::new();
    // Points in the order run; a point recorded in the runs but not in the scenario (a
    // result edited by hand, a merged one) comes after them.
    let mut points: Vec<BTreeMap<String, f64>> = result.scenario.point_values();
    for r in &result.runs {
        if !points.contains(&r.point) {
            points.push(r.point.clone());
        }
    }
    for point in points {
        for name in &result.scenario.compared {
            if let Some(summary) = summary_at(result, name, &point) {
                out.push(summary);
            }
        }
    }
    out
}

/// The summary of system `name`'s runs at `point`, if it has any.
pub fn summary_at(
    result: &RunResult,
    name: &SystemName,
    point: &BTreeMap<String, f64>,
) -> Option<SystemSummary> {
    {
        let runs: Vec<SystemRun> = result
            .runs
            .iter()
            .filter(|r| &r.system == name && &r.point == point)
            .cloned()
            .collect();
        if runs.is_empty() {
            return None;
        }
        let complete: Vec<&SystemRun> = runs.iter().filter(|r| r.status.measured()).collect();
        let basis: Vec<&SystemRun> = if complete.is_empty() {
            runs.iter().collect()
        } else {
            complete
        };
        // A shard owes what its own senders sent to every shard's clients and receives
        // what its clients got from every sender: the two make a loss only once merged.
        let shard = result.shard.is_some();
        let stats = METRICS
            .iter()
            .map(|m| {
                if shard && m.kind == crate::metrics::Kind::Loss {
                    return None;
                }
                Stat::of(basis.iter().filter_map(|r| (m.get)(r)).collect())
            })
            .collect();
        let (mut latency, mut connect_time) = Default::default();
        for r in &basis {
            LatencyHistogram::merge_figures(&mut latency, &r.latency);
            LatencyHistogram::merge_figures(&mut connect_time, &r.connections.connect_time);
        }
        let statuses: Vec<&str> = runs.iter().map(|r| status_word(r.status)).collect();
        let mut status = if runs.len() > 1 && statuses.iter().all(|s| *s == statuses[0]) {
            format!("{} ×{}", statuses[0], runs.len())
        } else {
            statuses.join(",")
        };
        // A broken limit of the scenario's [thresholds] (exit 99) shows where the status
        // does, not only in the thresholds' own lines.
        let label = with_point(name.to_string(), point);
        if result
            .thresholds
            .iter()
            .any(|c| !c.pass && c.system == *name && c.label == label)
        {
            status.push_str(", OVER LIMIT");
        }
        let system = result.scenario.system(name);
        Some(SystemSummary {
            system: name.clone(),
            // As recorded with the run; an older result's from its scenario.
            protocol: runs[0].protocol.or(system.as_ref().map(|s| s.protocol)),
            runtime: system.map_or_else(|| OWN_RUNTIME.to_owned(), |s| s.runtime),
            tls: runs.iter().any(|r| r.tls),
            compression: runs.iter().any(|r| r.compression),
            point: point.clone(),
            status,
            connected: Stat::of(
                basis
                    .iter()
                    .map(|r| r.connections.connected as f64)
                    .collect(),
            )
            .map_or(0.0, |s| s.median),
            requested: runs[0].connections.requested,
            stats,
            latency,
            connect_time,
            loadgen_cpu: runs
                .iter()
                .map(|r| r.loadgen.cpu_utilisation)
                .fold(0.0, f64::max),
            loadgen_bound: runs.iter().any(|r| r.loadgen.bound),
            runs,
        })
    }
}

/// `name`, followed by the sweep point if there is one.
pub fn with_point(name: String, point: &BTreeMap<String, f64>) -> String {
    let at = point_label(point);
    if at.is_empty() {
        name
    } else {
        format!("{name} {at}")
    }
}

/// The short word for a status in tables.
pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Complete => "ok",
        Status::Degraded => "degraded",
        Status::Failed => "FAILED",
        Status::Interrupted => "interrupted",
        Status::Running => "running",
    }
}

/// `a / b` where both exist and `b` is not zero.
pub fn ratio(a: Option<Stat>, b: Option<Stat>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b.median != 0.0 => Some(a.median / b.median),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{DELIVERED_PER_S, LATENCY_P50, LOSS};

    use crate::fixtures::pair;

    #[test]
    fn a_stat_is_the_median_and_bounds_of_its_values() {
        assert_eq!(Stat::of(Vec::new()), None);
        let odd = Stat::of(vec![3.0, 1.0, 2.0]).unwrap();
        assert_eq!((odd.median, odd.min, odd.max, odd.n), (2.0, 1.0, 3.0, 3));
        let even = Stat::of(vec![4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(even.median, 2.5);
        assert_eq!(even.spread(), 3.0 / 2.5);
        assert_eq!(Stat::of(vec![0.0, 0.0]).unwrap().spread(), 0.0);
    }

    /// One summary per system, in the scenario's order, over all its repeats; a repeat's
    /// status shows in the column, and a broken threshold says so there too.
    #[test]
    fn each_system_is_summarised_over_its_repeats() {
        let mut result = pair();
        let summaries = summarize(&result);
        let names: Vec<&str> = summaries.iter().map(|s| s.system.as_str()).collect();
        assert_eq!(names, ["ws", "socketio"]);
        let ws = &summaries[0];
        assert_eq!(ws.runs.len(), 2);
        assert_eq!(ws.status, "ok ×2");
        assert_eq!(ws.stat(&LOSS).map(|s| s.median), Some(0.0));
        assert_eq!(ws.stat(&LATENCY_P50).map(|s| s.n), Some(2));
        let delivered: Vec<f64> = ws.runs.iter().map(|r| r.messages.delivered_per_s).collect();
        assert_eq!(ws.stat(&DELIVERED_PER_S), Stat::of(delivered));
        let counted: u64 = ws.runs.iter().map(|r| r.latency.count).sum();
        assert_eq!(ws.latency.len(), counted);
        assert!(ws.speaks(Protocol::Ws) && summaries[1].speaks(Protocol::Socketio));
        assert_eq!(
            baseline_of(&summaries, &summaries[1]).unwrap().system,
            ws.system
        );
        assert!(baseline_of(&summaries, ws).is_none());

        result.runs[0].status = Status::Degraded;
        result
            .thresholds
            .push(wsbench_core::result::ThresholdCheck {
                system: "socketio".parse().unwrap(),
                label: "socketio".to_owned(),
                limit: "p99 <= 1us".to_owned(),
                bound: 0.001,
                value: Some(3.0),
                unit: "ms".to_owned(),
                pass: false,
            });
        let summaries = summarize(&result);
        assert_eq!(summaries[0].status, "degraded,ok");
        assert_eq!(summaries[1].status, "ok ×2, OVER LIMIT");
    }

    /// Figures come from the runs that completed; only where none did, from all of them.
    #[test]
    fn failed_runs_are_left_out_of_the_figures_unless_nothing_completed() {
        let mut result = pair();
        result.runs[0].status = Status::Failed;
        result.runs[0].messages.delivered_per_s = 1.0;
        let ws = summary_at(&result, &"ws".parse().unwrap(), &BTreeMap::new()).unwrap();
        assert_eq!(ws.stat(&DELIVERED_PER_S).unwrap().n, 1);
        assert!(ws.any_complete());
        result.runs[2].status = Status::Failed;
        let ws = summary_at(&result, &"ws".parse().unwrap(), &BTreeMap::new()).unwrap();
        assert_eq!(ws.stat(&DELIVERED_PER_S).unwrap().n, 2);
        assert_eq!(ws.stat(&DELIVERED_PER_S).unwrap().min, 1.0);
        assert!(!ws.any_complete());
        assert!(summary_at(&result, &"other".parse().unwrap(), &BTreeMap::new()).is_none());
    }

    #[test]
    fn labels_carry_the_sweep_point() {
        let point = BTreeMap::from([("clients".to_owned(), 1000.0)]);
        assert_eq!(with_point("ws".to_owned(), &point), "ws clients=1000");
        assert_eq!(with_point("ws".to_owned(), &BTreeMap::new()), "ws");
        let a = Stat::of(vec![6.0]);
        assert_eq!(ratio(a, Stat::of(vec![3.0])), Some(2.0));
        assert_eq!(ratio(a, Stat::of(vec![0.0])), None);
        assert_eq!(ratio(None, a), None);
    }
}
