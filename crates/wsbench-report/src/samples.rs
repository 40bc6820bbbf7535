//! The samples a verdict rests on: a metric per block of each complete repeat, or per
//! repeat where blocks do not give it (docs/method.md, "Uncertainty"). A figure below its
//! resolution gives no samples, and says why.

use wsbench_core::result::blocks::median_interference;
use wsbench_core::result::{Block, Environment, SystemRun};

use crate::metrics::{Kind, Metric, Scale, Source};
use crate::stats::Interval;
use crate::summary::SystemSummary;

/// Fewest block samples (all repeats together) an interval is drawn from.
pub const MIN_BLOCKS: usize = 5;
/// Fewest repeats an interval is drawn from when there are no blocks.
pub const MIN_REPEATS: usize = 3;
/// Server CPU below this many times the CPU source's resolution is not a figure: a few
/// 10 ms ticks say nothing of a per-delivery cost.
pub const CPU_RESOLUTIONS: f64 = 100.0;
/// RSS moves by about this much for reasons of its own (allocator arenas, thread
/// stacks), whatever the connections cost: memory per connection is known to this many
/// bytes divided by the clients.
pub const RSS_RESOLUTION_BYTES: f64 = 512.0 * 1024.0;
/// Wire bytes per delivery are counted exactly but for heartbeats: known to this share.
pub const WIRE_RESOLUTION: f64 = 0.005;

/// One system's samples of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// One group per complete repeat.
    pub groups: Vec<Vec<f64>>,
    /// Whether they are blocks (else one value per repeat).
    pub from_blocks: bool,
    /// What the values were divided by: see [`Calibrate`].
    pub divided_by: Divisor,
}

/// Whether samples are divided by the machine's speed (to compare two runs) or not (to
/// compare two systems of one run, who shared the machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calibrate {
    /// As measured.
    No,
    /// Divided by what the metric's [`Scale`] says.
    Yes,
}

/// Which blocks a sample is drawn from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Take {
    /// Whether values are divided by the machine's speed.
    pub calibrate: Calibrate,
    /// Blocks whose interference (other guests' and other processes' share of the
    /// machine, see [`Block::interference`]) is above this are left
    /// out: their timings say more of the other work than of the servers. 1.0 keeps every
    /// block.
    pub max_interference: f64,
}

impl Take {
    /// As measured, every block: two systems of one run.
    pub const ALL: Take = Take {
        calibrate: Calibrate::No,
        max_interference: 1.0,
    };
}

/// How busy the machine was with other work over `s`'s complete runs: (full blocks whose
/// interference is at most `max`, full blocks, their median interference where the result
/// records it).
pub fn calm_blocks(s: &SystemSummary, max: f64) -> (usize, usize, Option<f64>) {
    let full = s
        .runs
        .iter()
        .filter(|r| r.status.measured() && !r.blocks.is_empty())
        .flat_map(|r| {
            let len = r.blocks[0].length_s;
            r.blocks.iter().filter(move |b| b.is_full(len))
        });
    let full: Vec<&Block> = full.collect();
    let kept = full.iter().filter(|b| b.is_calm(max)).count();
    (kept, full.len(), median_interference(full))
}

/// What samples were divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Divisor {
    /// Nothing: as measured.
    Nothing,
    /// Each block's own timing of the CPU kernel: the machine's speed while it ran.
    BlockKernel,
    /// The run's CPU-kernel timing (start and end).
    RunKernel,
}

impl Divisor {
    /// As a note says it.
    pub fn describe(self) -> &'static str {
        match self {
            Divisor::Nothing => "as measured",
            Divisor::BlockKernel => "per CPU-kernel time of each block",
            Divisor::RunKernel => "per CPU-kernel time of the run",
        }
    }
}

impl Samples {
    /// Every value divided by `divisor`.
    pub fn scaled(mut self, divisor: f64) -> Samples {
        for v in self.groups.iter_mut().flatten() {
            *v /= divisor;
        }
        self
    }

    /// How many values there are, all groups together.
    pub fn len(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lowest and highest value.
    pub fn range(&self) -> (f64, f64) {
        self.groups
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            })
    }
}

/// The resolution of the CPU times in `env`, seconds.
pub fn cpu_resolution_s(env: &Environment) -> f64 {
    if env.cpu_source.contains("ticks") || env.cpu_source.is_empty() {
        0.01
    } else {
        1e-6
    }
}

/// `s`'s samples of `m`, from its complete runs, as measured; or why there are none that
/// could carry a verdict.
pub fn samples(s: &SystemSummary, m: &Metric, env: &Environment) -> Result<Samples, String> {
    samples_with(s, m, env, Take::ALL)
}

/// `s`'s samples of `m` from the blocks `take` keeps, divided as it says: by each block's
/// CPU-kernel time where blocks have one (a CPU time), else by the run's calibration; as
/// measured when the result has none (an older one).
pub fn samples_with(
    s: &SystemSummary,
    m: &Metric,
    env: &Environment,
    take: Take,
) -> Result<Samples, String> {
    let mut out = raw_samples(s, m, env, take)?;
    if take.calibrate == Calibrate::Yes && out.divided_by == Divisor::Nothing {
        let run = match m.scale {
            Scale::AsIs => None,
            Scale::Cpu => m.scale.divisor(env.calibration.as_ref()),
        };
        if let Some(d) = run {
            out = out.scaled(d);
            out.divided_by = Divisor::RunKernel;
        }
    }
    Ok(out)
}

