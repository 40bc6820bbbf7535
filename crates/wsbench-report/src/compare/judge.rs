//! One metric of one system in two results: its change and verdict, by kind of metric.

use wsbench_core::result::Environment;

use super::{Row, Tolerances, Verdict};
use crate::claims::shortfall;
use crate::metrics::{Better, Kind, LOSS, Metric, Scale, Source};
use crate::samples::{
    Calibrate, MIN_BLOCKS, RSS_RESOLUTION_BYTES, Samples, Take, calm_blocks, samples_with,
};
use crate::stats::{Interval, mann_whitney, pooled, ratio_of_medians};
use crate::summary::{Stat, SystemSummary};

/// The two results' environments and the tolerances: what every row is judged with.
pub struct Sides<'a> {
    /// The baseline's environment.
    pub base: &'a Environment,
    /// The new result's.
    pub new: &'a Environment,
    /// How large a change must be.
    pub tolerances: &'a Tolerances,
}

/// A verdict, the change behind it and how it was judged.
type Judged = (Verdict, Option<Interval>, String);

impl Sides<'_> {
    /// The row of `m` for system `b` of the baseline and its counterpart `n`.
    pub fn row(&self, m: &'static Metric, b: &SystemSummary, n: &SystemSummary) -> Row {
        let (base, new) = (b.stat(m), n.stat(m));
        let (verdict, change, note) = match (base, new) {
            (None, None) => (Verdict::Same, None, String::new()),
            (Some(_), None) | (None, Some(_)) => (Verdict::Missing, None, String::new()),
            (Some(_), Some(_)) if let Some(why) = self.contended(m, b, n) => {
                (Verdict::Contended, None, why)
            }
            (Some(_), Some(_)) if let Some(why) = degraded(m, b, n) => {
                (Verdict::Degraded, None, why)
            }
            (Some(bs), Some(ns)) => match m.kind {
                Kind::Timing => self.timing(m, b, n, self.tolerances.timing),
                Kind::Latency => self.timing(m, b, n, self.tolerances.latency),
                Kind::LatencyTail => self.timing(m, b, n, self.tolerances.volatile),
                Kind::Volatile { min_samples } => self.volatile(m, min_samples, (b, bs), (n, ns)),
                Kind::Memory => self.memory(m, (b, bs), (n, ns)),
                Kind::Wire => relative(m, bs, ns, self.tolerances.wire),
                Kind::Loss => self.loss(bs, ns),
            },
        };
        Row {
            label: b.label(),
            metric: m,
            base,
            new,
            change,
            verdict,
            note,
        }
    }

    /// Why a timing of `b` and `n` cannot be judged on this host, if it cannot: a side
    /// with fewer than [`MIN_BLOCKS`] blocks under the interference bound (block-sampled
    /// timings), or whose median block was above it (figures of the whole run).
    fn contended(&self, m: &Metric, b: &SystemSummary, n: &SystemSummary) -> Option<String> {
        if matches!(m.kind, Kind::Memory | Kind::Wire | Kind::Loss) {
            return None;
        }
        let max = self.tolerances.max_interference;
        let block_sampled = !matches!(m.kind, Kind::Volatile { .. });
        [("baseline", b), ("new result", n)]
            .into_iter()
            .find_map(|(side, s)| {
                let (kept, total, median) = calm_blocks(s, max);
                let median = median?;
                let busy = if block_sampled {
                    kept < MIN_BLOCKS.min(total)
                } else {
                    median > max
                };
                busy.then(|| {
                    format!(
                        "the {side}'s machine was busy: other work (other guests of the host, \
                         other processes) took a median {:.0}% of its CPU; {} of {total} \
                         blocks under the {:.0}% bound",
                        median * 100.0,
                        kept,
                        max * 100.0
                    )
                })
            })
    }

    /// What each side's figure is divided by, and how that reads; (1, 1) when either
    /// result lacks a calibration (an older one), which the note says.
    fn divisors(&self, m: &Metric) -> (f64, f64, &'static str) {
        let (b, n) = (
            m.scale.divisor(self.base.calibration.as_ref()),
            m.scale.divisor(self.new.calibration.as_ref()),
        );
        match (m.scale, b, n) {
            (Scale::AsIs, _, _) => (1.0, 1.0, "as measured"),
            (Scale::Cpu, Some(b), Some(n)) => (b, n, "per CPU-kernel time"),
            _ => (1.0, 1.0, "as measured: a result without calibration"),
        }
    }

    /// A block-sampled timing: the interval of the calibrated change and a Mann-Whitney
    /// test over the blocks must both clear the bar.
    fn timing(&self, m: &Metric, b: &SystemSummary, n: &SystemSummary, min_effect: f64) -> Judged {
        let t = self.tolerances;
        if m.source == Source::Delivery && lossless(b) && lossless(n) {
            return (
                Verdict::Same,
                None,
                "the offered load, carried in full on both sides (loss judges it)".to_owned(),
            );
        }
        let get = |calibrate| {
            let take = Take {
                calibrate,
                max_interference: t.max_interference,
            };
            Ok::<_, String>((
                samples_with(b, m, self.base, take)?,
                samples_with(n, m, self.new, take)?,
            ))
        };
        let (sb, sn) = match get(Calibrate::Yes) {
            // Both sides divided alike, or neither.
            Ok((sb, sn)) if sb.divided_by == sn.divided_by => (sb, sn),
            Ok(_) => match get(Calibrate::No) {
                Ok(both) => both,
                Err(why) => return (Verdict::Unjudged, None, why),
            },
            Err(why) => return (Verdict::Unjudged, None, why),
        };
        let how = sb.divided_by.describe();
        let Some(ci) = ratio_of_medians(&sn.groups, &sb.groups, 0x5EED) else {
            return (Verdict::Unjudged, None, "a median of zero".to_owned());
        };
        let p = mann_whitney(&pooled(&sn.groups), &pooled(&sb.groups)).map_or(1.0, |mw| mw.p);
        let worse = oriented(&ci, m.better);
        // Large enough to matter, and real: the interval excludes no change and the test
        // agrees.
        let significant = p < t.significance;
        let verdict = if significant && worse.estimate > 1.0 + min_effect && worse.lo > 1.0 {
            Verdict::Regressed
        } else if significant && worse.estimate < 1.0 / (1.0 + min_effect) && worse.hi < 1.0 {
            Verdict::Improved
        } else {
            Verdict::Same
        };
        let note = format!(
            "{how}; beyond {:.0}%; {} vs {} {}; Mann-Whitney p {}",
            min_effect * 100.0,
            sb.len(),
            sn.len(),
            unit_of(&sb),
            p_text(p)
        );
        (verdict, Some(ci), note)
    }

    /// A volatile timing: judged only from enough samples, and only a gross change.
    fn volatile(
        &self,
        m: &Metric,
        min_samples: Option<u64>,
        (b, bs): (&SystemSummary, Stat),
        (n, ns): (&SystemSummary, Stat),
    ) -> Judged {
        let needed = |s: &SystemSummary| -> Option<(u64, u64)> {
            let have = match m.source {
                Source::Connect => s.connect_time.len(),
                _ => s.latency.len(),
            };
            let need = min_samples.unwrap_or(u64::MAX);
            (have < need).then_some((have, need))
        };
        if let Some((have, need)) = needed(b).or_else(|| needed(n)) {
            let why = if need == u64::MAX {
                "one sample decides a maximum: shown, never judged".to_owned()
            } else {
                format!("{have} samples; a {} needs {need} to be judged", m.label)
            };
            return (Verdict::Unjudged, None, why);
        }
        let (db, dn, how) = self.divisors(m);
        let scaled = |s: Stat, d: f64| Stat {
            median: s.median / d,
            min: s.min / d,
            max: s.max / d,
            n: s.n,
        };
        let (verdict, change, _) =
            relative(m, scaled(bs, db), scaled(ns, dn), self.tolerances.volatile);
        (
            verdict,
            change,
            format!("{how}; only a gross change counts"),
        )
    }

    /// Memory per connection: beyond the tolerance and beyond what RSS resolves.
    fn memory(
        &self,
        m: &Metric,
        (b, bs): (&SystemSummary, Stat),
        (n, ns): (&SystemSummary, Stat),
    ) -> Judged {
        let (verdict, change, _) = relative(m, bs, ns, self.tolerances.memory);
        let clients = b.connected.min(n.connected).max(1.0);
        let floor_kib = RSS_RESOLUTION_BYTES / clients / 1024.0;
        let note = format!("RSS resolves {floor_kib:.2} KiB per connection at {clients} clients");
        if verdict != Verdict::Same && (ns.median - bs.median).abs() <= floor_kib {
            return (Verdict::Same, change, format!("{note}: within it"));
        }
        (verdict, change, note)
    }

    fn loss(&self, b: Stat, n: Stat) -> Judged {
        let worse = n.median - b.median;
        let t = self.tolerances.loss;
        let verdict = if worse > t {
            Verdict::Regressed
        } else if -worse > t {
            Verdict::Improved
        } else {
            Verdict::Same
        };
        (verdict, None, format!("±{} points", t * 100.0))
    }
}

