//! The result of a run: one serializable type from the runner to every report.
//!
//! It is complete on purpose: the scenario as run, the environment, every figure and the
//! serialized histograms, so that a result can be re-rendered, merged or re-analysed later.
//! Every derived figure is computed in one place, [`figures`], from what was counted.

pub mod blocks;
pub mod calibration;
mod cluster;
mod counts;
pub mod figures;
mod floor;
mod outage;
mod proxy;
mod search;
pub mod validity;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use self::blocks::{Block, BoundaryReadings};
pub use self::calibration::Calibration;
pub use self::cluster::{ClusterFigures, NodeFigures};
pub use self::counts::Counts;
pub use self::floor::Floor;
pub use self::outage::{OutageFigures, OutageInputs};
pub use self::proxy::ProxyFigures;
pub use self::search::{CommonLoad, SearchOutcome};
pub use self::validity::{Backlog, Validity};
use crate::CountersSnapshot;
use crate::histogram::HistogramFigures;
use crate::scenario::Scenario;
use crate::shard::Shard;
use crate::system::SystemName;

/// Version of this format; bumped on any change a reader must know about. Version 2 added
/// each run's `validity` and `backlog`, blocks' wait shares, and the `degraded` status
/// (version 1 results still read: their runs are taken as valid).
pub const SCHEMA_VERSION: u32 = 2;

/// The oldest version this wsbench reads (and compares with the current one).
pub const OLDEST_READABLE_SCHEMA: u32 = 1;

/// The JSON Schema of [`RunResult`], committed as `results/schema.json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RunResult)).expect("a schema is JSON")
}

/// One `wsbench run`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunResult {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// Version of the wsbench that wrote it.
    pub wsbench_version: String,
    /// Whether the run finished, and how.
    pub status: Status,
    /// UTC start, RFC 3339.
    pub started_at: String,
    /// UTC end, RFC 3339; absent while running.
    pub finished_at: Option<String>,
    /// Where and with what it ran.
    pub environment: Environment,
    /// How the figures were obtained, in words, for the report.
    pub method: Vec<String>,
    /// The scenario exactly as run (overrides applied).
    pub scenario: Scenario,
    /// One entry per system and repeat, in the order they ran.
    pub runs: Vec<SystemRun>,
    /// What a saturation search found, per system (empty without one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<SearchOutcome>,
    /// The load every searched system was compared at after its search (absent without a
    /// search, or with `common_load = 0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_load: Option<CommonLoad>,
    /// The part of a sharded run this result is (absent for a whole run or a merge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// The shard results a `wsbench merge` added up (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// Each limit of the scenario's `[thresholds]`, per system: the value and whether it
    /// held (empty without thresholds, or while running).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<ThresholdCheck>,
}

/// One limit of the scenario's `[thresholds]` checked against one system's median over
/// its complete repeats. The limit and the value are in the same unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ThresholdCheck {
    /// The system.
    #[serde(rename = "transport")]
    pub system: SystemName,
    /// The system and sweep point, as reports name them.
    pub label: String,
    /// What was limited, as the scenario says it: `p99 <= 100ms`.
    pub limit: String,
    /// The limit as a number, in `unit`.
    pub bound: f64,
    /// The measured value in `unit`; `None` when not measured (which fails the check).
    pub value: Option<f64>,
    /// The unit of `bound` and `value`: ms, share, msg/s, bytes.
    pub unit: String,
    /// Whether the limit held.
    pub pass: bool,
}

/// A run read from a result written before validity was recorded: taken as valid.
fn valid() -> Validity {
    Validity::of(Vec::new())
}

impl Status {
    /// Whether everything was measured as planned (valid or not): its figures are whole.
    pub fn measured(self) -> bool {
        matches!(self, Status::Complete | Status::Degraded)
    }

    /// A measured run's status given its `validity` (complete or degraded); any other
    /// status as it is.
    pub fn judged(self, validity: &Validity) -> Status {
        match self {
            Status::Complete | Status::Degraded if validity.valid => Status::Complete,
            Status::Complete | Status::Degraded => Status::Degraded,
            other => other,
        }
    }
}

