//! Reconnection delays: jittered exponential backoff, as socket.io-client's `Backoff` computes
//! them, so that both transports' clients come back on the same schedule after an outage and
//! only the transports differ.

use std::time::Duration;

/// The reconnection schedule of one client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first attempt.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
    /// Share of a delay that is randomised either way (socket.io-client: 0.5), so that
    /// thousands of clients do not retry in lockstep.
    pub jitter: f64,
}

impl Backoff {
    /// socket.io-client's defaults with the given delays (`randomizationFactor` 0.5).
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            jitter: 0.5,
        }
    }

    /// Delay before attempt `attempt` (from 0): `initial × 2^attempt`, moved by up to
    /// `jitter` of itself either way, at most `max`.
    pub fn delay(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let base = self.initial.as_secs_f64() * 2f64.powi(attempt.min(30) as i32);
        let deviation = rng.f64() * self.jitter * base;
        let jittered = if rng.bool() {
            base - deviation
        } else {
            base + deviation
        };
        Duration::from_secs_f64(jittered.max(0.0)).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_stay_within_the_jitter_and_stop_at_the_maximum() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let mut rng = fastrand::Rng::with_seed(7);
        for attempt in 0..6 {
            let base = 0.1 * 2f64.powi(attempt);
            for _ in 0..200 {
                let d = b.delay(attempt as u32, &mut rng).as_secs_f64();
                assert!(d <= 1.0 + 1e-9, "{d}");
                assert!(d >= (base * 0.5).min(1.0) - 1e-9, "{attempt}: {d}");
                assert!(d <= base * 1.5 + 1e-9, "{attempt}: {d}");
            }
        }
        // Jitter spreads the first attempt: not every client retries at the same instant.
        let firsts: std::collections::BTreeSet<u128> =
            (0..50).map(|_| b.delay(0, &mut rng).as_micros()).collect();
        assert!(firsts.len() > 25);
    }
}
