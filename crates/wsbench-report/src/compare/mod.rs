//! `wsbench compare BASE NEW`: every metric of every system, its change, and a verdict
//! that is quiet on a noisy machine and sensitive to a real change (docs/method.md, "The
//! regression gate").
//!
//! Only a change for the worse fails. Timings are judged per system, each divided by the
//! calibration of its own run (a slower or busier machine is judged against what it could
//! do), from the distributions of their per-block samples: a regression needs the whole
//! confidence interval of the change beyond a minimum effect *and* a Mann-Whitney test to
//! agree; a handful of samples never decides. Figures that do not depend on the machine's
//! speed (wire bytes, loss, memory per connection) are compared directly, within their
//! resolution. Ratios between systems of one result are shown for information.

mod judge;
mod markdown;

pub use markdown::{DEGRADED, MACHINE_BUSY, markdown};

use wsbench_core::result::blocks::median_interference;
use wsbench_core::result::{Environment, RunResult, SCHEMA_VERSION};
use wsbench_core::system::SystemName;

use crate::metrics::{METRICS, Metric};
use crate::stats::Interval;
use crate::summary::{Stat, SystemSummary, baseline_of, summarize};

/// Exit code: no regression.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one regression.
pub const EXIT_REGRESSION: u8 = 1;
/// Exit code: the results cannot be compared.
pub const EXIT_NOT_COMPARABLE: u8 = 2;

/// How large a change must be before it counts, per kind of metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// Smallest change of a block-sampled timing (CPU per delivery, delivered/s),
    /// relative and after calibration, that counts; its confidence interval must exclude
    /// no change as well.
    pub timing: f64,
    /// The same for the latency median (block-sampled too), which a shared machine moves
    /// by a factor between runs.
    pub latency: f64,
    /// Largest p-value of the Mann-Whitney test at which a timing change counts.
    pub significance: f64,
    /// Relative change of a volatile timing (latency p99 and p99.9, connect times: any
    /// scheduler hiccup moves them) that counts; only a gross one should.
    pub volatile: f64,
    /// Relative, for memory per connection (beyond its resolution as well).
    pub memory: f64,
    /// Relative, for wire bytes per delivery.
    pub wire: f64,
    /// Absolute, for the share of deliveries lost (0.001 = 0.1 percentage point).
    pub loss: f64,
    /// Timings are judged only from blocks in which other work took at most this share of
    /// the machine's CPU capacity: other guests of the host (steal time) and
    /// other processes. Where too few such blocks are left, the timing is not judged: the
    /// machine was busy (docs/method.md, "The regression gate").
    pub max_interference: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            timing: 0.12,
            latency: 2.0,
            significance: 0.01,
            volatile: 4.0,
            memory: 0.25,
            wire: 0.02,
            loss: 0.001,
            max_interference: 0.10,
        }
    }
}

/// A metric's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No change beyond tolerance, or none the data can show.
    Same,
    /// Better beyond tolerance.
    Improved,
    /// Worse beyond tolerance.
    Regressed,
    /// Missing on one side.
    Missing,
    /// Too little data to judge (the note says why): shown, not judged.
    Unjudged,
    /// A timing not judged because other work took too much of the machine while one side
    /// ran (the note says how much): shown, not judged, and worth another try.
    Contended,
    /// A timing not judged because a side's run cannot carry a verdict: its load
    /// generator was starved, or (latency) its system lost deliveries, saturated at this
    /// load (the note says which and what to do).
    Degraded,
    /// Shown for information only (ratios between systems of one result).
    Info,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Same => "ok",
            Verdict::Improved => "improved",
            Verdict::Regressed => "**REGRESSED**",
            Verdict::Missing => "n/a",
            Verdict::Unjudged => "not judged",
            Verdict::Contended => "not judged: machine busy",
            Verdict::Degraded => "not judged: degraded",
            Verdict::Info => "info",
        }
    }
}