/// How a run or one system's part of it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Still going (a result written between systems).
    Running,
    /// Everything measured as planned.
    Complete,
    /// Measured as planned, but its figures cannot carry a verdict (a busy machine, a
    /// starved load generator, a loss): the run's `validity` says why.
    Degraded,
    /// Something broke (the reason is recorded); figures are partial.
    Failed,
    /// Stopped by the user; figures are partial.
    Interrupted,
}

/// Provenance: what a figure depends on besides the code.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Environment {
    /// Host name.
    pub hostname: String,
    /// CPU model from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Cores the process may use.
    pub cores: u64,
    /// Kernel release.
    pub kernel: String,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// Compiler that built wsbench.
    pub rustc: String,
    /// Versions of the server and client crates compiled in.
    pub crates: BTreeMap<String, String>,
    /// Git commit of the working tree wsbench ran in, if any.
    pub git_commit: Option<String>,
    /// Whether that tree had uncommitted changes.
    pub git_dirty: Option<bool>,
    /// Soft and hard `RLIMIT_NOFILE` during the run.
    pub open_files_limit: [u64; 2],
    /// Whether wsbench was built with optimisations.
    pub release_build: bool,
    /// Where CPU times come from: per-thread schedstat (ns) or stat (10 ms ticks).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cpu_source: String,
    /// The machine's speed at the start and end of the run, which timings are judged
    /// against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// The kernel's floor under each side on this machine, measured by this run
    /// (`--floor`) or read from the machine's cache: what the report's ratios are to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<Floor>,
}

/// The measured window of one system run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Window {
    /// Warm-up before it, seconds (sent and received, not counted).
    pub warmup_s: f64,
    /// Its length, seconds.
    pub measured_s: f64,
    /// Drain after it, seconds.
    pub drain_s: f64,
}

/// Connection figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Connections {
    /// Clients asked for.
    pub requested: u64,
    /// Clients that completed every handshake.
    pub connected: u64,
    /// Clients lost after connecting, before the drain ended.
    pub disconnected: u64,
    /// Failed connection attempts by kind (refused, timeout, handshake, ...).
    pub failures: BTreeMap<String, u64>,
    /// Time from TCP connect to ready (WebSocket handshake; for Socket.IO also engine.io
    /// open and namespace connect).
    pub connect_time: HistogramFigures,
    /// Of that, the TCP connect (lean clients; absent for rust_socketio's).
    #[serde(default, skip_serializing_if = "HistogramFigures::is_empty")]
    pub tcp_time: HistogramFigures,
    /// Of that, the TLS handshake (lean clients over TLS).
    #[serde(default, skip_serializing_if = "HistogramFigures::is_empty")]
    pub tls_time: HistogramFigures,
    /// Of that, the WebSocket upgrade, request to 101 (lean clients); the protocol's own
    /// handshake is the rest.
    #[serde(default, skip_serializing_if = "HistogramFigures::is_empty")]
    pub upgrade_time: HistogramFigures,
    /// Connections (reconnections included) on which the server accepted the
    /// permessage-deflate its client offered (`compression = true`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub compressed: u64,
    /// Connections (reconnections included) whose TLS handshake resumed a session the
    /// client was given before (`tls_resumption = true`); the rest were full handshakes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tls_resumed: u64,
    /// From the first connection attempt to the last client ready, seconds: how long the
    /// whole population took to connect.
    #[serde(default)]
    pub connect_span_s: f64,
    /// `connected / connect_span_s`: the connection rate reached (a storm's headline; with a
    /// paced ramp it is the ramp's rate).
    #[serde(default)]
    pub connects_per_s: f64,
}

/// Delivery accounting over the measured window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Messages {
    /// Probes due in the window that the senders wrote.
    pub sent: u64,
    /// Probes due in the window that could not be written (sender gone).
    pub unsent: u64,
    /// Deliveries owed: every sent probe to every receiver in scope.
    pub expected: u64,
    /// Distinct deliveries that arrived.
    pub delivered: u64,
    /// `expected - delivered`.
    pub lost: u64,
    /// Deliveries that arrived more than once.
    pub duplicated: u64,
    /// Deliveries that arrived after a later one of the same sender.
    pub out_of_order: u64,
    /// Messages that were not probes (a welcome text, say).
    pub foreign: u64,
    /// Probes that reached a client outside their scope (another room; someone else's
    /// echo): an isolation error that fails the run.
    #[serde(default)]
    pub misrouted: u64,
    /// Delivered per second of the measured window.
    pub delivered_per_s: f64,
}

