//! `wsbench compare BASE NEW`: every metric per transport, its change, and a verdict that
//! a shared, noisy machine does not trip by itself.
//!
//! As docs/method.md ("Repeats, ratios and a shared machine") says, a verdict never rests
//! on an absolute timing from a shared machine:
//! metrics that do not depend on its speed (wire bytes, loss, memory per connection) are
//! compared directly with tight tolerances; timing metrics (latency, CPU per delivery,
//! throughput, connect time) are compared as ratios of each transport to raw WebSocket
//! *within* each result, which a busy machine moves for both alike. Their absolute changes
//! are shown for information.

use std::fmt::Write;

use wsbench_core::result::{RunResult, Status};
use wsbench_core::system::SystemName;

use crate::metrics::{Better, Kind, METRICS, Metric};
use crate::summary::{Stat, TransportSummary, baseline_of, summarize};
use crate::table::format_value;

/// Exit code: no regression.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one regression.
pub const EXIT_REGRESSION: u8 = 1;
/// Exit code: the results cannot be compared.
pub const EXIT_NOT_COMPARABLE: u8 = 2;

/// How much worse a metric may get before it is a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// Relative change allowed in a timing ratio (transport / ws), either way: 0.5 = ±50%.
    pub timing: f64,
    /// The same for volatile timings (p99.9, max, connect p50), which any scheduler hiccup
    /// moves.
    pub volatile: f64,
    /// Relative, for memory per connection.
    pub memory: f64,
    /// Relative, for wire bytes per delivery.
    pub wire: f64,
    /// Absolute, for the share of deliveries lost (0.001 = 0.1 percentage point).
    pub loss: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            timing: 0.5,
            volatile: 3.0,
            memory: 0.25,
            wire: 0.02,
            loss: 0.001,
        }
    }
}

/// A metric's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within tolerance.
    Same,
    /// Better beyond tolerance.
    Improved,
    /// Worse beyond tolerance.
    Regressed,
    /// Missing on one side.
    Missing,
    /// Shown, not judged (an absolute timing on a shared machine).
    Info,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Same => "ok",
            Verdict::Improved => "improved",
            Verdict::Regressed => "**REGRESSED**",
            Verdict::Missing => "n/a",
            Verdict::Info => "info",
        }
    }
}

/// One metric of one transport (or one transport/ws ratio) in both results.
#[derive(Debug, Clone)]
pub struct Row {
    /// Transport, or the ratio's label such as "socketio/ws".
    pub label: String,
    /// Metric.
    pub metric: &'static Metric,
    /// Baseline statistic.
    pub base: Option<Stat>,
    /// New statistic.
    pub new: Option<Stat>,
    /// Verdict.
    pub verdict: Verdict,
}

/// The outcome of a comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Why the results cannot be compared, if they cannot.
    pub not_comparable: Option<String>,
    /// Metric rows.
    pub rows: Vec<Row>,
    /// Transports that completed in the baseline but not in the new result.
    pub failed: Vec<String>,
    /// The tolerances used.
    pub tolerances: Tolerances,
}

