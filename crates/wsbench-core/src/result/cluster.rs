//! A clustered run's figures: every node's and Redis's.

use serde::{Deserialize, Serialize};

use crate::CountersSnapshot;
use crate::histogram::HistogramFigures;

/// A clustered run: every node's figures and Redis's. Deliveries and latency (in the
/// run's messages and latency) cross nodes: a client's broadcast reaches the clients of
/// the other nodes through Redis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClusterFigures {
    /// One entry per node, in node order (client `i` is on node `i % nodes`, unless a
    /// proxy in front placed the clients).
    pub nodes: Vec<NodeFigures>,
    /// Latency of the deliveries that crossed nodes through Redis (sender and receiver on
    /// different nodes), a subset of the run's latency.
    pub cross_node_latency: HistogramFigures,
    /// Redis's CPU over the measured window, seconds.
    pub redis_cpu_s: f64,
    /// Redis's peak RSS during the load, bytes.
    pub redis_rss_peak_bytes: u64,
}

/// One server node of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NodeFigures {
    /// Its process id.
    pub pid: u32,
    /// Clients asked to connect to it; behind a proxy, which placed them, the connections
    /// it counted (its counters' total).
    pub clients: u64,
    /// RSS before any client connected, bytes.
    #[serde(default)]
    pub rss_baseline_bytes: u64,
    /// RSS once its clients were connected and settled, bytes.
    pub rss_idle_bytes: u64,
    /// Peak RSS during the load, bytes.
    pub rss_peak_bytes: u64,
    /// CPU over the measured window (up to its death if killed), seconds.
    pub cpu_s: f64,
    /// Its counters at the end (absent if it was killed).
    pub counters: Option<CountersSnapshot>,
    /// When it was killed on purpose (`kill_node_at`), seconds into the measured window.
    pub killed_at_s: Option<f64>,
    /// The CPUs it could run on (`/proc`'s `Cpus_allowed_list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
}
