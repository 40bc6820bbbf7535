//! What the workers measured, merged.

use std::collections::BTreeMap;

use wsbench_core::histogram::{BlockHistogram, LatencyHistogram};

use crate::clients::ConnectFailure;

/// Figures of one worker, or of all of them merged.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Receive time minus intended time, measured-window probes.
    pub latency: LatencyHistogram,
    /// Latency of the deliveries that crossed server nodes (a cluster's), a subset of
    /// `latency`.
    pub cross_node_latency: LatencyHistogram,
    /// Actual minus intended send time, every probe sent.
    pub send_lag: LatencyHistogram,
    /// Connection setup times.
    pub connect_time: LatencyHistogram,
    /// Failed connection attempts by kind.
    pub failures: BTreeMap<ConnectFailure, u64>,
    /// Clients that connected.
    pub connected: u64,
    /// From the first connection attempt to the last client ready, ns.
    pub connect_span_ns: u64,
    /// Clients lost after connecting.
    pub disconnected: u64,
    /// Measured-window probes written by senders.
    pub sent: u64,
    /// Measured-window probes a sender could not write.
    pub unsent: u64,
    /// Deliveries owed for the probes sent: each probe times its recipients in scope.
    pub owed: u64,
    /// Probes that reached a client outside their scope (another room, not the sender).
    pub misrouted: u64,
    /// Distinct measured-window deliveries.
    pub delivered: u64,
    /// Repeated deliveries.
    pub duplicated: u64,
    /// Deliveries after a later probe of the same sender.
    pub out_of_order: u64,
    /// Messages that were not probes of this run.
    pub foreign: u64,
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
        self.latency.merge(&other.latency);
        self.send_lag.merge(&other.send_lag);
        self.cross_node_latency.merge(&other.cross_node_latency);
        self.connect_time.merge(&other.connect_time);
        for (kind, n) in &other.failures {
            *self.failures.entry(*kind).or_default() += n;
        }
        self.connected += other.connected;
        self.connect_span_ns = self.connect_span_ns.max(other.connect_span_ns);
        self.disconnected += other.disconnected;
        self.sent += other.sent;
        self.unsent += other.unsent;
        self.owed += other.owed;
        self.misrouted += other.misrouted;
        self.delivered += other.delivered;
        self.duplicated += other.duplicated;
        self.out_of_order += other.out_of_order;
        self.foreign += other.foreign;
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
    }
}