fn raw_samples(
    s: &SystemSummary,
    m: &Metric,
    env: &Environment,
    take: Take,
) -> Result<Samples, String> {
    let runs: Vec<&SystemRun> = s.runs.iter().filter(|r| r.status.measured()).collect();
    if runs.is_empty() {
        return Err(format!("{}: no complete run ({})", s.label(), s.status));
    }
    let cpu_floor = CPU_RESOLUTIONS * cpu_resolution_s(env);
    match m.block {
        Some(block) if runs.iter().all(|r| !r.blocks.is_empty()) => {
            block_samples(s, m, &runs, block.read, (take, cpu_floor))
        }
        _ => repeat_samples(s, m, &runs, env, cpu_floor),
    }
}

/// One sample per full block of each run: calibrated by each block's own kernel timing
/// where asked and every block has one; blocks whose CPU is below a tenth of the whole
/// run's floor, and blocks the machine spent on other work beyond `take`'s bound, are left
/// out.
fn block_samples(
    s: &SystemSummary,
    m: &Metric,
    runs: &[&SystemRun],
    block: fn(&Block) -> Option<f64>,
    (take, cpu_floor): (Take, f64),
) -> Result<Samples, String> {
    let is_cpu = m.source == Source::ServerCpu;
    let per_block = take.calibrate == Calibrate::Yes
        && m.scale == Scale::Cpu
        && runs.iter().all(|r| {
            r.blocks
                .iter()
                .all(|b| b.cpu_kernel_ms.is_some_and(|k| k > 0.0))
        });
    let value = |b: &Block| {
        let v = block(b)?;
        Some(if per_block { v / b.cpu_kernel_ms? } else { v })
    };
    let groups: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| {
            let full = r.blocks[0].length_s;
            r.blocks
                .iter()
                .filter(|b| b.is_full(full))
                .filter(|b| !is_cpu || b.server_cpu_s.unwrap_or(0.0) >= cpu_floor / 10.0)
                .filter(|b| b.is_calm(take.max_interference))
                .filter_map(value)
                .collect()
        })
        .collect();
    let n: usize = groups.iter().map(Vec::len).sum();
    if n < MIN_BLOCKS {
        return Err(format!(
            "{}: {} in only {n} block(s) of its window ({MIN_BLOCKS} needed){}",
            s.label(),
            m.label,
            thin_why(m)
        ));
    }
    Ok(Samples {
        groups,
        from_blocks: true,
        divided_by: if per_block {
            Divisor::BlockKernel
        } else {
            Divisor::Nothing
        },
    })
}

/// One sample per complete run: a metric blocks do not give, or a result without blocks
/// (merged, or older), where a timing needs [`MIN_REPEATS`] and CPU its floor.
fn repeat_samples(
    s: &SystemSummary,
    m: &Metric,
    runs: &[&SystemRun],
    env: &Environment,
    cpu_floor: f64,
) -> Result<Samples, String> {
    if m.source == Source::ServerCpu {
        let low = runs
            .iter()
            .filter_map(|r| r.server.as_ref())
            .find(|sv| sv.cpu_s < cpu_floor);
        if let Some(sv) = low {
            return Err(format!(
                "{}: server CPU of {:.3} s is below the {:.2} s this CPU source resolves ({})",
                s.label(),
                sv.cpu_s,
                cpu_floor,
                if env.cpu_source.is_empty() {
                    "an older result: 10 ms ticks assumed"
                } else {
                    &env.cpu_source
                }
            ));
        }
    }
    let groups: Vec<Vec<f64>> = runs
        .iter()
        .filter_map(|r| (m.get)(r))
        .map(|v| vec![v])
        .collect();
    if groups.is_empty() {
        return Err(format!("{}: {} not measured", s.label(), m.label));
    }
    if m.block.is_some() && groups.len() < MIN_REPEATS {
        return Err(format!(
            "{}: {} from {} repeat(s) without per-window blocks (a merged or older result): \
             {MIN_REPEATS} are needed for an interval",
            s.label(),
            m.label,
            groups.len()
        ));
    }
    Ok(Samples {
        groups,
        from_blocks: false,
        divided_by: Divisor::Nothing,
    })
}

fn thin_why(m: &Metric) -> &'static str {
    m.block.map_or("", |b| b.thin)
}

/// The share either way within which a per-repeat figure of `s` is known, whatever the
/// repeats say.
pub fn resolution(m: &Metric, s: &SystemSummary) -> f64 {
    match m.kind {
        Kind::Memory => match s.stat(m) {
            Some(st) if st.median > 0.0 && s.connected > 0.0 => {
                RSS_RESOLUTION_BYTES / s.connected / 1024.0 / st.median
            }
            _ => f64::INFINITY,
        },
        Kind::Wire => WIRE_RESOLUTION,
        _ => 0.0,
    }
}