impl Comparison {
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

/// Compares `new` with `base`.
pub fn compare(base: &RunResult, new: &RunResult, tolerances: Tolerances) -> Comparison {
    let mut out = Comparison {
        not_comparable: comparable(base, new).err(),
        rows: Vec::new(),
        failed: Vec::new(),
        tolerances,
    };
    if out.not_comparable.is_some() {
        return out;
    }
    let (bs, ns) = (summarize(base), summarize(new));
    // The same transport at the same sweep point in the other result.
    let counterpart = |b: &TransportSummary, transport: &SystemName| {
        ns.iter()
            .find(|n| &n.transport == transport && n.point == b.point)
    };
    for b in &bs {
        let Some(n) = counterpart(b, &b.transport) else {
            continue;
        };
        if complete(b) && !complete(n) {
            out.failed.push(format!("{}: {}", n.label(), n.status));
        }
        for m in METRICS {
            let (base, new) = (b.stat(m), n.stat(m));
            let verdict = if is_timing(m) {
                Verdict::Info
            } else {
                judge(m, base, new, &tolerances)
            };
            out.rows.push(Row {
                label: b.label(),
                metric: m,
                base,
                new,
                verdict,
            });
        }
    }
    // Timing, judged as ratios to ws (at the same point) within each result.
    for b in &bs {
        let Some(bw) = baseline_of(&bs, b) else {
            continue;
        };
        let (Some(n), Some(nw)) = (counterpart(b, &b.transport), counterpart(b, &bw.transport))
        else {
            continue;
        };
        for m in METRICS.iter().filter(|m| is_timing(m)) {
            let base = ratio_stat(b.stat(m), bw.stat(m));
            let new = ratio_stat(n.stat(m), nw.stat(m));
            let tolerance = if m.kind == Kind::Volatile {
                tolerances.volatile
            } else {
                tolerances.timing
            };
            out.rows.push(Row {
                label: b.ratio_label(bw),
                metric: m,
                base,
                new,
                verdict: judge_ratio(base, new, tolerance),
            });
        }
    }
    out
}

fn is_timing(m: &Metric) -> bool {
    matches!(m.kind, Kind::Timing | Kind::Volatile)
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

/// A ratio that moved more than `tolerance` either way: one transport changed against the
/// other, which a merely busy machine does not do.
fn judge_ratio(base: Option<Stat>, new: Option<Stat>, tolerance: f64) -> Verdict {
    match (base, new) {
        (Some(b), Some(n)) if b.median != 0.0 => {
            if ((n.median - b.median) / b.median).abs() > tolerance {
                Verdict::Regressed
            } else {
                Verdict::Same
            }
        }
        (None, None) => Verdict::Same,
        _ => Verdict::Missing,
    }
}

fn complete(s: &TransportSummary) -> bool {
    s.runs.iter().all(|r| r.status == Status::Complete)
}

/// Same schema, same scenario (as far as figures depend on it), same transports.
fn comparable(base: &RunResult, new: &RunResult) -> Result<(), String> {
    if base.schema_version != new.schema_version {
        return Err(format!(
            "schema versions differ: {} and {}",
            base.schema_version, new.schema_version
        ));
    }
    let (b, n) = (&base.scenario, &new.scenario);
    let fields = [
        ("name", b.name != n.name),
        ("transports", b.transports != n.transports),
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

fn judge(m: &Metric, base: Option<Stat>, new: Option<Stat>, t: &Tolerances) -> Verdict {
    let (Some(b), Some(n)) = (base, new) else {
        return if base.is_none() && new.is_none() {
            Verdict::Same
        } else {
            Verdict::Missing
        };
    };
    // Positive `worse` means the new result is worse.
    let sign = match m.better {
        Better::Lower => 1.0,
        Better::Higher => -1.0,
    };
    if m.kind == Kind::Loss {
        let worse = sign * (n.median - b.median);
        return if worse > t.loss {
            Verdict::Regressed
        } else if -worse > t.loss {
            Verdict::Improved
        } else {
            Verdict::Same
        };
    }
    let tolerance = match m.kind {
        Kind::Timing => t.timing,
        Kind::Volatile => t.volatile,
        Kind::Memory => t.memory,
        Kind::Wire => t.wire,
        Kind::Loss => unreachable!(),
    };
    if b.median == 0.0 {
        return Verdict::Same;
    }
    let worse = sign * (n.median - b.median) / b.median.abs();
    // With repeats on both sides, overlapping ranges are noise, whatever the medians say.
    let overlap = b.n > 1 && n.n > 1 && n.min <= b.max && b.min <= n.max;
    if overlap {
        Verdict::Same
    } else if worse > tolerance {
        Verdict::Regressed
    } else if -worse > tolerance {
        Verdict::Improved
    } else {
        Verdict::Same
    }
}

/// The comparison as Markdown.
pub fn markdown(c: &Comparison, base_name: &str, new_name: &str) -> String {
    let mut out = format!("# wsbench compare\n\n`{base_name}` → `{new_name}`\n\n");
    if let Some(why) = &c.not_comparable {
        let _ = writeln!(out, "**Not comparable:** {why}.");
        return out;
    }
    let t = &c.tolerances;
    let _ = writeln!(
        out,
        "Timing is judged by the ratio of each transport to ws within each result (±{:.0}%, \
         p99.9, max and connect p50 ±{:.0}%); absolute timings are shown as info, since a shared \
         machine moves them. Memory ±{:.0}%, wire ±{:.0}%, loss ±{} points; ranges of repeats \
         that overlap count as unchanged.\n",
        t.timing * 100.0,
        t.volatile * 100.0,
        t.memory * 100.0,
        t.wire * 100.0,
        t.loss * 100.0
    );
    out.push_str("| transport | metric | base | new | change | verdict |\n| --- | --- | ---: | ---: | ---: | --- |\n");
    for r in &c.rows {
        let ratio_row = r.label.contains('/');
        let show = |s: Option<Stat>| {
            s.map_or("-".to_owned(), |s| {
                if ratio_row {
                    format!("×{:.2}", s.median)
                } else {
                    format_value(r.metric, s.median)
                }
            })
        };
        let change = match (r.base, r.new) {
            (Some(b), Some(n)) if r.metric.kind == Kind::Loss => {
                format!("{:+.3} pt", (n.median - b.median) * 100.0)
            }
            (Some(b), Some(n)) if b.median != 0.0 => {
                format!("{:+.1}%", (n.median - b.median) / b.median.abs() * 100.0)
            }
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} ({}) | {} | {} | {} | {} |",
            r.label,
            r.metric.label,
            r.metric.unit,
            show(r.base),
            show(r.new),
            change,
            r.verdict.as_str()
        );
    }
    for f in &c.failed {
        let _ = writeln!(out, "\n**REGRESSED:** {f} (complete in the baseline)");
    }
    let verdict = match c.exit_code() {
        EXIT_OK => "no regression",
        _ => "regression",
    };
    let _ = writeln!(out, "\nVerdict: **{verdict}**.");
    out
}
