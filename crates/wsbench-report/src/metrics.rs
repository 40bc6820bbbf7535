//! The figures reports show and `compare` checks, defined once.

use wsbench_core::result::{Block, Calibration, TransportRun};

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller values are better (latency, memory, bytes).
    Lower,
    /// Larger values are better (throughput).
    Higher,
}

/// How a metric reacts to a shared, noisy machine, which decides its tolerance in `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// CPU time and throughput: depend on the machine's speed, which calibration divides
    /// out.
    Timing,
    /// The latency median: scheduling on a shared machine moves it by a factor between
    /// runs, whatever its speed, so only a gross change counts.
    Latency,
    /// The latency p99: sampled per block like the median, but moved even more.
    LatencyTail,
    /// Moved by any scheduler hiccup of a shared machine: the far latency tail (p99.9, max:
    /// a few samples) and sub-millisecond connect times. Only a gross change counts.
    Volatile,
    /// Memory per connection: nearly deterministic.
    Memory,
    /// Bytes on the wire: deterministic but for heartbeats.
    Wire,
    /// Share of expected deliveries lost: must not grow.
    Loss,
}

/// What a timing is divided by before two results are compared (docs/method.md,
/// "Calibration"): the part of the machine's speed it depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Not a timing, or one fixed by the offered load: compared as measured.
    AsIs,
    /// CPU time: divided by the CPU kernel's time.
    Cpu,
}

impl Scale {
    /// The divisor `calibration` gives this scale (`None`: not calibrated).
    pub fn divisor(self, calibration: Option<&Calibration>) -> Option<f64> {
        match self {
            Scale::AsIs => Some(1.0),
            Scale::Cpu => calibration?.cpu_ms(),
        }
    }
}

/// Fewest latency samples in a block for its median to count.
pub const BLOCK_P50_SAMPLES: u64 = 20;
/// Fewest latency samples in a block for its 99th percentile to count (fewer, and it is
/// the block's maximum).
pub const BLOCK_P99_SAMPLES: u64 = 100;

/// One figure of a transport run.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Stable key (CSV column, JSON).
    pub key: &'static str,
    /// Human label.
    pub label: &'static str,
    /// Unit, for labels.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
    /// Noise class.
    pub kind: Kind,
    /// Reads the figure from a run, if the run has it.
    pub get: fn(&TransportRun) -> Option<f64>,
    /// Reads it from one block of the window, where blocks give it (see
    /// [`wsbench_core::result::blocks`]); `None` from a block too thin to tell.
    pub block: Option<fn(&Block) -> Option<f64>>,
    /// What it is divided by when two results are compared.
    pub scale: Scale,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1e3
}

/// Every compared metric, in report order.
pub const METRICS: &[Metric] = &[
    Metric {
        key: "delivered_per_s",
        label: "delivered/s",
        unit: "msg/s",
        better: Better::Higher,
        kind: Kind::Timing,
        get: |r| Some(r.messages.delivered_per_s),
        block: Some(|b| Some(b.delivered_per_s())),
        scale: Scale::AsIs,
    },
    Metric {
        key: "loss_ratio",
        label: "loss",
        unit: "share",
        better: Better::Lower,
        kind: Kind::Loss,
        get: |r| r.messages.loss_ratio(),
        block: None,
        scale: Scale::AsIs,
    },
    Metric {
        key: "latency_p50_ms",
        label: "p50",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::Latency,
        get: |r| (r.latency.count > 0).then(|| ms(r.latency.p50_us)),
        block: Some(|b| (b.latency_count >= BLOCK_P50_SAMPLES).then(|| ms(b.latency_p50_us))),
        scale: Scale::AsIs,
    },
    Metric {
        key: "latency_p99_ms",
        label: "p99",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::LatencyTail,
        get: |r| r.latency.p99_ms(),
        block: Some(|b| (b.latency_count >= BLOCK_P99_SAMPLES).then(|| ms(b.latency_p99_us))),
        scale: Scale::AsIs,
    },
    Metric {
        key: "latency_p999_ms",
        label: "p99.9",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::Volatile,
        get: |r| (r.latency.count > 0).then(|| ms(r.latency.p999_us)),
        block: None,
        scale: Scale::AsIs,
    },
    Metric {
        key: "latency_max_ms",
        label: "max",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::Volatile,
        get: |r| (r.latency.count > 0).then(|| ms(r.latency.max_us)),
        block: None,
        scale: Scale::AsIs,
    },
    Metric {
        key: "server_memory_per_connection_kib",
        label: "server memory/conn",
        unit: "KiB",
        better: Better::Lower,
        kind: Kind::Memory,
        get: |r| {
            r.server
                .as_ref()
                .map(|s| s.memory_per_connection_bytes / 1024.0)
        },
        block: None,
        scale: Scale::AsIs,
    },
    Metric {
        key: "server_cpu_us_per_delivery",
        label: "server CPU/delivery",
        unit: "µs",
        better: Better::Lower,
        kind: Kind::Timing,
        get: |r| r.server.as_ref().map(|s| s.cpu_us_per_delivery),
        block: Some(|b| b.server_cpu_us_per_delivery()),
        scale: Scale::Cpu,
    },
    Metric {
        key: "wire_bytes_per_delivery",
        label: "wire bytes/delivery",
        unit: "B",
        better: Better::Lower,
        kind: Kind::Wire,
        get: |r| r.wire.measured().then_some(r.wire.bytes_per_delivery),
        block: None,
        scale: Scale::AsIs,
    },
    Metric {
        key: "connect_p50_ms",
        label: "connect p50",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::Volatile,
        get: |r| {
            (r.connections.connect_time.count > 0).then(|| ms(r.connections.connect_time.p50_us))
        },
        block: None,
        scale: Scale::AsIs,
    },
    Metric {
        key: "connect_p99_ms",
        label: "connect p99",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::Volatile,
        get: |r| {
            (r.connections.connect_time.count > 0).then(|| ms(r.connections.connect_time.p99_us))
        },
        block: None,
        scale: Scale::AsIs,
    },
    Metric {
        key: "connects_per_s",
        label: "connect rate",
        unit: "conn/s",
        better: Better::Higher,
        kind: Kind::Volatile,
        get: |r| (r.connections.connects_per_s > 0.0).then_some(r.connections.connects_per_s),
        block: None,
        scale: Scale::AsIs,
    },
];

/// The metric with `key`.
pub fn metric(key: &str) -> &'static Metric {
    METRICS
        .iter()
        .find(|m| m.key == key)
        .unwrap_or_else(|| panic!("no metric {key}"))
}
