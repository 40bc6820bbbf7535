//! Counters the workers update while they run and the runner reads for progress and for
//! measured-window boundaries.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::clients::ConnectFailure;

/// One worker's live counters. Each worker writes only its own (no contention); relaxed
/// atomics, because a reader only needs each value, not an order between them.
#[derive(Debug)]
#[repr(align(128))]
pub struct WorkerLive {
    connected: AtomicU64,
    /// Failed connection attempts, by kind ([`ConnectFailure::index`]).
    failed: [AtomicU64; ConnectFailure::ALL.len()],
    disconnected: AtomicU64,
    probes_received: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    /// Latencies of the probes this worker sent and received, in [`LATENCY_BUCKETS`]
    /// quarter-octave buckets: coarse (±19%), but enough for a live p99.
    latency: [AtomicU64; LATENCY_BUCKETS],
}

/// Live latency buckets: four per octave from 1 µs, 24 octaves (to ~16 s; slower lands in
/// the last).
pub const LATENCY_BUCKETS: usize = 96;

/// The bucket of a latency of `ns`.
fn bucket_of(ns: u64) -> usize {
    let us = (ns / 1000).max(1);
    let octave = 63 - us.leading_zeros() as usize;
    let quarter = if octave >= 2 {
        ((us >> (octave - 2)) & 3) as usize
    } else {
        (us << (2 - octave)) as usize & 3
    };
    (octave * 4 + quarter).min(LATENCY_BUCKETS - 1)
}

/// The upper bound of bucket `i`, µs.
pub fn bucket_upper_us(i: usize) -> f64 {
    2f64.powf((i + 1) as f64 / 4.0)
}

/// The `q` quantile (0-1) of live bucket counts, µs (the bucket's upper bound); `None`
/// when they are empty.
pub fn quantile_us(counts: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    counts.iter().enumerate().find_map(|(i, &n)| {
        seen += n;
        (seen >= rank).then(|| bucket_upper_us(i))
    })
}

impl Default for WorkerLive {
    fn default() -> Self {
        WorkerLive {
            connected: AtomicU64::new(0),
            failed: std::array::from_fn(|_| AtomicU64::new(0)),
            disconnected: AtomicU64::new(0),
            probes_received: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl wsbench_core::counting::ByteCounter for WorkerLive {
    fn add_read(&self, n: u64) {
        self.bytes_read.fetch_add(n, Ordering::Relaxed);
    }
    fn add_written(&self, n: u64) {
        self.bytes_written.fetch_add(n, Ordering::Relaxed);
    }
}

/// A sum over every worker's [`WorkerLive`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveSnapshot {
    /// Clients ready.
    pub connected: u64,
    /// Connection attempts that failed.
    pub failed: u64,
    /// The same by kind, in [`ConnectFailure::ALL`] order.
    pub failures: [u64; ConnectFailure::ALL.len()],
    /// Clients lost after they were ready.
    pub disconnected: u64,
    /// Probes received so far (warm-up included).
    pub probes_received: u64,
    /// Bytes read at the client sockets.
    pub bytes_read: u64,
    /// Bytes written at the client sockets.
    pub bytes_written: u64,
}

impl WorkerLive {
    pub(crate) fn connected(&self) {
        self.connected.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn failed(&self, kind: ConnectFailure) {
        self.failed[kind.index()].fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn disconnected(&self) {
        self.disconnected.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn probe_received(&self) {
        self.probes_received.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn latency(&self, ns: u64) {
        self.latency[bucket_of(ns)].fetch_add(1, Ordering::Relaxed);
    }

    fn add_to(&self, s: &mut LiveSnapshot) {
        s.connected += self.connected.load(Ordering::Relaxed);
        for (n, by_kind) in s.failures.iter_mut().zip(&self.failed) {
            let failed = by_kind.load(Ordering::Relaxed);
            *n += failed;
            s.failed += failed;
        }
        s.disconnected += self.disconnected.load(Ordering::Relaxed);
        s.probes_received += self.probes_received.load(Ordering::Relaxed);
        s.bytes_read += self.bytes_read.load(Ordering::Relaxed);
        s.bytes_written += self.bytes_written.load(Ordering::Relaxed);
    }
}

/// Sums the counters of `workers`.
pub fn snapshot(workers: &[std::sync::Arc<WorkerLive>]) -> LiveSnapshot {
    let mut s = LiveSnapshot::default();
    for w in workers {
        w.add_to(&mut s);
    }
    s
}

/// Sums the live latency buckets of `workers`.
pub fn latency_counts(workers: &[std::sync::Arc<WorkerLive>]) -> Vec<u64> {
    let mut counts = vec![0; LATENCY_BUCKETS];
    for w in workers {
        for (c, b) in counts.iter_mut().zip(&w.latency) {
            *c += b.load(Ordering::Relaxed);
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_quarter_octaves_and_quantiles_their_upper_bounds() {
        assert_eq!(bucket_of(1_000), 0);
        assert_eq!(bucket_of(2_000), 4);
        assert_eq!(bucket_of(3_000), 6);
        assert_eq!(bucket_of(1_000_000), 39);
        assert_eq!(bucket_of(u64::MAX), LATENCY_BUCKETS - 1);
        let mut counts = vec![0; LATENCY_BUCKETS];
        counts[bucket_of(1_000_000)] = 99;
        counts[bucket_of(50_000_000)] = 1;
        let p50 = quantile_us(&counts, 0.5).unwrap();
        assert!((1_000.0..1_200.0).contains(&p50), "{p50}");
        assert!(quantile_us(&counts, 0.999).unwrap() > 50_000.0);
        assert_eq!(quantile_us(&[0; LATENCY_BUCKETS], 0.99), None);
    }
}