/// One metric of one system (or one ratio between systems) in both results.
#[derive(Debug, Clone)]
pub struct Row {
    /// System, or the ratio's label such as "socketio/ws".
    pub label: String,
    /// Metric.
    pub metric: &'static Metric,
    /// Baseline statistic (as measured).
    pub base: Option<Stat>,
    /// New statistic (as measured).
    pub new: Option<Stat>,
    /// The change new/base as judged (calibrated where the metric is a timing), with its
    /// confidence interval where samples gave one.
    pub change: Option<Interval>,
    /// Verdict.
    pub verdict: Verdict,
    /// How it was judged, or why it was not.
    pub note: String,
}

/// The outcome of a comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Why the results cannot be compared, if they cannot.
    pub not_comparable: Option<String>,
    /// Where the two results' machines differ (CPU model, cores, kernel).
    pub environment: Vec<String>,
    /// Each result's calibration (baseline, new), where it has one.
    pub calibration: [Option<wsbench_core::result::Calibration>; 2],
    /// Each result's median interference over the blocks of its complete runs, where it
    /// records one.
    pub interference: [Option<f64>; 2],
    /// Per-system rows.
    pub rows: Vec<Row>,
    /// Ratios between systems within each result, for information.
    pub ratios: Vec<Row>,
    /// Systems that completed in the baseline but not in the new result.
    pub failed: Vec<String>,
    /// The tolerances used.
    pub tolerances: Tolerances,
}

impl Comparison {
    /// The systems whose timings went unjudged because the machine was busy.
    pub fn contended(&self) -> Vec<&str> {
        self.labels(Verdict::Contended)
    }

    /// The systems whose timings went unjudged because a run of theirs was degraded.
    pub fn degraded(&self) -> Vec<&str> {
        self.labels(Verdict::Degraded)
    }

    fn labels(&self, verdict: Verdict) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.verdict == verdict)
            .map(|r| r.label.as_str())
            .collect();
        v.dedup();
        v
    }

    /// 0 no regression, 1 regression, 2 not comparable.
    pub fn exit_code(&self) -> u8 {
        if self.not_comparable.is_some() {
            EXIT_NOT_COMPARABLE
        } else if !self.failed.is_empty()
            || self.rows.iter().any(|r| r.verdict == Verdict::Regressed)
        {
            EXIT_REGRESSION
        } else {
            EXIT_OK
        }
    }
}

/// Compares `new` with `base`; with `strict_env`, results from different machines are not
/// comparable at all.
pub fn compare(
    base: &RunResult,
    new: &RunResult,
    tolerances: Tolerances,
    strict_env: bool,
) -> Comparison {
    let environment = env_differences(&base.environment, &new.environment);
    let mut not_comparable = comparable(base, new).err();
    if strict_env && !environment.is_empty() && not_comparable.is_none() {
        not_comparable = Some(format!(
            "--strict-env, and the machines differ: {}",
            environment.join("; ")
        ));
    }
    let mut out = Comparison {
        not_comparable,
        environment,
        calibration: [
            base.environment.calibration.clone(),
            new.environment.calibration.clone(),
        ],
        interference: [None, None],
        rows: Vec::new(),
        ratios: Vec::new(),
        failed: Vec::new(),
        tolerances,
    };
    if out.not_comparable.is_some() {
        return out;
    }
    let (bs, ns) = (summarize(base), summarize(new));
    out.interference = [&bs, &ns].map(|side| {
        median_interference(
            side.iter()
                .flat_map(|s| &s.runs)
                .filter(|r| r.status.measured())
                .flat_map(|r| &r.blocks),
        )
    });
    // The same system at the same sweep point in the other result.
    let counterpart = |b: &SystemSummary, system: &SystemName| {
        ns.iter()
            .find(|n| &n.system == system && n.point == b.point)
    };
    let sides = judge::Sides {
        base: &base.environment,
        new: &new.environment,
        tolerances: &tolerances,
    };
    for b in &bs {
        let Some(n) = counterpart(b, &b.system) else {
            continue;
        };
        if complete(b) && !complete(n) {
            out.failed.push(format!("{}: {}", n.label(), n.status));
        }
        for m in METRICS {
            out.rows.push(sides.row(m, b, n));
        }
    }
    for b in &bs {
        let Some(bw) = baseline_of(&bs, b) else {
            continue;
        };
        let (Some(n), Some(nw)) = (counterpart(b, &b.system), counterpart(b, &bw.system)) else {
            continue;
        };
        for m in METRICS.iter().filter(|m| m.kind.is_timing()) {
            out.ratios.push(Row {
                label: b.ratio_label(bw),
                metric: m,
                base: ratio_stat(b.stat(m), bw.stat(m)),
                new: ratio_stat(n.stat(m), nw.stat(m)),
                change: None,
                verdict: Verdict::Info,
                note: String::new(),
            });
        }
    }
    out
}

