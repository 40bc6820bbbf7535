//! What the workers measured, merged.

use wsbench_core::histogram::{BlockHistogram, LatencyHistogram};
use wsbench_core::result::Counts;

/// Figures of one worker, or of all of them merged.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Connections and deliveries (core's one type for counts, so that a worker's, a
    /// process's and a merged run's add up alike).
    pub counts: Counts,
    /// Latency of the deliveries that crossed server nodes (a cluster's), a subset of
    /// `counts.latency`.
    pub cross_node_latency: LatencyHistogram,
    /// Deliveries owed, by bucket of intended send time (see [`crate::Timeline::bucket_of`]).
    pub owed_by_bucket: Vec<u64>,
    /// Deliveries made, by bucket of intended send time.
    pub delivered_by_bucket: Vec<u64>,
    /// Latency by block of intended send time (see [`crate::Timeline::block_of`]).
    pub latency_by_block: Vec<BlockHistogram>,
    /// Every connection lost after traffic began: when, and when the client was back.
    pub reconnections: Vec<Reconnection>,
    /// Reconnection attempts that failed.
    pub failed_reconnects: u64,
    /// Measured-window probes sent while disconnected and discarded (raw WebSocket).
    pub discarded: u64,
    /// Measured-window probes sent while disconnected, buffered and written on reconnect.
    pub buffered: u64,
    /// How the workers read.
    pub io: IoUse,
}

/// How many workers read through a batched receiver, of how many.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoUse {
    /// Workers.
    pub workers: u64,
    /// Of which read through io_uring.
    pub uring_workers: u64,
    /// Of which read through the batched epoll set.
    pub epoll_workers: u64,
    /// Why a worker asked to could not (the first such reason).
    pub uring_error: Option<String>,
}

/// A connection lost and (perhaps) regained, in CLOCK_MONOTONIC ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnection {
    /// When the client noticed the loss.
    pub lost_ns: u64,
    /// When it was ready again, if it was.
    pub back_ns: Option<u64>,
}

/// Adds `n` to bucket `i`, growing the buckets as needed.
pub(crate) fn add_to_bucket(buckets: &mut Vec<u64>, i: usize, n: u64) {
    if buckets.len() <= i {
        buckets.resize(i + 1, 0);
    }
    buckets[i] += n;
}

/// Block `i`'s histogram, growing the blocks as needed.
pub(crate) fn block_at(blocks: &mut Vec<BlockHistogram>, i: usize) -> &mut BlockHistogram {
    if blocks.len() <= i {
        blocks.resize_with(i + 1, BlockHistogram::default);
    }
    &mut blocks[i]
}

impl LoadReport {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &LoadReport) {
        self.counts.add(&other.counts);
        self.cross_node_latency.merge(&other.cross_node_latency);
        for (i, n) in other.owed_by_bucket.iter().enumerate() {
            add_to_bucket(&mut self.owed_by_bucket, i, *n);
        }
        for (i, n) in other.delivered_by_bucket.iter().enumerate() {
            add_to_bucket(&mut self.delivered_by_bucket, i, *n);
        }
        for (i, h) in other.latency_by_block.iter().enumerate() {
            block_at(&mut self.latency_by_block, i).merge(h);
        }
        self.reconnections.extend_from_slice(&other.reconnections);
        self.failed_reconnects += other.failed_reconnects;
        self.discarded += other.discarded;
        self.buffered += other.buffered;
        self.io.workers += other.io.workers;
        self.io.uring_workers += other.io.uring_workers;
        self.io.epoll_workers += other.io.epoll_workers;
        if self.io.uring_error.is_none() {
            self.io.uring_error.clone_from(&other.io.uring_error);
        }
    }
}
