//! How many bytes may wait to be written to clients: per connection and for the whole
//! server (docs/method.md, "Bounds and policies").
//!
//! A bound in messages alone lets one client hold `capacity × max message size` (64 MiB with
//! the defaults), and nothing bounds the sum over clients. Both servers therefore bound the
//! bytes that wait for each connection, its own replies (pongs, echoes) included, and the
//! bytes that wait over all of them; what would pass either bound meets the overflow policy,
//! and a connection whose own replies back up is not read until it reads them (the client
//! is pushed back on, through TCP).

use std::sync::atomic::{AtomicU64, Ordering};

/// Default bound per connection: 10,000 clients that all stop reading hold at most
/// 1.25 GiB, under a 2 GiB server's memory.
pub const DEFAULT_QUEUE_BYTES: u64 = 128 * 1024;
/// Default bound over a whole server.
pub const DEFAULT_SERVER_QUEUE_BYTES: u64 = 1024 * 1024 * 1024;

/// The two byte bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueBytes {
    /// Bytes that may wait for one connection. A message larger than this still goes to
    /// a connection for which nothing waits (the bound is on backlog, not on size).
    pub per_connection: u64,
    /// Bytes that may wait over all of a server's connections.
    pub server: u64,
}

impl Default for QueueBytes {
    fn default() -> Self {
        QueueBytes {
            per_connection: DEFAULT_QUEUE_BYTES,
            server: DEFAULT_SERVER_QUEUE_BYTES,
        }
    }
}

/// The bytes waiting over a whole server, which each connection adds its own to.
#[derive(Debug, Default)]
pub struct Waiting {
    bytes: AtomicU64,
}

impl Waiting {
    /// `n` more bytes wait.
    pub fn add(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` bytes no longer wait (written, or dropped).
    pub fn sub(&self, n: u64) {
        self.bytes.fetch_sub(n, Ordering::Relaxed);
    }

    /// Bytes waiting now.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_full_connections_fit_in_two_gib() {
        let b = QueueBytes::default();
        assert!(10_000 * b.per_connection < 2 * 1024 * 1024 * 1024);
        assert!(b.server <= 2 * 1024 * 1024 * 1024);
        let w = Waiting::default();
        w.add(10);
        w.sub(4);
        assert_eq!(w.bytes(), 6);
    }
}
