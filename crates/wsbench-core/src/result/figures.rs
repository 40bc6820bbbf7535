//! Every derived figure of a result, computed in one place from what was counted.
//!
//! A run fills a [`Tally`] from its load generator and its processes; a merge reads each
//! shard's tally back with [`Tally::of`] and adds them up; both then derive the figures
//! with [`Tally::apply`], so that a merged result means exactly what a single-process one
//! does. `docs/method.md` says what each figure means.

use super::{
    Connections, Counts, LoadGenFigures, Messages, NodeFigures, ServerFigures, SystemRun,
    WireFigures,
};
use crate::CountersSnapshot;
use crate::histogram::LatencyHistogram;

/// Above this share of its CPU, the load generator, not the server, is what was measured.
pub const BOUND_THRESHOLD: f64 = 0.9;

/// `total / n`, or 0 when nothing was counted.
pub fn per(total: f64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { total / n as f64 }
}

/// Share of its usable cores a process used: CPU seconds over `window_s` of `cores` cores.
pub fn utilisation(cpu_s: f64, window_s: f64, cores: f64) -> f64 {
    if window_s > 0.0 {
        cpu_s / (window_s * cores.max(1.0))
    } else {
        0.0
    }
}

impl Messages {
    /// Share of expected deliveries lost; `None` when nothing was owed.
    pub fn loss_ratio(&self) -> Option<f64> {
        (self.expected > 0).then(|| self.lost as f64 / self.expected as f64)
    }
}

/// What one measurement counted: the inputs of every figure of a [`SystemRun`] but the
/// server's. Counts add up across shards; per-process shares take the highest.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Clients asked for.
    pub requested: u64,
    /// Connections and deliveries, as the load generator counted them.
    pub counts: Counts,
    /// The measured window, seconds (as planned, or the part that ran).
    pub measured_s: f64,
    /// Probes received over the measured window.
    pub received: u64,
    /// Wire bytes read over the window.
    pub bytes_read: u64,
    /// Wire bytes written over the window.
    pub bytes_written: u64,
    /// Where the bytes were counted ([`super::WIRE_COUNTED_AT_SOCKETS`], ...).
    pub wire_source: String,
    /// Bytes per probe.
    pub payload: u64,
    /// Load-generator worker threads.
    pub workers: u64,
    /// Load-generator CPU over the window, seconds.
    pub loadgen_cpu_s: f64,
    /// The busiest load-generator process's share of its usable cores.
    pub loadgen_utilisation: f64,
    /// Load-generator memory growth (heap in use, or RSS without an allocator count) from
    /// before connecting to all clients settled, bytes.
    pub loadgen_memory_growth: f64,
    /// How the clients read (a task per client, the default, where processes differed).
    pub io: crate::io_path::IoPath,
}

impl Tally {
    /// Reads back what a stored run of `payload`-byte probes counted (a shard's result, for
    /// a merge).
    pub fn of(run: &SystemRun, payload: u64) -> Tally {
        let histogram = |f| {
            let mut h = LatencyHistogram::default();
            h.merge_figures(f);
            h
        };
        let (c, m, l, w) = (&run.connections, &run.messages, &run.loadgen, &run.wire);
        Tally {
            requested: c.requested,
            counts: Counts {
                connected: c.connected,
                disconnected: c.disconnected,
                failures: c.failures.clone(),
                connect_time: histogram(&c.connect_time),
                connect_tcp: histogram(&c.tcp_time),
                connect_tls: histogram(&c.tls_time),
                connect_upgrade: histogram(&c.upgrade_time),
                compressed: c.compressed,
                tls_resumed: c.tls_resumed,
                connect_span_ns: (c.connect_span_s * 1e9).round() as u64,
                sent: m.sent,
                unsent: m.unsent,
                owed: m.expected,
                delivered: m.delivered,
                duplicated: m.duplicated,
                out_of_order: m.out_of_order,
                foreign: m.foreign,
                misrouted: m.misrouted,
                latency: histogram(&run.latency),
                send_lag: histogram(&run.send_lag),
            },
            measured_s: run.window.measured_s,
            received: l.received,
            bytes_read: w.bytes_read,
            bytes_written: w.bytes_written,
            wire_source: w.source.clone(),
            payload,
            workers: l.workers,
            loadgen_cpu_s: l.cpu_s,
            loadgen_utilisation: l.cpu_utilisation,
            loadgen_memory_growth: l.memory_per_client_bytes * c.connected as f64,
            io: l.io,
        }
    }

