//! What a measurement counted of its connections and messages: one type for the load
//! generator's workers (merged into one process's report) and for a run's [`Tally`]
//! (merged over shards), so that counts are added up in one place.
//!
//! [`Tally`]: super::figures::Tally

use std::collections::BTreeMap;

use crate::histogram::LatencyHistogram;

/// Connection and delivery counts of one worker, one process, or shards added up.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Clients that connected.
    pub connected: u64,
    /// Clients lost after connecting.
    pub disconnected: u64,
    /// Failed connection attempts by kind (`ConnectFailure::as_str`).
    pub failures: BTreeMap<String, u64>,
    /// Connection setup times.
    pub connect_time: LatencyHistogram,
    /// The TCP connect of each lean client's setup.
    pub connect_tcp: LatencyHistogram,
    /// The TLS handshake of each lean client's setup, over TLS.
    pub connect_tls: LatencyHistogram,
    /// The WebSocket upgrade of each lean client's setup.
    pub connect_upgrade: LatencyHistogram,
    /// TLS handshakes in which the server resumed the client's session.
    pub tls_resumed: u64,
    /// Connections on which the server accepted the permessage-deflate the client offered.
    pub compressed: u64,
    /// From the first connection attempt to the last client ready, ns (the longest of the
    /// processes added up: they connect side by side).
    pub connect_span_ns: u64,
    /// Measured-window probes written by senders.
    pub sent: u64,
    /// Measured-window probes a sender could not write.
    pub unsent: u64,
    /// Deliveries owed for the probes sent: each probe times its recipients in scope.
    pub owed: u64,
    /// Distinct measured-window deliveries.
    pub delivered: u64,
    /// Repeated deliveries.
    pub duplicated: u64,
    /// Deliveries after a later probe of the same sender.
    pub out_of_order: u64,
    /// Messages that were not probes of this run.
    pub foreign: u64,
    /// Probes that reached a client outside their scope (another room, not the sender).
    pub misrouted: u64,
    /// Receive time minus intended time, measured-window probes.
    pub latency: LatencyHistogram,
    /// Actual minus intended send time, every probe sent.
    pub send_lag: LatencyHistogram,
}

impl Counts {
    /// Adds the counts of another worker, process or shard of the same measurement.
    pub fn add(&mut self, o: &Counts) {
        self.connected += o.connected;
        self.disconnected += o.disconnected;
        for (kind, n) in &o.failures {
            *self.failures.entry(kind.clone()).or_default() += n;
        }
        self.connect_time.merge(&o.connect_time);
        self.connect_tcp.merge(&o.connect_tcp);
        self.connect_tls.merge(&o.connect_tls);
        self.connect_upgrade.merge(&o.connect_upgrade);
        self.compressed += o.compressed;
        self.tls_resumed += o.tls_resumed;
        self.connect_span_ns = self.connect_span_ns.max(o.connect_span_ns);
        self.sent += o.sent;
        self.unsent += o.unsent;
        self.owed += o.owed;
        self.delivered += o.delivered;
        self.duplicated += o.duplicated;
        self.out_of_order += o.out_of_order;
        self.foreign += o.foreign;
        self.misrouted += o.misrouted;
        self.latency.merge(&o.latency);
        self.send_lag.merge(&o.send_lag);
    }

    /// One failed connection attempt of `kind`.
    pub fn failed(&mut self, kind: &str) {
        *self.failures.entry(kind.to_owned()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts add up field by field; the connect span is the longest, not the sum.
    #[test]
    fn counts_add_up_and_spans_overlap() {
        let mut a = Counts {
            connected: 3,
            sent: 10,
            owed: 20,
            delivered: 19,
            connect_span_ns: 5,
            ..Counts::default()
        };
        a.failed("refused");
        a.latency.record_ns(1_000);
        let mut b = a.clone();
        b.connect_span_ns = 9;
        b.failed("refused");
        b.failed("timeout");
        a.add(&b);
        assert_eq!((a.connected, a.sent, a.owed, a.delivered), (6, 20, 40, 38));
        assert_eq!(a.connect_span_ns, 9);
        assert_eq!(a.failures["refused"], 3);
        assert_eq!(a.failures["timeout"], 1);
        assert_eq!(a.latency.len(), 2);
    }
}
