//! A test aid, never a measurement: makes a server worse on purpose, so that a test or a
//! person can check that `wsbench compare` catches a real regression (docs/method.md,
//! "Testing the gate"). `wsbench serve --handicap-us` and `--handicap-wire-bytes` (or the
//! environment variables of the same names, which `wsbench run` passes to the servers it
//! starts) set it; a run records it in its method.

/// The environment variable of [`Handicap::burn_ns`], in µs (fractions allowed).
pub const ENV_BURN_US: &str = "WSBENCH_HANDICAP_US";
/// The environment variable of [`Handicap::pad_bytes`].
pub const ENV_WIRE_BYTES: &str = "WSBENCH_HANDICAP_WIRE_BYTES";

/// How much worse a server is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handicap {
    /// CPU burnt per delivery, ns, on the thread that relays the message.
    pub burn_ns: u64,
    /// Extra bytes on the wire per delivery: the raw-WebSocket server writes an unsolicited
    /// pong (RFC 6455 5.5.3: allowed, and ignored by clients) of this many payload bytes
    /// before each message. The Socket.IO server ignores it.
    pub pad_bytes: usize,
}

impl Handicap {
    /// A handicap of `burn_us` µs of CPU and `pad_bytes` bytes per delivery.
    pub fn new(burn_us: f64, pad_bytes: usize) -> Handicap {
        Handicap {
            burn_ns: (burn_us.max(0.0) * 1e3) as u64,
            pad_bytes: pad_bytes.min(125),
        }
    }

    /// Whether it does nothing.
    pub fn is_none(&self) -> bool {
        self.burn_ns == 0 && self.pad_bytes == 0
    }

    /// Burns `deliveries` times [`Self::burn_ns`] of this thread's CPU time (CPU, not wall
    /// time: a preempted thread burns on once it runs again).
    pub fn burn(&self, deliveries: u64) {
        let target = self.burn_ns.saturating_mul(deliveries);
        if target == 0 {
            return;
        }
        let start = crate::clock::thread_cpu_ns();
        while crate::clock::thread_cpu_ns().saturating_sub(start) < target {
            std::hint::spin_loop();
        }
    }

    /// As a method line says it.
    pub fn describe(&self) -> String {
        format!(
            "servers handicapped on purpose (a test aid, not a measurement): {:.3} µs of CPU \
             burnt per delivery, {} extra wire bytes per raw-WebSocket delivery",
            self.burn_ns as f64 / 1e3,
            self.pad_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::thread_cpu_ns;

    #[test]
    fn burning_takes_at_least_the_cpu_asked_for() {
        let h = Handicap::new(200.0, 0);
        let start = thread_cpu_ns();
        h.burn(10);
        assert!(thread_cpu_ns() - start >= 2_000_000);
        assert!(Handicap::default().is_none() && !h.is_none());
        assert_eq!(Handicap::new(0.0, 500).pad_bytes, 125);
    }
}