/// The server process's memory and CPU.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServerFigures {
    /// Process id of the `wsbench serve` child.
    pub pid: u32,
    /// RSS before any client connected, bytes (a cluster's nodes together).
    pub rss_baseline_bytes: u64,
    /// RSS with every client connected and settled, bytes (a cluster's nodes together).
    pub rss_idle_bytes: u64,
    /// Highest RSS sampled during load, bytes (in a cluster, the highest of any node).
    pub rss_peak_bytes: u64,
    /// `(idle - baseline) / connected clients`, bytes.
    pub memory_per_connection_bytes: f64,
    /// CPU (user + system) used in the measured window, seconds.
    pub cpu_s: f64,
    /// Server CPU per delivered message, µs: the headline efficiency figure.
    pub cpu_us_per_delivery: f64,
    /// How it wrote its broadcasts (`wsbench serve ws --io`): `epoll` for every other
    /// server, and for ws where io_uring was not used.
    #[serde(default)]
    pub io: crate::io_path::SendPath,
    /// Why it wrote by `send` where io_uring was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_note: Option<String>,
    /// Server counters at the end of the run (a cluster's nodes added up).
    pub counters: Option<CountersSnapshot>,
    /// Server counters when the measured window ended, before clients closed: who was
    /// still connected under load (slow consumers a heartbeat dropped are gone by then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters_window_end: Option<CountersSnapshot>,
    /// (seconds since the server started, RSS bytes), sampled at 10 Hz.
    pub rss_samples: Vec<(f64, u64)>,
    /// The CPUs it could run on (`/proc`'s `Cpus_allowed_list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
}

/// The load generator's own cost, to tell when it, not the server, was the limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadGenFigures {
    /// Worker threads.
    pub workers: u64,
    /// How its clients read (`--io`): per client on epoll, or batched on io_uring.
    #[serde(default)]
    pub io: crate::io_path::IoPath,
    /// Why the clients read on epoll where io_uring was asked for (`--io uring`, or
    /// `auto` where the kernel refused a ring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_note: Option<String>,
    /// CPU used in the measured window, seconds.
    pub cpu_s: f64,
    /// `cpu_s / (window × usable cores)`.
    pub cpu_utilisation: f64,
    /// Load-generator CPU per received message, µs.
    pub cpu_us_per_received: f64,
    /// Probes the load generator received over the measured window (whatever their due
    /// time): what its CPU and the wire bytes are divided by.
    #[serde(default)]
    pub received: u64,
    /// Over 90%: the figures describe the harness, not the server.
    pub bound: bool,
    /// Load-generator memory growth from before connecting to all clients settled, per
    /// client, bytes: what one client costs the harness. Heap bytes in use where the C
    /// library counts them (glibc), RSS growth elsewhere (docs/method.md).
    pub memory_per_client_bytes: f64,
    /// The CPUs it could run on (`/proc`'s `Cpus_allowed_list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
}

/// [`WireFigures::source`] when the bytes were counted at the load generator's sockets.
pub const WIRE_COUNTED_AT_SOCKETS: &str = "client sockets";
/// [`WireFigures::source`] when the clients own their sockets (rust_socketio) and the bytes
/// were counted at the server's end of the same connections instead: the server's writes are
/// the clients' reads.
pub const WIRE_COUNTED_AT_SERVER: &str = "server sockets";

/// Bytes on the wire, counted at the client sockets over the measured window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WireFigures {
    /// Read by all clients.
    pub bytes_read: u64,
    /// Written by all clients.
    pub bytes_written: u64,
    /// Read bytes per delivered message.
    pub bytes_per_delivery: f64,
    /// `bytes_per_delivery / payload`.
    pub overhead_ratio: f64,
    /// Where the bytes were counted.
    pub source: String,
}

impl WireFigures {
    /// Whether bytes were counted at all (at either end of the connections).
    pub fn measured(&self) -> bool {
        (self.source == WIRE_COUNTED_AT_SOCKETS || self.source == WIRE_COUNTED_AT_SERVER)
            && self.bytes_per_delivery > 0.0
    }
}

