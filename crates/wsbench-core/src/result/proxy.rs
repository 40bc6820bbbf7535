//! What the proxy in front of a system did (`[proxy]`), measured like a server: its whole
//! process tree's CPU over the measured window and its peak memory while traffic ran.

use serde::{Deserialize, Serialize};

/// The proxy's figures for one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProxyFigures {
    /// What it was (`nginx 1.22.1`).
    pub software: String,
    /// Whether it passed the WebSocket upgrade on.
    pub upgrade: bool,
    /// Whether the clients spoke TLS to it (a system served over TLS): it terminates the
    /// clients' TLS and speaks TLS again to the server, as a proxy in front of an https
    /// backend does.
    #[serde(default)]
    pub tls: bool,
    /// Where the clients connected: the proxy, in front of `server_url`.
    pub url: String,
    /// Its CPU over the measured window, seconds (master and workers).
    pub cpu_s: f64,
    /// That per delivery, µs.
    pub cpu_us_per_delivery: f64,
    /// Its highest memory (RSS of master and workers) while traffic ran, bytes.
    pub rss_peak_bytes: u64,
    /// How many server nodes it was in front of (1 without a cluster).
    #[serde(default = "one")]
    pub nodes: u64,
    /// In front of a cluster: whether it kept each client on one node (hashed on the
    /// client's address) rather than spreading requests round robin.
    #[serde(default)]
    pub sticky: bool,
    /// Its answers with an error status (4xx, 5xx), by status, over the whole run: what a
    /// client was refused and why, as the proxy saw it (a server's own 400 passed on, or
    /// the proxy's 502 when no server answered).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub failed: std::collections::BTreeMap<u16, u64>,
}

fn one() -> u64 {
    1
}