    /// Adds another process's tally of the same measurement (a shard).
    pub fn add(&mut self, o: &Tally) {
        self.requested += o.requested;
        self.counts.add(&o.counts);
        self.measured_s = self.measured_s.max(o.measured_s);
        self.received += o.received;
        self.bytes_read += o.bytes_read;
        self.bytes_written += o.bytes_written;
        if self.wire_source.is_empty() {
            self.wire_source = o.wire_source.clone();
        }
        self.payload = self.payload.max(o.payload);
        self.workers += o.workers;
        self.loadgen_cpu_s += o.loadgen_cpu_s;
        self.loadgen_utilisation = self.loadgen_utilisation.max(o.loadgen_utilisation);
        self.loadgen_memory_growth += o.loadgen_memory_growth;
        if self.io != o.io {
            self.io = crate::io_path::IoPath::Tokio;
        }
    }

    /// Connection figures.
    pub fn connections(&self) -> Connections {
        let c = &self.counts;
        let span_s = c.connect_span_ns as f64 / 1e9;
        Connections {
            requested: self.requested,
            connected: c.connected,
            disconnected: c.disconnected,
            failures: c.failures.clone(),
            connect_time: c.connect_time.figures(),
            tcp_time: c.connect_tcp.figures(),
            tls_time: c.connect_tls.figures(),
            upgrade_time: c.connect_upgrade.figures(),
            compressed: c.compressed,
            tls_resumed: c.tls_resumed,
            connect_span_s: span_s,
            connects_per_s: if span_s > 0.0 {
                c.connected as f64 / span_s
            } else {
                0.0
            },
        }
    }

    /// Delivery accounting: every sent probe is owed to every client of its scope asked
    /// for, connected or not, so loss is never hidden.
    pub fn messages(&self) -> Messages {
        let c = &self.counts;
        Messages {
            sent: c.sent,
            unsent: c.unsent,
            expected: c.owed,
            delivered: c.delivered,
            lost: c.owed.saturating_sub(c.delivered),
            duplicated: c.duplicated,
            out_of_order: c.out_of_order,
            foreign: c.foreign,
            misrouted: c.misrouted,
            delivered_per_s: if self.measured_s > 0.0 {
                c.delivered as f64 / self.measured_s
            } else {
                0.0
            },
        }
    }

    /// Bytes on the wire per probe received.
    pub fn wire(&self) -> WireFigures {
        let per_delivery = per(self.bytes_read as f64, self.received);
        WireFigures {
            bytes_read: self.bytes_read,
            bytes_written: self.bytes_written,
            bytes_per_delivery: per_delivery,
            overhead_ratio: per(per_delivery, self.payload),
            source: self.wire_source.clone(),
        }
    }

    /// The load generator's own cost.
    pub fn loadgen(&self) -> LoadGenFigures {
        LoadGenFigures {
            workers: self.workers,
            cpu_s: self.loadgen_cpu_s,
            cpu_utilisation: self.loadgen_utilisation,
            cpu_us_per_received: per(self.loadgen_cpu_s * 1e6, self.received),
            received: self.received,
            bound: self.loadgen_utilisation > BOUND_THRESHOLD,
            memory_per_client_bytes: per(self.loadgen_memory_growth, self.counts.connected),
            cpus: None,
            io: self.io,
            io_note: None,
        }
    }