/// A sweep point as text: `clients=1000 rate=10` (empty without a sweep).
pub fn point_label(point: &BTreeMap<String, f64>) -> String {
    point
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One system's measurement (one repeat).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "TransportRun")] // the schema's name for it, kept stable
pub struct SystemRun {
    /// The system measured (its name).
    #[serde(rename = "transport")]
    pub system: SystemName,
    /// How its clients spoke to it. Absent from results written before it was recorded,
    /// where the scenario's systems say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<crate::system::Protocol>,
    /// Whether its clients spoke TLS to it (`wss://`, `https://`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    /// Whether its clients, over TLS, offered the session they were last given when they
    /// reconnected (`tls_resumption`; `connections.tls_resumed` counts those the server
    /// resumed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_resumption: bool,
    /// Whether its clients offered permessage-deflate (`connections.compressed` says on
    /// how many connections the server accepted it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compression: bool,
    /// Which repeat, from 0.
    pub repeat: u64,
    /// The sweep point: the value of each swept field (empty without a sweep).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub point: BTreeMap<String, f64>,
    /// How it ended.
    pub status: Status,
    /// Why it failed or was cut short.
    pub error: Option<String>,
    /// The server measured: built-in `wsbench serve` or a target URL.
    pub server_url: String,
    /// The measured window.
    pub window: Window,
    /// Connections.
    pub connections: Connections,
    /// Accounting.
    pub messages: Messages,
    /// Receive time minus intended send time, measured-window probes.
    pub latency: HistogramFigures,
    /// Actual minus intended send time.
    pub send_lag: HistogramFigures,
    /// Server process figures; absent for an external target.
    pub server: Option<ServerFigures>,
    /// Load-generator figures.
    pub loadgen: LoadGenFigures,
    /// Wire bytes.
    pub wire: WireFigures,
    /// Deliveries owed and made over the measured window, by intended send time.
    #[serde(default, skip_serializing_if = "DeliveryTimeline::is_empty")]
    pub timeline: DeliveryTimeline,
    /// The measured window in blocks of equal length: the per-window samples statistics
    /// are drawn from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    /// Whether its figures can carry a verdict, and why not.
    #[serde(default = "valid")]
    pub validity: Validity,
    /// Where deliveries not made by the drain's end were: what a loss is attributed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<Backlog>,
    /// The planned server failure and the recovery from it (reconnect scenarios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<OutageFigures>,
    /// Per node and Redis, when the server ran as a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterFigures>,
    /// The proxy in front of its server (`[proxy]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyFigures>,
}

/// Deliveries owed and made, bucketed by the intended send time of their probes from the
/// start of the measured window: where in time messages were lost (an outage's dip, a late
/// flush of buffered messages).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeliveryTimeline {
    /// Width of a bucket, seconds.
    pub bucket_s: f64,
    /// Deliveries owed for probes due in each bucket.
    pub owed: Vec<u64>,
    /// Deliveries made of probes due in each bucket (whenever they arrived).
    pub delivered: Vec<u64>,
}

impl DeliveryTimeline {
    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.owed.is_empty() && self.delivered.is_empty()
    }

    /// Adds `other`'s counts bucket by bucket (same bucket width: one scenario's shards).
    pub fn add(&mut self, other: &DeliveryTimeline) {
        for (into, from) in [
            (&mut self.owed, &other.owed),
            (&mut self.delivered, &other.delivered),
        ] {
            if into.len() < from.len() {
                into.resize(from.len(), 0);
            }
            for (a, b) in into.iter_mut().zip(from) {
                *a += b;
            }
        }
    }

    /// (owed, delivered) for probes due from `from_s` to `to_s` after the window's start.
    pub fn between(&self, from_s: f64, to_s: f64) -> (u64, u64) {
        if self.bucket_s <= 0.0 {
            return (0, 0);
        }
        let first = (from_s / self.bucket_s).floor().max(0.0) as usize;
        let last = (to_s / self.bucket_s).ceil().max(0.0) as usize;
        let sum = |v: &[u64]| v.iter().skip(first).take(last.saturating_sub(first)).sum();
        (sum(&self.owed), sum(&self.delivered))
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
