//! The figures reports show and `compare` checks, defined once.

use wsbench_core::result::{Block, Calibration, SystemRun};

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller values are better (latency, memory, bytes).
    Lower,
    /// Larger values are better (throughput).
    Higher,
}

/// How a metric reacts to a shared, noisy machine, which decides how `compare` judges it
/// (`compare/judge.rs` matches on it, with no default arm: a new kind needs its rule).
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
    /// a few samples) and sub-millisecond connect times. Only a gross change counts, and
    /// only from at least `min_samples` samples of its histogram (`None`: never, one sample
    /// decides a maximum).
    Volatile {
        /// Fewest samples of the metric's histogram ([`Source`]) for a judgement.
        min_samples: Option<u64>,
    },
    /// Memory per connection: nearly deterministic.
    Memory,
    /// Bytes on the wire: deterministic but for heartbeats.
    Wire,
    /// Share of expected deliveries lost: must not grow.
    Loss,
}

impl Kind {
    /// A timing of some sort: judged against the machine's business, and shown as ratios
    /// between systems in `compare`.
    pub fn is_timing(self) -> bool {
        matches!(
            self,
            Kind::Timing | Kind::Latency | Kind::LatencyTail | Kind::Volatile { .. }
        )
    }
}

/// What a figure is measured from, and so who measures it: the load generator's clients
/// (latency, deliveries, connections) or the server's process (CPU, memory), or the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The delivery latency histogram (the load generator's clock).
    Latency,
    /// Delivery counts.
    Delivery,
    /// The connect-time histogram and connection counts.
    Connect,
    /// The server's CPU time.
    ServerCpu,
    /// The server's memory.
    ServerMemory,
    /// Bytes on the wire.
    Wire,
}

impl Source {
    /// Whether the load generator measures it itself, so that a starved load generator
    /// measures itself rather than the system (docs/method.md, "Validity").
    pub fn by_load_generator(self) -> bool {
        matches!(self, Source::Latency | Source::Delivery | Source::Connect)
    }
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

/// How a figure is read from one block of the measured window.
#[derive(Debug, Clone, Copy)]
pub struct PerBlock {
    /// The figure of a block; `None` from a block too thin to tell.
    pub read: fn(&Block) -> Option<f64>,
    /// What makes a block too thin, for the message when too few are left (`; a block's
    /// p50 needs 20 latency samples`), or empty.
    pub thin: &'static str,
}

/// One figure of a system run: everything reports and `compare` need to know of it. A
/// new metric is one entry here (and [`METRICS`]) plus where its value is counted.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Stable key (CSV column, JSON).
    pub key: &'static str,
    /// Human label.
    pub label: &'static str,
    /// Its name in the terminal's headline, where columns are narrow.
    pub short: &'static str,
    /// Unit, for labels (`share`: shown as a percentage).
    pub unit: &'static str,
    /// Decimals in a table cell.
    pub decimals: usize,
    /// Which way is better.
    pub better: Better,
    /// Noise class, and so how `compare` judges it.
    pub kind: Kind,
    /// What it is measured from.
    pub source: Source,
    /// Whether tables give a ratio between systems for it (not for a loss: a ratio of
    /// shares near zero says nothing).
    pub ratio_row: bool,
    /// Reads the figure from a run, if the run has it.
    pub get: fn(&SystemRun) -> Option<f64>,
    /// Reads it from one block of the window, where blocks give it (see
    /// [`wsbench_core::result::blocks`]).
    pub block: Option<PerBlock>,
    /// What it is divided by when two results are compared.
    pub scale: Scale,
}

impl Metric {
    /// A value as a table cell shows it: `99900`, `0.000%`, `3.3`, `12.61`.
    pub fn format(&self, v: f64) -> String {
        let decimals = self.decimals;
        if self.unit == "share" {
            format!("{:.decimals$}%", v * 100.0)
        } else {
            format!("{v:.decimals$}")
        }
    }