    /// Writes every figure derived from the tally into `run`.
    pub fn apply(&self, run: &mut SystemRun) {
        run.connections = self.connections();
        run.messages = self.messages();
        run.latency = self.counts.latency.figures();
        run.send_lag = self.counts.send_lag.figures();
        run.wire = self.wire();
        // Why the path is epoll is the measuring process's to say; a merge keeps it.
        let io_note = run.loadgen.io_note.take();
        run.loadgen = self.loadgen();
        run.loadgen.io_note = io_note;
    }
}

/// What a server node's process did, as the runner observed it.
#[derive(Debug, Clone, Default)]
pub struct NodeSample {
    /// The node's figures.
    pub figures: NodeFigures,
    /// Its RSS over time: (seconds since sampling began, bytes).
    pub rss_samples: Vec<(f64, u64)>,
    /// Its counters when the measured window ended.
    pub counters_window_end: Option<CountersSnapshot>,
}

/// The server figures of a system of one or more nodes, every node alike: memory, CPU and
/// counters are the whole system's, the RSS peak the highest of any node; only the RSS
/// curve (for the chart) and the pid and CPU set are the first node's.
pub fn server_figures(
    nodes: &[NodeSample],
    connected: u64,
    delivered: u64,
) -> Option<ServerFigures> {
    let first = nodes.first()?;
    let grown: u64 = nodes
        .iter()
        .map(|n| {
            n.figures
                .rss_idle_bytes
                .saturating_sub(n.figures.rss_baseline_bytes)
        })
        .sum();
    let cpu_s: f64 = nodes.iter().map(|n| n.figures.cpu_s).sum();
    let sum = |get: fn(&NodeSample) -> u64| nodes.iter().map(get).sum::<u64>();
    let counters = |get: fn(&NodeSample) -> Option<CountersSnapshot>| {
        nodes.iter().filter_map(get).reduce(CountersSnapshot::plus)
    };
    // Every node alike: sizes and counts are the whole system's, the peak the highest any
    // node reached (what a limit per server checks); the RSS curve is the first node's.
    Some(ServerFigures {
        pid: first.figures.pid,
        rss_baseline_bytes: sum(|n| n.figures.rss_baseline_bytes),
        rss_idle_bytes: sum(|n| n.figures.rss_idle_bytes),
        rss_peak_bytes: nodes
            .iter()
            .map(|n| n.figures.rss_peak_bytes)
            .max()
            .unwrap_or(0),
        memory_per_connection_bytes: grown as f64 / connected.max(1) as f64,
        cpu_s,
        cpu_us_per_delivery: per(cpu_s * 1e6, delivered),
        // The runner says how the server wrote, where it knows.
        io: Default::default(),
        io_note: None,
        counters: counters(|n| n.figures.counters),
        counters_window_end: counters(|n| n.counters_window_end),
        rss_samples: first.rss_samples.clone(),
        cpus: first.figures.cpus.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(pid: u32, (baseline, idle, peak): (u64, u64, u64), cpu_s: f64) -> NodeSample {
        NodeSample {
            figures: NodeFigures {
                pid,
                clients: 50,
                rss_baseline_bytes: baseline,
                rss_idle_bytes: idle,
                rss_peak_bytes: peak,
                cpu_s,
                counters: None,
                killed_at_s: None,
                cpus: None,
            },
            rss_samples: Vec::new(),
            counters_window_end: None,
        }
    }

    /// A cluster's second node counts like its first: its peak was missed by a threshold
    /// on the server's RSS peak when only node 0's was kept.
    #[test]
    fn every_node_of_a_cluster_counts_alike() {
        let nodes = [
            node(1, (10_000, 30_000, 40_000), 1.0),
            node(2, (10_000, 50_000, 90_000), 3.0),
        ];
        let s = server_figures(&nodes, 100, 1_000_000).unwrap();
        assert_eq!(s.rss_peak_bytes, 90_000);
        assert_eq!((s.rss_baseline_bytes, s.rss_idle_bytes), (20_000, 80_000));
        assert_eq!(s.memory_per_connection_bytes, 600.0);
        assert_eq!(s.cpu_s, 4.0);
        assert_eq!(s.cpu_us_per_delivery, 4.0);
    }
}
