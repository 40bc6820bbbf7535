//! Counters the workers update while they run and the runner reads for progress and for
//! measured-window boundaries.

use std::sync::atomic::{AtomicU64, Ordering};

/// One worker's live counters. Each worker writes only its own (no contention); relaxed
/// atomics, because a reader only needs each value, not an order between them.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct WorkerLive {
    connected: AtomicU64,
    failed: AtomicU64,
    disconnected: AtomicU64,
    probes_received: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
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
    pub(crate) fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn disconnected(&self) {
        self.disconnected.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn probe_received(&self) {
        self.probes_received.fetch_add(1, Ordering::Relaxed);
    }

    fn add_to(&self, s: &mut LiveSnapshot) {
        s.connected += self.connected.load(Ordering::Relaxed);
        s.failed += self.failed.load(Ordering::Relaxed);
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
