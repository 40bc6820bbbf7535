//! Latency histograms as docs/method.md fixes them: HdrHistogram, 1 µs to 60 s, 3 digits.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Lowest recordable value, µs.
pub const LOWEST_US: u64 = 1;
/// Highest recordable value, µs (60 s); larger values are clamped to it.
pub const HIGHEST_US: u64 = 60_000_000;
/// Significant decimal digits kept.
pub const SIGFIGS: u8 = 3;

/// A histogram of microseconds with wsbench's fixed bounds, so that any two can be merged.
#[derive(Debug, Clone)]
pub struct LatencyHistogram(Histogram<u64>);

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIGS).expect("valid bounds"))
    }
}

impl LatencyHistogram {
    /// Records a duration given in nanoseconds (rounded to µs, clamped to the bounds).
    pub fn record_ns(&mut self, ns: u64) {
        self.0.saturating_record((ns / 1_000).max(LOWEST_US));
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.0.add(&other.0).expect("same bounds always merge");
    }

    /// Adds the histogram serialized in `figures` (a result's); one that does not decode
    /// adds nothing.
    pub fn merge_figures(&mut self, figures: &HistogramFigures) {
        if let Ok(h) = figures.histogram() {
            self.merge(&h);
        }
    }

    /// Values recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at `quantile` (0..=1), µs.
    pub fn quantile_us(&self, quantile: f64) -> u64 {
        self.0.value_at_quantile(quantile)
    }

    /// The summary a report prints, with the histogram itself kept for re-analysis.
    pub fn figures(&self) -> HistogramFigures {
        let h = &self.0;
        let empty = h.is_empty();
        let q = |x: f64| if empty { 0 } else { h.value_at_quantile(x) };
        HistogramFigures {
            count: h.len(),
            p50_us: q(0.5),
            p90_us: q(0.9),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: if empty { 0 } else { h.max() },
            mean_us: if empty { 0.0 } else { h.mean() },
            serialized: self.to_base64(),
        }
    }

    /// HdrHistogram V2 + deflate, base64: readable by every HdrHistogram implementation.
    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.0, &mut bytes)
            .expect("serializing to memory cannot fail");
        STANDARD.encode(bytes)
    }

    /// Reads a histogram written by [`Self::to_base64`].
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|e| format!("not base64: {e}"))?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("not an HdrHistogram: {e:?}"))?;
        let mut out = Self::default();
        out.0
            .add(&h)
            .map_err(|e| format!("incompatible bounds: {e:?}"))?;
        Ok(out)
    }

    /// (percentile, value µs) points from p0 up to p99.99, for HDR-style percentile plots.
    pub fn percentile_points(&self) -> Vec<(f64, u64)> {
        if self.0.is_empty() {
            return Vec::new();
        }
        [0.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99]
            .into_iter()
            .map(|p| (p, self.0.value_at_percentile(p)))
            .collect()
    }
}

/// A histogram's headline numbers (µs) and the histogram itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistogramFigures {
    /// Values recorded.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest value.
    pub max_us: u64,
    /// Mean.
    pub mean_us: f64,
    /// The whole histogram, see [`LatencyHistogram::to_base64`].
    pub serialized: String,
}

impl HistogramFigures {
    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The 99th percentile in milliseconds, if anything was recorded.
    pub fn p99_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.p99_us as f64 / 1e3)
    }

    /// The histogram these figures came from.
    pub fn histogram(&self) -> Result<LatencyHistogram, String> {
        LatencyHistogram::from_base64(&self.serialized)
    }
}

/// Latency of one block of the measured window (see [`crate::result::blocks`]): two
/// significant digits, a tenth of [`LatencyHistogram`]'s memory, as one is kept per block
/// per worker.
#[derive(Debug, Clone)]
pub struct BlockHistogram(Histogram<u64>);

impl Default for BlockHistogram {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, 2).expect("valid bounds"))
    }
}

impl BlockHistogram {
    /// Records a duration given in nanoseconds (rounded to µs, clamped to the bounds).
    pub fn record_ns(&mut self, ns: u64) {
        self.0.saturating_record((ns / 1_000).max(LOWEST_US));
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &BlockHistogram) {
        self.0.add(&other.0).expect("same bounds always merge");
    }

    /// (samples, p50 µs, p99 µs).
    pub fn summary(&self) -> crate::result::blocks::BlockLatency {
        if self.0.is_empty() {
            return (0, 0, 0);
        }
        (
            self.0.len(),
            self.0.value_at_quantile(0.5),
            self.0.value_at_quantile(0.99),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_counts_and_keeps_extremes() {
        let mut a = LatencyHistogram::default();
        let mut b = LatencyHistogram::default();
        for us in 1..=1000 {
            a.record_ns(us * 1000);
        }
        b.record_ns(5_000_000_000);
        a.merge(&b);
        let f = a.figures();
        assert_eq!(f.count, 1001);
        assert!((499..=501).contains(&f.p50_us), "{}", f.p50_us);
        assert!(f.max_us >= 4_995_000, "{}", f.max_us);
    }

    #[test]
    fn serialized_histogram_reads_back_identically() {
        let mut h = LatencyHistogram::default();
        for us in [3, 70, 70, 900, 12_000, 61_000_000] {
            h.record_ns(us * 1000);
        }
        let f = h.figures();
        let back = f.histogram().unwrap();
        assert_eq!(back.figures(), f);
    }

    #[test]
    fn block_histograms_keep_two_digits() {
        let mut h = BlockHistogram::default();
        for us in 1..=1000 {
            h.record_ns(us * 1000);
        }
        let (n, p50, p99) = h.summary();
        assert_eq!(n, 1000);
        assert!((495..=505).contains(&p50), "{p50}");
        assert!((985..=995).contains(&p99), "{p99}");
        assert_eq!(BlockHistogram::default().summary(), (0, 0, 0));
    }

    #[test]
    fn empty_histogram_has_zero_figures() {
        let f = LatencyHistogram::default().figures();
        assert_eq!(f.count, 0);
        assert_eq!(f.p99_us, 0);
    }
}