/// A change beyond `tolerance` either way, but never one the repeats' ranges overlap on.
fn relative(m: &Metric, b: Stat, n: Stat, tolerance: f64) -> Judged {
    if b.median == 0.0 {
        return (Verdict::Same, None, String::new());
    }
    let change = Interval {
        estimate: n.median / b.median,
        lo: n.min / b.max.max(f64::MIN_POSITIVE),
        hi: n.max / b.min.max(f64::MIN_POSITIVE),
    };
    let worse = match m.better {
        Better::Lower => change.estimate,
        Better::Higher => 1.0 / change.estimate,
    };
    let overlap = b.n > 1 && n.n > 1 && n.min <= b.max && b.min <= n.max;
    let verdict = if overlap {
        Verdict::Same
    } else if worse > 1.0 + tolerance {
        Verdict::Regressed
    } else if worse < 1.0 / (1.0 + tolerance) {
        Verdict::Improved
    } else {
        Verdict::Same
    };
    (verdict, Some(change), format!("±{:.0}%", tolerance * 100.0))
}

/// `ratio` (new / base) turned so that above 1 is worse.
fn oriented(ratio: &Interval, better: Better) -> Interval {
    match better {
        Better::Lower => *ratio,
        Better::Higher => Interval {
            estimate: 1.0 / ratio.estimate,
            lo: 1.0 / ratio.hi,
            hi: 1.0 / ratio.lo,
        },
    }
}