    /// Its label with its unit, as a column title: `p50 ms`, `delivered/s`, `loss`.
    pub fn title(&self) -> String {
        if self.unit == "share" || self.unit == "msg/s" {
            self.label.to_owned()
        } else {
            format!("{} {}", self.label, self.unit)
        }
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1e3
}

/// Messages delivered per second of the window.
pub const DELIVERED_PER_S: Metric = Metric {
    key: "delivered_per_s",
    label: "delivered/s",
    short: "deliv/s",
    unit: "msg/s",
    decimals: 0,
    better: Better::Higher,
    kind: Kind::Timing,
    source: Source::Delivery,
    ratio_row: true,
    get: |r| Some(r.messages.delivered_per_s),
    block: Some(PerBlock {
        read: |b| Some(b.delivered_per_s()),
        thin: "",
    }),
    scale: Scale::AsIs,
};

/// Share of expected deliveries lost.
pub const LOSS: Metric = Metric {
    key: "loss_ratio",
    label: "loss",
    short: "loss",
    unit: "share",
    decimals: 3,
    better: Better::Lower,
    kind: Kind::Loss,
    source: Source::Delivery,
    ratio_row: false,
    get: |r| r.messages.loss_ratio(),
    block: None,
    scale: Scale::AsIs,
};

/// Delivery latency, median.
pub const LATENCY_P50: Metric = Metric {
    key: "latency_p50_ms",
    label: "p50",
    short: "p50",
    unit: "ms",
    decimals: 2,
    better: Better::Lower,
    kind: Kind::Latency,
    source: Source::Latency,
    ratio_row: true,
    get: |r| (r.latency.count > 0).then(|| ms(r.latency.p50_us)),
    block: Some(PerBlock {
        read: |b| (b.latency_count >= BLOCK_P50_SAMPLES).then(|| ms(b.latency_p50_us)),
        thin: "; a block's p50 needs 20 latency samples",
    }),
    scale: Scale::AsIs,
};

/// Delivery latency, 99th percentile.
pub const LATENCY_P99: Metric = Metric {
    key: "latency_p99_ms",
    label: "p99",
    short: "p99",
    unit: "ms",
    decimals: 2,
    better: Better::Lower,
    kind: Kind::LatencyTail,
    source: Source::Latency,
    ratio_row: true,
    get: |r| r.latency.p99_ms(),
    block: Some(PerBlock {
        read: |b| (b.latency_count >= BLOCK_P99_SAMPLES).then(|| ms(b.latency_p99_us)),
        thin: "; a block's p99 needs 100 latency samples",
    }),
    scale: Scale::AsIs,
};

/// Delivery latency, 99.9th percentile.
pub const LATENCY_P999: Metric = Metric {
    key: "latency_p999_ms",
    label: "p99.9",
    short: "p99.9",
    unit: "ms",
    decimals: 2,
    better: Better::Lower,
    kind: Kind::Volatile {
        min_samples: Some(10_000),
    },
    source: Source::Latency,
    ratio_row: true,
    get: |r| (r.latency.count > 0).then(|| ms(r.latency.p999_us)),
    block: None,
    scale: Scale::AsIs,
};

/// Delivery latency, the slowest.
pub const LATENCY_MAX: Metric = Metric {
    key: "latency_max_ms",
    label: "max",
    short: "max",
    unit: "ms",
    decimals: 2,
    better: Better::Lower,
    kind: Kind::Volatile { min_samples: None },
    source: Source::Latency,
    ratio_row: true,
    get: |r| (r.latency.count > 0).then(|| ms(r.latency.max_us)),
    block: None,
    scale: Scale::AsIs,
};

/// The server's memory per connected client.
pub const MEMORY_PER_CONNECTION: Metric = Metric {
    key: "server_memory_per_connection_kib",
    label: "server memory/conn",
    short: "mem/conn",
    unit: "KiB",
    decimals: 1,
    better: Better::Lower,
    kind: Kind::Memory,
    source: Source::ServerMemory,
    ratio_row: true,
    get: |r| {
        r.server
            .as_ref()
            .map(|s| s.memory_per_connection_bytes / 1024.0)
    },
    block: None,
    scale: Scale::AsIs,
};

/// The server's CPU time per delivery.
pub const CPU_PER_DELIVERY: Metric = Metric {
    key: "server_cpu_us_per_delivery",
    label: "server CPU/delivery",
    short: "CPU/deliv",
    unit: "µs",
    decimals: 2,
    better: Better::Lower,
    kind: Kind::Timing,
    source: Source::ServerCpu,
    ratio_row: true,
    get: |r| r.server.as_ref().map(|s| s.cpu_us_per_delivery),
    block: Some(PerBlock {
        read: |b| b.server_cpu_us_per_delivery(),
        thin: "; a block needs server CPU above the source's resolution",
    }),
    scale: Scale::Cpu,
};

/// Bytes on the wire per delivery.
pub const WIRE_PER_DELIVERY: Metric = Metric {
    key: "wire_bytes_per_delivery",
    label: "wire bytes/delivery",
    short: "wire",
    unit: "B",
    decimals: 1,
    better: Better::Lower,
    kind: Kind::Wire,
    source: Source::Wire,
    ratio_row: true,
    get: |r| r.wire.measured().then_some(r.wire.bytes_per_delivery),
    block: None,
    scale: Scale::AsIs,
};

/// Time to a ready client, median.
pub const CONNECT_P50: Metric = Metric {
    key: "connect_p50_ms",
    label: "connect p50",
    short: "conn p50",
    unit: "ms",
    decimals: 2,
    better: Better::Lower,
    kind: Kind::Volatile {
        min_samples: Some(100),
    },
    source: Source::Connect,
    ratio_row: true,
    get: |r| (r.connections.connect_time.count > 0).then(|| ms(r.connections.connect_time.p50_us)),
    block: None,
    scale: Scale::AsIs,
};

/// Time to a ready client, 99th percentile.
pub const CONNECT_P99: Metric = Metric {
    key: "connect_p99_ms",
    label: "connect p99",
    short: "conn p99",
    unit: "ms",
    decimals: 2,
    better: Better::Lower,
    kind: Kind::Volatile {
        min_samples: Some(1_000),
    },
    source: Source::Connect,
    ratio_row: true,
    get: |r| (r.connections.connect_time.count > 0).then(|| ms(r.connections.connect_time.p99_us)),
    block: None,
    scale: Scale::AsIs,
};

/// Clients connected per second during the ramp.
pub const CONNECTS_PER_S: Metric = Metric {
    key: "connects_per_s",
    label: "connect rate",
    short: "conn/s",
    unit: "conn/s",
    decimals: 0,
    better: Better::Higher,
    kind: Kind::Volatile {
        min_samples: Some(100),
    },
    source: Source::Connect,
    ratio_row: true,
    get: |r| (r.connections.connects_per_s > 0.0).then_some(r.connections.connects_per_s),
    block: None,
    scale: Scale::AsIs,
};

/// A lean client's TCP connect, median: the part of its setup before TLS and the upgrade.
pub const TCP_CONNECT_P50: Metric = Metric {
    key: "tcp_connect_p50_ms",
    label: "TCP connect p50",
    short: "tcp p50",
    unit: "ms",
    decimals: 2,
    better: Better::Lower,
    kind: Kind::Volatile {
        min_samples: Some(100),
    },
    source: Source::Connect,
    ratio_row: true,
    get: |r| (!r.connections.tcp_time.is_empty()).then(|| ms(r.connections.tcp_time.p50_us)),
    block: None,
    scale: Scale::AsIs,
};

/// A lean client's TLS handshake, median (over TLS only).
pub const TLS_HANDSHAKE_P50: Metric = Metric {
    key: "tls_handshake_p50_ms",
    label: "TLS handshake p50",
    short: "tls p50",
    unit: "ms",
    decimals: 2,
    better: Better::Lower,
    kind: Kind::Volatile {
        min_samples: Some(100),
    },
    source: Source::Connect,
    ratio_row: true,
    get: |r| (!r.connections.tls_time.is_empty()).then(|| ms(r.connections.tls_time.p50_us)),
    block: None,
    scale: Scale::AsIs,
};

/// A lean client's WebSocket upgrade (request to 101), median.
pub const UPGRADE_P50: Metric = Metric {
    key: "upgrade_p50_ms",
    label: "upgrade p50",
    short: "upg p50",
    unit: "ms",
    decimals: 2,
    better: Better::Lower,
    kind: Kind::Volatile {
        min_samples: Some(100),
    },
    source: Source::Connect,
    ratio_row: true,
    get: |r| {
        (!r.connections.upgrade_time.is_empty()).then(|| ms(r.connections.upgrade_time.p50_us))
    },
    block: None,
    scale: Scale::AsIs,
};

/// Every compared metric, in report order.
pub const METRICS: &[Metric] = &[
    DELIVERED_PER_S,
    LOSS,
    LATENCY_P50,
    LATENCY_P99,
    LATENCY_P999,
    LATENCY_MAX,
    MEMORY_PER_CONNECTION,
    CPU_PER_DELIVERY,
    WIRE_PER_DELIVERY,
    CONNECT_P50,
    CONNECT_P99,
    CONNECTS_PER_S,
    TCP_CONNECT_P50,
    TLS_HANDSHAKE_P50,
    UPGRADE_P50,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_every_volatile_metric_names_its_histogram() {
        let mut keys: Vec<&str> = METRICS.iter().map(|m| m.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), METRICS.len());
        for m in METRICS {
            if let Kind::Volatile { .. } = m.kind {
                // Its sample minimum counts this histogram's samples.
                assert!(
                    matches!(m.source, Source::Latency | Source::Connect),
                    "{}",
                    m.key
                );
            }
            // Per-block reading is what makes a figure judged by blocks: only timings.
            assert!(m.block.is_none() || m.kind.is_timing(), "{}", m.key);
        }
    }

    #[test]
    fn cells_have_the_metrics_decimals() {
        assert_eq!(DELIVERED_PER_S.format(99_900.4), "99900");
        assert_eq!(LOSS.format(0.15154), "15.154%");
        assert_eq!(MEMORY_PER_CONNECTION.format(3.33), "3.3");
        assert_eq!(LATENCY_P50.format(12.614), "12.61");
        assert_eq!(LATENCY_P50.title(), "p50 ms");
        assert_eq!(LOSS.title(), "loss");
    }
}
