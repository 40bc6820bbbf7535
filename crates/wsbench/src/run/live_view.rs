//! The live view while a system is measured: deliveries per second over the last second,
//! a sparkline of the last few seconds, and the p99 latency of the last second, on the
//! progress line — and, when stderr is not a terminal (CI logs, pipes), as a plain line
//! every few seconds, since the spinner is not drawn there.

use std::collections::VecDeque;
use std::io::IsTerminal;

use wsbench_core::clock::monotonic_ns;
use wsbench_loadgen::{LoadGen, quantile_us};

/// How often the figures are recomputed, ns: a second, so a rate is a rate.
const PERIOD_NS: u64 = 1_000_000_000;
/// Seconds of history the sparkline shows.
const HISTORY: usize = 12;
/// How often a plain line is printed where no spinner is drawn, ns.
const PLAIN_EVERY_NS: u64 = 2_000_000_000;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// What the live view has seen so far of one system's load.
pub struct LiveView {
    last_ns: u64,
    last_received: u64,
    last_latency: Vec<u64>,
    rates: VecDeque<f64>,
    p99_ms: Option<f64>,
    last_plain_ns: u64,
    plain: bool,
}

impl LiveView {
    pub fn new(load: &LoadGen) -> LiveView {
        let now = monotonic_ns();
        LiveView {
            last_ns: now,
            last_received: load.live().probes_received,
            last_latency: load.live_latency(),
            rates: VecDeque::with_capacity(HISTORY),
            p99_ms: None,
            last_plain_ns: now,
            plain: !std::io::stderr().is_terminal(),
        }
    }

    /// The figures as text (`19900 delivered/s ▃▅▇▆ p99 3.4 ms`), recomputed once a
    /// second.
    pub fn text(&mut self, load: &LoadGen) -> String {
        let now = monotonic_ns();
        if now >= self.last_ns + PERIOD_NS {
            let received = load.live().probes_received;
            let latency = load.live_latency();
            let dt = (now - self.last_ns) as f64 / 1e9;
            if self.rates.len() == HISTORY {
                self.rates.pop_front();
            }
            self.rates
                .push_back(received.saturating_sub(self.last_received) as f64 / dt);
            let recent: Vec<u64> = latency
                .iter()
                .zip(&self.last_latency)
                .map(|(a, b)| a.saturating_sub(*b))
                .collect();
            self.p99_ms = quantile_us(&recent, 0.99).map(|us| us / 1000.0);
            (self.last_ns, self.last_received, self.last_latency) = (now, received, latency);
        }
        let Some(rate) = self.rates.back() else {
            return String::new();
        };
        let p99 = self
            .p99_ms
            .map_or(String::new(), |ms| format!(", p99 ≤{ms:.1} ms"));
        format!("{rate:.0} delivered/s {}{p99}", sparkline(&self.rates))
    }

    /// Prints `line` as a plain line every few seconds where the spinner is not drawn.
    pub fn plain_line(&mut self, prefix: &str, line: &str) {
        let now = monotonic_ns();
        if self.plain && now >= self.last_plain_ns + PLAIN_EVERY_NS {
            eprintln!("{prefix}: {line}");
            self.last_plain_ns = now;
        }
    }
}

/// One bar per value, scaled to the largest.
fn sparkline(values: &VecDeque<f64>) -> String {
    let max = values.iter().copied().fold(0.0, f64::max);
    values
        .iter()
        .map(|v| {
            let level = if max > 0.0 { v / max * 7.0 } else { 0.0 };
            BARS[(level.round() as usize).min(7)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_scales_to_its_largest_value() {
        let values: VecDeque<f64> = [0.0, 50.0, 100.0].into_iter().collect();
        assert_eq!(sparkline(&values), "▁▅█");
        assert_eq!(sparkline(&[0.0].into_iter().collect()), "▁");
    }
}
