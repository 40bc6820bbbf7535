//! What the machine could do while a run ran: a fixed CPU-bound kernel and a loopback
//! round trip, each timed at the start and at the end of the run (docs/method.md,
//! "Calibration"). The regression gate divides timings by them, so that a run on a slower
//! or busier machine is judged against what that machine did, not against the baseline's.

use serde::{Deserialize, Serialize};

/// The calibration of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Calibration {
    /// CPU time of the fixed kernel, milliseconds: at the start, then at the end.
    pub cpu_kernel_ms: Vec<f64>,
    /// Median loopback TCP round trip between two threads, µs: at the start, then at the
    /// end.
    pub loopback_rtt_us: Vec<f64>,
}

impl Calibration {
    /// The kernel's CPU time over the run (mean of its timings), if measured.
    pub fn cpu_ms(&self) -> Option<f64> {
        mean(&self.cpu_kernel_ms)
    }

    /// The loopback round trip over the run (mean of its timings), if measured.
    pub fn rtt_us(&self) -> Option<f64> {
        mean(&self.loopback_rtt_us)
    }

    /// How much the machine changed between the start and the end, as the larger relative
    /// difference of the two timings: a run whose neighbours came or went midway shows it.
    pub fn drift(&self) -> f64 {
        [&self.cpu_kernel_ms, &self.loopback_rtt_us]
            .into_iter()
            .filter_map(|v| match v.as_slice() {
                [a, .., b] if a.min(*b) > 0.0 => Some((a - b).abs() / a.min(*b)),
                _ => None,
            })
            .fold(0.0, f64::max)
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    let v: Vec<f64> = v.iter().copied().filter(|x| *x > 0.0).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_and_drift_of_the_two_timings() {
        let c = Calibration {
            cpu_kernel_ms: vec![10.0, 12.0],
            loopback_rtt_us: vec![20.0, 21.0],
        };
        assert_eq!(c.cpu_ms(), Some(11.0));
        assert_eq!(c.rtt_us(), Some(20.5));
        assert!((c.drift() - 0.2).abs() < 1e-12);
        assert_eq!(Calibration::default().cpu_ms(), None);
        assert_eq!(Calibration::default().drift(), 0.0);
    }
}
