//! The measured window cut into blocks: the per-window samples that confidence intervals
//! and the regression gate are drawn from (docs/method.md, "Uncertainty").
//!
//! One run gives one latency histogram and one CPU figure; how much they would move on
//! another try is unknown from them alone. Cut into blocks of equal length, the same window
//! gives a small sample of each figure, and repeats add theirs.

use serde::{Deserialize, Serialize};

use super::DeliveryTimeline;
use super::figures::per;

/// Shortest block, seconds: shorter ones hold too few deliveries for a p99.
pub const MIN_BLOCK_S: f64 = 0.5;
/// Most blocks per window: more would not narrow an interval much, and cost space.
pub const MAX_BLOCKS: u64 = 30;

/// The block length for a measured window of `window_ns` whose delivery timeline has
/// buckets of `bucket_ns`: at least [`MIN_BLOCK_S`], at most [`MAX_BLOCKS`] per window,
/// and a whole number of timeline buckets, so that a block's deliveries are the sum of its
/// buckets.
pub fn block_ns(window_ns: u64, bucket_ns: u64) -> u64 {
    let min_ns = (MIN_BLOCK_S * 1e9) as u64;
    let blocks = (window_ns / min_ns).clamp(1, MAX_BLOCKS);
    let bucket_ns = bucket_ns.max(1);
    (window_ns / blocks).div_ceil(bucket_ns).max(1) * bucket_ns
}

/// One block of the measured window, by the intended send time of its probes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Block {
    /// Its start, seconds after the window's.
    pub start_s: f64,
    /// Its length, seconds (the last block of a window may be shorter).
    pub length_s: f64,
    /// Deliveries owed for probes due in it.
    pub owed: u64,
    /// Deliveries made of those probes.
    pub delivered: u64,
    /// Latency samples of those deliveries.
    pub latency_count: u64,
    /// Their median, µs (two significant digits).
    pub latency_p50_us: u64,
    /// Their 99th percentile, µs (two significant digits).
    pub latency_p99_us: u64,
    /// Server CPU (every node's process tree) spent during it, seconds; `None` where it
    /// could not be read (a target without a pid, a server killed on purpose).
    pub server_cpu_s: Option<f64>,
    /// The calibration kernel's CPU time timed at the block's end, ms (see
    /// [`super::Calibration`]): the machine's speed while the block ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_kernel_ms: Option<f64>,
    /// Of the machine's CPU capacity during it (all its CPUs over the block), the share the
    /// hypervisor gave to other guests instead (steal time): 0 on a machine of its own, and
    /// a block taken from a busy host where it is high, whose timings say more about the
    /// neighbours than about the servers; `None` where the kernel does not report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stolen: Option<f64>,
    /// Of the same capacity, the share that processes other than this run's (the load
    /// generator and the servers it started) took: a compiler or another benchmark beside
    /// the run; `None` where the servers' CPU could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign: Option<f64>,
    /// Of the time the load generator's threads wanted a CPU during it (running or ready
    /// to run), the share they spent waiting for one (schedstat's run delay): near 0 when
    /// it had the CPUs it needed; high when it was starved, and read probes late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadgen_wait: Option<f64>,
    /// The same for the servers' threads (every node's process tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_wait: Option<f64>,
}

/// Latency of one block: (samples, p50 µs, p99 µs).
pub type BlockLatency = (u64, u64, u64);

impl Block {
    /// Delivered per second.
    pub fn delivered_per_s(&self) -> f64 {
        if self.length_s > 0.0 {
            self.delivered as f64 / self.length_s
        } else {
            0.0
        }
    }

    /// Server CPU per delivery, µs, where measured and something was delivered.
    pub fn server_cpu_us_per_delivery(&self) -> Option<f64> {
        let cpu = self.server_cpu_s?;
        (self.delivered > 0).then(|| per(cpu * 1e6, self.delivered))
    }

    /// The share of the machine's CPU time that went to others while it ran: other guests
    /// of the host and other processes of the machine; `None` where neither was read.
    pub fn interference(&self) -> Option<f64> {
        match (self.stolen, self.foreign) {
            (None, None) => None,
            (s, f) => Some(s.unwrap_or(0.0) + f.unwrap_or(0.0)),
        }
    }

    /// Whether other work took at most `max` of the machine while it ran (a block that
    /// records no interference counts as calm).
    pub fn is_calm(&self, max: f64) -> bool {
        self.interference().is_none_or(|x| x <= max)
    }

    /// Whether it is long enough to stand beside the others (a last block under half the
    /// usual length is left out of statistics).
    pub fn is_full(&self, block_s: f64) -> bool {
        self.length_s >= block_s / 2.0
    }
}

/// The median interference (see [`Block::interference`]) of those of `blocks` that
/// record one: how busy the machine was with other work while they were measured.
pub fn median_interference<'a>(blocks: impl IntoIterator<Item = &'a Block>) -> Option<f64> {
    median_of(blocks, Block::interference)
}

