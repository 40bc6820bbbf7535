//! What a planned server failure (a reconnect scenario's outage) cost the clients.

use serde::{Deserialize, Serialize};

/// What a killed and restarted server cost its clients.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutageFigures {
    /// When the server was killed, seconds after the measured window began.
    pub killed_at_s: f64,
    /// From the kill until the new server was ready, seconds.
    pub down_s: f64,
    /// Clients connected just before the kill.
    pub clients_at_kill: u64,
    /// Of those, clients connected again by the end of the run.
    pub reconnected: u64,
    /// Seconds from the kill until half of the clients were back.
    pub back_p50_s: Option<f64>,
    /// Seconds from the kill until 99% of the clients were back.
    pub back_p99_s: Option<f64>,
    /// Seconds from the kill until every client was back; `None` if some never came back.
    pub back_all_s: Option<f64>,
    /// Reconnection attempts that failed (server down, refused, timed out).
    pub failed_attempts: u64,
    /// Deliveries owed for probes due from the kill until every client was back (or the
    /// window's end).
    pub owed_during: u64,
    /// Of those, deliveries that arrived (late or not).
    pub delivered_during: u64,
    /// Probes the application sent while its client was disconnected and the client
    /// discarded (raw WebSocket has no send buffer).
    pub discarded: u64,
    /// Probes sent while disconnected that the client buffered and wrote once reconnected
    /// (socket.io-client's send buffer).
    pub buffered: u64,
    /// How the clients reconnect, for readers of the report.
    pub reconnection: String,
}
