//! What a planned server failure (a reconnect scenario's outage) cost the clients.

use serde::{Deserialize, Serialize};

use super::DeliveryTimeline;

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

/// What the runner recorded of an outage, on the load generator's clock (ns): the inputs
/// of [`OutageFigures::derive`].
#[derive(Debug, Clone, Default)]
pub struct OutageInputs {
    /// When the server was killed.
    pub kill_ns: u64,
    /// When the new server was ready.
    pub ready_ns: u64,
    /// Clients connected just before the kill.
    pub clients_at_kill: u64,
    /// When each client that lost its connection at or after the kill was ready again
    /// (`None`: never).
    pub returns: Vec<Option<u64>>,
    /// The measured window.
    pub window_ns: (u64, u64),
    /// Reconnection attempts that failed.
    pub failed_attempts: u64,
    /// Probes discarded while disconnected.
    pub discarded: u64,
    /// Probes buffered while disconnected and written on reconnect.
    pub buffered: u64,
}

impl OutageFigures {
    /// The recovery from `record`: when the clients were back (the k-th return for a share
    /// k/n of the clients connected at the kill), and what was owed and delivered from the
    /// kill until every client was back (or the window's end), from `deliveries`.
    pub fn derive(record: &OutageInputs, deliveries: &DeliveryTimeline) -> OutageFigures {
        let secs = |ns: u64| ns as f64 / 1e9;
        let mut back: Vec<f64> = record
            .returns
            .iter()
            .flatten()
            .map(|b| secs(b.saturating_sub(record.kill_ns)))
            .collect();
        back.sort_by(f64::total_cmp);
        let n = record.clients_at_kill;
        let until = |share: f64| {
            let k = ((share * n as f64).ceil() as usize).max(1);
            back.get(k - 1).copied()
        };
        let (start, end) = record.window_ns;
        let killed_at_s = secs(record.kill_ns.saturating_sub(start));
        let window_s = secs(end.saturating_sub(start));
        let back_all_s = until(1.0);
        let (owed_during, delivered_during) = deliveries.between(
            killed_at_s,
            back_all_s.map_or(window_s, |b| (killed_at_s + b).min(window_s)),
        );
        OutageFigures {
            killed_at_s,
            down_s: secs(record.ready_ns.saturating_sub(record.kill_ns)),
            clients_at_kill: n,
            reconnected: back.len() as u64,
            back_p50_s: until(0.5),
            back_p99_s: until(0.99),
            back_all_s,
            failed_attempts: record.failed_attempts,
            owed_during,
            delivered_during,
            discarded: record.discarded,
            buffered: record.buffered,
            reconnection: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four clients at the kill, back 1, 2 and 4 s after it, one never: half were back at
    /// 2 s, not all ever; what was owed from the kill to the window's end counts.
    #[test]
    fn recovery_is_the_kth_return_of_the_clients_at_the_kill() {
        let s = 1_000_000_000;
        let record = OutageInputs {
            kill_ns: 3 * s,
            ready_ns: 4 * s,
            clients_at_kill: 4,
            returns: vec![Some(4 * s), Some(5 * s), Some(7 * s), None],
            window_ns: (s, 11 * s),
            ..OutageInputs::default()
        };
        let deliveries = DeliveryTimeline {
            bucket_s: 1.0,
            owed: vec![10; 10],
            delivered: vec![10, 10, 0, 0, 5, 10, 10, 10, 10, 10],
        };
        let o = OutageFigures::derive(&record, &deliveries);
        assert_eq!((o.killed_at_s, o.down_s, o.reconnected), (2.0, 1.0, 3));
        assert_eq!((o.back_p50_s, o.back_all_s), (Some(2.0), None));
        assert_eq!((o.owed_during, o.delivered_during), (80, 55));
    }
}