/// The median of `figure` over those of `blocks` that record it.
pub fn median_of<'a>(
    blocks: impl IntoIterator<Item = &'a Block>,
    figure: impl Fn(&Block) -> Option<f64>,
) -> Option<f64> {
    let mut v: Vec<f64> = blocks.into_iter().filter_map(figure).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// What was read at the block boundaries of a window, besides deliveries and latency.
#[derive(Debug, Clone, Copy, Default)]
pub struct BoundaryReadings<'a> {
    /// The servers' cumulative CPU seconds at each boundary (`cpu[k]` at the start of block
    /// `k`; `None` where unreadable).
    pub cpu: &'a [Option<f64>],
    /// The calibration kernel's time at the end of each block, ms.
    pub kernel: &'a [f64],
    /// The machine's stolen share over each block (see [`Block::stolen`]).
    pub stolen: &'a [Option<f64>],
    /// Other processes' share over each block (see [`Block::foreign`]).
    pub foreign: &'a [Option<f64>],
    /// The load generator's wait share over each block (see [`Block::loadgen_wait`]).
    pub loadgen_wait: &'a [Option<f64>],
    /// The servers' wait share over each block (see [`Block::server_wait`]).
    pub server_wait: &'a [Option<f64>],
}

/// The blocks of a window of `window_s` seconds cut every `block_s`: deliveries from the
/// `timeline`, latency per block, and server CPU, kernel timings and stolen shares from
/// `at`.
pub fn blocks(
    window_s: f64,
    block_s: f64,
    timeline: &DeliveryTimeline,
    latency: &[BlockLatency],
    at: BoundaryReadings,
) -> Vec<Block> {
    let BoundaryReadings {
        cpu,
        kernel,
        stolen,
        foreign,
        loadgen_wait,
        server_wait,
    } = at;
    if block_s <= 0.0 || window_s <= 0.0 {
        return Vec::new();
    }
    let count = (window_s / block_s - 1e-9).ceil().max(1.0) as usize;
    // Bucket indices by rounding, not by dividing times, which floors 0.3 / 0.1 to 2.
    let per_block = if timeline.bucket_s > 0.0 {
        (block_s / timeline.bucket_s).round().max(1.0) as usize
    } else {
        0
    };
    let sum = |v: &[u64], k: usize| -> u64 { v.iter().skip(k * per_block).take(per_block).sum() };
    (0..count)
        .map(|k| {
            let start_s = k as f64 * block_s;
            let length_s = block_s.min(window_s - start_s);
            let (owed, delivered) = (sum(&timeline.owed, k), sum(&timeline.delivered, k));
            let (latency_count, latency_p50_us, latency_p99_us) =
                latency.get(k).copied().unwrap_or_default();
            let server_cpu_s = match (cpu.get(k), cpu.get(k + 1)) {
                (Some(Some(a)), Some(Some(b))) if b >= a => Some(b - a),
                _ => None,
            };
            Block {
                start_s,
                length_s,
                owed,
                delivered,
                latency_count,
                latency_p50_us,
                latency_p99_us,
                server_cpu_s,
                cpu_kernel_ms: kernel.get(k).copied(),
                stolen: stolen.get(k).copied().flatten(),
                foreign: foreign.get(k).copied().flatten(),
                loadgen_wait: loadgen_wait.get(k).copied().flatten(),
                server_wait: server_wait.get(k).copied().flatten(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn blocks_are_whole_buckets_between_half_a_second_and_a_thirtieth() {
        assert_eq!(block_ns(5 * S, S / 10), S / 2);
        assert_eq!(block_ns(60 * S, S / 10), 2 * S);
        // Shorter than one block: one block, the window's length rounded up to a bucket.
        assert_eq!(block_ns(S / 4, S / 10), 3 * S / 10);
        // 7 s in 14 blocks of 0.5 s.
        assert_eq!(block_ns(7 * S, S / 10), S / 2);
    }

    #[test]
    fn a_block_holds_its_buckets_latency_and_cpu() {
        let timeline = DeliveryTimeline {
            bucket_s: 0.1,
            owed: vec![10; 12],
            delivered: vec![9; 12],
        };
        let latency = [(5, 100, 200), (6, 110, 210), (1, 1, 1)];
        let cpu = [Some(1.0), Some(1.5), None];
        let at = BoundaryReadings {
            cpu: &cpu,
            kernel: &[2.0],
            stolen: &[None, Some(0.25)],
            foreign: &[Some(0.5)],
            ..BoundaryReadings::default()
        };
        let b = blocks(1.2, 0.5, &timeline, &latency, at);
        assert_eq!(b.len(), 3);
        assert_eq!((b[0].owed, b[0].delivered), (50, 45));
        assert_eq!((b[2].owed, b[2].length_s > 0.19), (20, true));
        assert_eq!(b[1].latency_p99_us, 210);
        assert_eq!(b[0].server_cpu_s, Some(0.5));
        assert_eq!(b[1].server_cpu_s, None);
        assert_eq!((b[0].cpu_kernel_ms, b[1].cpu_kernel_ms), (Some(2.0), None));
        assert_eq!(
            (b[0].stolen, b[1].stolen, b[2].stolen),
            (None, Some(0.25), None)
        );
        assert_eq!((b[0].foreign, b[1].foreign), (Some(0.5), None));
        assert!(!b[2].is_full(0.5) && b[0].is_full(0.5));
        assert!((b[0].server_cpu_us_per_delivery().unwrap() - 0.5e6 / 45.0).abs() < 1e-6);
        assert!((b[0].delivered_per_s() - 90.0).abs() < 1e-9);
    }
}
