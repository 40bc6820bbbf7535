//! What the load generator is asked to do, and when.

use std::time::Duration;

use wsbench_core::scenario::Encoding;

use crate::protocol::{Endpoint, Protocol};

/// One transport's load: who connects where, who sends what and how fast.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Wire protocol of every client.
    pub protocol: Protocol,
    /// Where they connect.
    pub endpoint: Endpoint,
    /// Text or binary probes.
    pub encoding: Encoding,
    /// Clients to open.
    pub clients: u64,
    /// Clients `0..senders` also send.
    pub senders: u64,
    /// Messages per second per sender.
    pub rate: f64,
    /// Bytes per probe.
    pub payload: usize,
    /// Length of each sender's schedule (warm-up and measured window).
    pub messages_per_sender: u64,
    /// Time between two connection starts.
    pub ramp_interval: Duration,
    /// Worker threads.
    pub workers: usize,
    /// Longest a single connection attempt may take.
    pub connect_timeout: Duration,
    /// Speak Socket.IO through rust_socketio instead of the lean client.
    pub rust_socketio: Option<RustSioTransport>,
}

/// The rust_socketio transport a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RustSioTransport {
    /// Websocket from the start (not polling first, then upgrade).
    Websocket,
    /// HTTP long-polling only.
    Polling,
}

impl LoadPlan {
    /// Intended send time of message `k` of `sender`, for a schedule starting at `t0_ns`.
    ///
    /// Senders are staggered evenly within one period, so that they do not all fire at the
    /// same instant.
    pub fn due_ns(&self, t0_ns: u64, sender: u64, k: u64) -> u64 {
        let period = 1e9 / self.rate;
        let offset = period * sender as f64 / self.senders.max(1) as f64;
        t0_ns + (offset + period * k as f64) as u64
    }
}

/// The phases of the traffic, in CLOCK_MONOTONIC nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    /// Senders start (warm-up begins).
    pub t0_ns: u64,
    /// Probes due from here on are counted.
    pub measure_start_ns: u64,
    /// Probes due from here on are not sent.
    pub measure_end_ns: u64,
    /// Clients stop reading and close.
    pub drain_end_ns: u64,
}

impl Timeline {
    /// Whether a probe due at `ns` belongs to the measured window.
    pub fn is_measured(&self, ns: u64) -> bool {
        (self.measure_start_ns..self.measure_end_ns).contains(&ns)
    }
}
