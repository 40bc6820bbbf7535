//! What the workers measured, merged.

use std::collections::BTreeMap;

use wsbench_core::histogram::LatencyHistogram;

use crate::protocol::ConnectFailure;

/// Figures of one worker, or of all of them merged.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Receive time minus intended time, measured-window probes.
    pub latency: LatencyHistogram,
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
}

impl LoadReport {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &LoadReport) {
        self.latency.merge(&other.latency);
        self.send_lag.merge(&other.send_lag);
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
    }
}