fn lossless(s: &SystemSummary) -> bool {
    s.stat(&LOSS).is_some_and(|l| l.max == 0.0)
}

fn unit_of(s: &Samples) -> &'static str {
    if s.from_blocks { "blocks" } else { "repeats" }
}

fn p_text(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".to_owned()
    } else {
        format!("{p:.4}")
    }
}

/// Why a timing of `b` and `n` says more of the run than of the system, if it does
/// (docs/method.md, "Validity"): where a side's load generator was starved, the figures it
/// measures itself (latencies, connect times, delivered/s) are of the load generator, not
/// judged; the server's own CPU per delivery still is, so that a server that takes the
/// load generator's CPU cannot hide its own regression that way. Where a side's system
/// lost deliveries, it saturated at this load: its latency is a capacity finding, not one
/// to compare (its loss row judges it). A busy machine is [`Sides::contended`]'s, block by
/// block.
fn degraded(m: &Metric, b: &SystemSummary, n: &SystemSummary) -> Option<String> {
    use wsbench_core::result::validity::ReasonKind;
    let measured_by_the_load_generator = m.kind.is_timing() && m.source.by_load_generator();
    let latency = m.source == Source::Latency;
    [("baseline", b), ("new result", n)]
        .into_iter()
        .find_map(|(side, s)| {
            let starved = measured_by_the_load_generator
                .then(|| shortfall(s, |k| k == ReasonKind::LoadGeneratorStarved))
                .flatten();
            let saturated = latency
                .then(|| shortfall(s, |k| !k.is_conditions()))
                .flatten()
                .map(|why| format!("saturated at this load, a capacity finding: {why}"));
            starved
                .map(|why| format!("the {side}'s load generator was starved: {why}"))
                .or(saturated.map(|why| format!("{why} (in the {side})")))
        })
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
