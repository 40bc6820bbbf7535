//! The figures reports show and `compare` checks, defined once.

use wsbench_core::result::TransportRun;

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
    /// Depends on the machine's speed and load: loose tolerance.
    Timing,
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
    },
    Metric {
        key: "loss_ratio",
        label: "loss",
        unit: "share",
        better: Better::Lower,
        kind: Kind::Loss,
        get: |r| r.messages.loss_ratio(),
    },
    Metric {
        key: "latency_p50_ms",
        label: "p50",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::Timing,
        get: |r| (r.latency.count > 0).then(|| ms(r.latency.p50_us)),
    },
    Metric {
        key: "latency_p99_ms",
        label: "p99",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::Timing,
        get: |r| r.latency.p99_ms(),
    },
    Metric {
        key: "latency_p999_ms",
        label: "p99.9",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::Volatile,
        get: |r| (r.latency.count > 0).then(|| ms(r.latency.p999_us)),
    },
    Metric {
        key: "latency_max_ms",
        label: "max",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::Volatile,
        get: |r| (r.latency.count > 0).then(|| ms(r.latency.max_us)),
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
    },
    Metric {
        key: "server_cpu_us_per_delivery",
        label: "server CPU/delivery",
        unit: "µs",
        better: Better::Lower,
        kind: Kind::Timing,
        get: |r| r.server.as_ref().map(|s| s.cpu_us_per_delivery),
    },
    Metric {
        key: "wire_bytes_per_delivery",
        label: "wire bytes/delivery",
        unit: "B",
        better: Better::Lower,
        kind: Kind::Wire,
        get: |r| r.wire.measured().then_some(r.wire.bytes_per_delivery),
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
    },
    Metric {
        key: "connects_per_s",
        label: "connect rate",
        unit: "conn/s",
        better: Better::Higher,
        kind: Kind::Volatile,
        get: |r| (r.connections.connects_per_s > 0.0).then_some(r.connections.connects_per_s),
    },
];

/// The metric with `key`.
pub fn metric(key: &str) -> &'static Metric {
    METRICS
        .iter()
        .find(|m| m.key == key)
        .unwrap_or_else(|| panic!("no metric {key}"))
}