/// The interval of `a / b` from per-repeat figures: from the lowest ratio their ranges
/// allow to the highest, each range widened by its figures' resolution (`ra`, `rb`: shares
/// of the medians), unbounded above when `b` may be zero.
pub fn range_ratio(a: &Samples, b: &Samples, ra: f64, rb: f64) -> Option<Interval> {
    let ma = crate::stats::median_of_medians(&a.groups)?;
    let mb = crate::stats::median_of_medians(&b.groups)?;
    if mb == 0.0 {
        return None;
    }
    let widen = |(lo, hi): (f64, f64), r: f64, m: f64| ((lo - r * m).max(0.0), hi + r * m);
    let (alo, ahi) = widen(a.range(), ra, ma);
    let (blo, bhi) = widen(b.range(), rb, mb);
    Some(Interval {
        estimate: ma / mb,
        lo: alo / bhi,
        hi: if blo > 0.0 { ahi / blo } else { f64::INFINITY },
    })
}

/// The interval of `a / b` for metric `m`: bootstrapped from blocks, or from the ranges of
/// per-repeat figures and their resolutions.
pub fn ratio_interval(m: &Metric, a: (&Samples, f64), b: (&Samples, f64)) -> Option<Interval> {
    if a.0.from_blocks && b.0.from_blocks {
        crate::stats::ratio_of_medians(&a.0.groups, &b.0.groups, seed(m.key))
    } else {
        range_ratio(a.0, b.0, a.1, b.1)
    }
}

/// A fixed seed per metric: the same result always gives the same intervals.
fn seed(key: &str) -> u64 {
    key.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{LATENCY_P50, MEMORY_PER_CONNECTION, WIRE_PER_DELIVERY};
    use crate::summary::summarize;
    use wsbench_core::result::RunResult;

    fn per_repeat(values: &[f64]) -> Samples {
        Samples {
            groups: values.iter().map(|v| vec![*v]).collect(),
            from_blocks: false,
            divided_by: Divisor::Nothing,
        }
    }

    #[test]
    fn samples_scale_count_and_span_every_group() {
        let s = Samples {
            groups: vec![vec![2.0, 4.0], vec![8.0]],
            from_blocks: true,
            divided_by: Divisor::Nothing,
        };
        assert_eq!((s.len(), s.is_empty()), (3, false));
        assert_eq!(s.range(), (2.0, 8.0));
        let halved = s.scaled(2.0);
        assert_eq!(halved.groups, vec![vec![1.0, 2.0], vec![4.0]]);
        assert!(per_repeat(&[]).is_empty());
    }

    /// Per-repeat figures give the ratio of their medians, bounded by the widest ratios
    /// their ranges allow, each widened by its resolution; a denominator that may be zero
    /// leaves the interval open above, and one that is zero gives none.
    #[test]
    fn a_ratio_of_repeats_spans_what_their_ranges_allow() {
        let a = per_repeat(&[10.0, 12.0]);
        let b = per_repeat(&[4.0, 6.0]);
        let i = range_ratio(&a, &b, 0.0, 0.0).unwrap();
        assert_eq!(
            (i.estimate, i.lo, i.hi),
            (11.0 / 5.0, 10.0 / 6.0, 12.0 / 4.0)
        );
        let widened = range_ratio(&a, &b, 0.1, 0.0).unwrap();
        assert!(widened.lo < i.lo && widened.hi > i.hi, "{widened:?}");
        let open = range_ratio(&a, &b, 0.0, 1.0).unwrap();
        assert_eq!(open.hi, f64::INFINITY);
        assert!(range_ratio(&a, &per_repeat(&[0.0]), 0.0, 0.0).is_none());
        assert!(range_ratio(&per_repeat(&[]), &b, 0.0, 0.0).is_none());
        assert_eq!(
            ratio_interval(&WIRE_PER_DELIVERY, (&a, 0.0), (&b, 0.0)),
            Some(i),
            "per-repeat samples are never bootstrapped"
        );
    }

    /// Memory is known to the RSS page over the clients, wire bytes to their own
    /// resolution, timings exactly per repeat.
    #[test]
    fn each_kind_of_figure_has_its_resolution() {
        let result: RunResult = crate::fixtures::pair();
        let ws = &summarize(&result)[0];
        let memory = resolution(&MEMORY_PER_CONNECTION, ws);
        let median = ws.stat(&MEMORY_PER_CONNECTION).unwrap().median;
        assert_eq!(
            memory,
            RSS_RESOLUTION_BYTES / ws.connected / 1024.0 / median
        );
        assert_eq!(resolution(&WIRE_PER_DELIVERY, ws), WIRE_RESOLUTION);
        assert_eq!(resolution(&LATENCY_P50, ws), 0.0);
        let every_block = samples(ws, &LATENCY_P50, &result.environment).unwrap();
        assert_eq!(every_block.divided_by, Divisor::Nothing);
        assert!(!every_block.is_empty());
    }
}
