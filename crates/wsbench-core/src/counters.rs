//! Live counters of a server under test.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Counters a server updates while it runs, readable at any time without stopping it.
///
/// Relaxed atomics: each field is exact on its own, and a snapshot taken mid-run is only a
/// sample, so no ordering between fields is promised.
#[derive(Debug, Default)]
pub struct ServerCounters {
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    messages_received: AtomicU64,
    deliveries_sent: AtomicU64,
    deliveries_dropped: AtomicU64,
    slow_clients_disconnected: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

/// A point-in-time copy of [`ServerCounters`], as reported to a parent process.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct CountersSnapshot {
    /// Clients connected right now.
    pub connections_open: u64,
    /// Clients that ever completed the handshake.
    pub connections_total: u64,
    /// Application messages received from clients.
    pub messages_received: u64,
    /// Messages handed to a client's connection for writing.
    pub deliveries_sent: u64,
    /// Messages not delivered because a client's outgoing queue was full.
    pub deliveries_dropped: u64,
    /// Clients disconnected because their outgoing queue was full.
    pub slow_clients_disconnected: u64,
    /// Bytes read at the server's client sockets (TCP payload: every frame, header and
    /// long-polling request).
    #[serde(default)]
    pub bytes_read: u64,
    /// Bytes written at the server's client sockets.
    #[serde(default)]
    pub bytes_written: u64,
}

impl CountersSnapshot {
    /// The counters of two servers together (the nodes of a cluster).
    pub fn plus(self, o: CountersSnapshot) -> CountersSnapshot {
        CountersSnapshot {
            connections_open: self.connections_open + o.connections_open,
            connections_total: self.connections_total + o.connections_total,
            messages_received: self.messages_received + o.messages_received,
            deliveries_sent: self.deliveries_sent + o.deliveries_sent,
            deliveries_dropped: self.deliveries_dropped + o.deliveries_dropped,
            slow_clients_disconnected: self.slow_clients_disconnected + o.slow_clients_disconnected,
            bytes_read: self.bytes_read + o.bytes_read,
            bytes_written: self.bytes_written + o.bytes_written,
        }
    }
}

impl ServerCounters {
    /// A client completed its handshake.
    pub fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        self.connections_total.fetch_add(1, Ordering::Relaxed);
    }

    /// A client that had been counted by [`Self::connection_opened`] is gone.
    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// One application message arrived from a client.
    pub fn message_received(&self) {
        self.messages_received(1);
    }

    /// `n` application messages arrived from a client.
    pub fn messages_received(&self, n: u64) {
        self.messages_received.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` messages were handed to clients' connections.
    pub fn deliveries_sent(&self, n: u64) {
        self.deliveries_sent.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` messages were dropped on full queues.
    pub fn deliveries_dropped(&self, n: u64) {
        self.deliveries_dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// A client was disconnected for not keeping up.
    pub fn slow_client_disconnected(&self) {
        self.slow_clients_disconnected
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            connections_open: self.connections_open.load(Ordering::Relaxed),
            connections_total: self.connections_total.load(Ordering::Relaxed),
            messages_received: self.messages_received.load(Ordering::Relaxed),
            deliveries_sent: self.deliveries_sent.load(Ordering::Relaxed),
            deliveries_dropped: self.deliveries_dropped.load(Ordering::Relaxed),
            slow_clients_disconnected: self.slow_clients_disconnected.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }
}

impl crate::counting::ByteCounter for ServerCounters {
    fn add_read(&self, n: u64) {
        self.bytes_read.fetch_add(n, Ordering::Relaxed);
    }
    fn add_written(&self, n: u64) {
        self.bytes_written.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reflects_every_update() {
        let c = ServerCounters::default();
        c.connection_opened();
        c.connection_opened();
        c.connection_closed();
        c.message_received();
        c.deliveries_sent(5);
        c.deliveries_dropped(2);
        c.slow_client_disconnected();
        assert_eq!(
            c.snapshot(),
            CountersSnapshot {
                connections_open: 1,
                connections_total: 2,
                messages_received: 1,
                deliveries_sent: 5,
                deliveries_dropped: 2,
                slow_clients_disconnected: 1,
                bytes_read: 0,
                bytes_written: 0,
            }
        );
    }
}