/// The ratio of two medians as a one-sample statistic.
fn ratio_stat(a: Option<Stat>, b: Option<Stat>) -> Option<Stat> {
    let r = crate::summary::ratio(a, b)?;
    Some(Stat {
        median: r,
        min: r,
        max: r,
        n: 1,
    })
}

fn complete(s: &SystemSummary) -> bool {
    s.runs.iter().all(|r| r.status.measured())
}

/// What differs between the machines of two results, each as "CPU model: A → B".
pub fn env_differences(base: &Environment, new: &Environment) -> Vec<String> {
    let fields = [
        ("CPU model", base.cpu_model.clone(), new.cpu_model.clone()),
        ("cores", base.cores.to_string(), new.cores.to_string()),
        ("kernel", base.kernel.clone(), new.kernel.clone()),
    ];
    fields
        .into_iter()
        .filter(|(_, b, n)| b != n)
        .map(|(what, b, n)| format!("{what}: {b} → {n}"))
        .collect()
}

/// Same schema, same scenario (as far as figures depend on it), same systems.
fn comparable(base: &RunResult, new: &RunResult) -> Result<(), String> {
    let readable = wsbench_core::result::OLDEST_READABLE_SCHEMA..=SCHEMA_VERSION;
    if !readable.contains(&base.schema_version) || !readable.contains(&new.schema_version) {
        return Err(format!(
            "schema versions differ: {} and {}",
            base.schema_version, new.schema_version
        ));
    }
    let (b, n) = (&base.scenario, &new.scenario);
    let fields = [
        ("name", b.name != n.name),
        ("transports", b.compared != n.compared),
        ("mode", b.mode != n.mode || b.room_size != n.room_size),
        ("clients", b.clients != n.clients),
        ("senders", b.senders != n.senders),
        ("rate", b.rate != n.rate),
        ("payload", b.payload != n.payload),
        ("encoding", b.encoding != n.encoding),
        ("duration", b.duration != n.duration),
        ("socketio_client", b.socketio_client != n.socketio_client),
    ];
    let differ: Vec<&str> = fields.iter().filter(|f| f.1).map(|f| f.0).collect();
    if differ.is_empty() {
        Ok(())
    } else {
        Err(format!("the scenarios differ in {}", differ.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fixtures::pair;

    /// Two results compare only with readable schemas and the same load; every field that
    /// differs is named at once.
    #[test]
    fn results_compare_only_under_the_same_load_and_differences_are_all_named() {
        let base = pair();
        assert_eq!(comparable(&base, &base), Ok(()));
        let mut new = pair();
        new.scenario.clients += 1;
        new.scenario.rate *= 2.0;
        assert_eq!(
            comparable(&base, &new),
            Err("the scenarios differ in clients, rate".to_owned())
        );
        let mut future = pair();
        future.schema_version = SCHEMA_VERSION + 1;
        assert!(
            comparable(&base, &future)
                .unwrap_err()
                .starts_with("schema versions differ")
        );

        assert!(env_differences(&base.environment, &base.environment).is_empty());
        let mut other = base.environment.clone();
        other.cores += 2;
        other.kernel = "7.0".to_owned();
        assert_eq!(
            env_differences(&base.environment, &other),
            [
                format!("cores: {} → {}", base.environment.cores, other.cores),
                format!("kernel: {} → 7.0", base.environment.kernel),
            ]
        );
        let one = |v: f64| {
            Some(Stat {
                median: v,
                min: v,
                max: v,
                n: 3,
            })
        };
        let r = ratio_stat(one(6.0), one(3.0)).unwrap();
        assert_eq!((r.median, r.min, r.max, r.n), (2.0, 2.0, 2.0, 1));
        assert_eq!(ratio_stat(one(6.0), None), None);
    }
}
