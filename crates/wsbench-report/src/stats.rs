//! The statistics verdicts rest on (docs/method.md, "Uncertainty"): a bootstrap
//! confidence interval of a ratio of medians, and the Mann-Whitney test.
//!
//! Samples come in groups, one per repeat (each group a repeat's blocks): the bootstrap
//! resamples repeats first and blocks within them, so that an interval is as wide as the
//! repeats disagree, not only as wide as one window's blocks do. Resampling is seeded:
//! the same result always gives the same interval.

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 2000;
/// Confidence of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// A small, seeded generator (SplitMix64): enough for resampling, and reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize % n
    }

    /// A standard normal deviate (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = |r: &mut Rng| ((r.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let (a, b) = (u(self), u(self));
        (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
    }
}

pub use wsbench_core::stats::median;

/// An estimate and its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The estimate from the data as measured.
    pub estimate: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

impl Interval {
    /// A point known exactly, or within `share` either way (a figure's resolution).
    pub fn around(value: f64, share: f64) -> Interval {
        Interval {
            estimate: value,
            lo: value * (1.0 - share),
            hi: value * (1.0 + share),
        }
    }

    /// "×1.38 (95% CI 1.31-1.46)".
    pub fn ratio_text(&self) -> String {
        self.ratio_text_as(&format!("{:.0}% CI", CONFIDENCE * 100.0))
    }

    /// "×1.38 (`what` 1.31-1.46)"; an unbounded end is "∞".
    pub fn ratio_text_as(&self, what: &str) -> String {
        let end = |v: f64| {
            if v.is_finite() {
                format!("{v:.2}")
            } else {
                "∞".to_owned()
            }
        };
        format!(
            "×{:.2} ({what} {}-{})",
            self.estimate,
            end(self.lo),
            end(self.hi)
        )
    }

    /// Half the interval's width in log space: how far, as a factor, it reaches from the
    /// estimate.
    pub fn log_half_width(&self) -> f64 {
        if self.lo <= 0.0 || self.hi <= 0.0 {
            return f64::INFINITY;
        }
        (self.hi.ln() - self.lo.ln()) / 2.0
    }
}

/// Every sample of every group, in one vector.
pub fn pooled(groups: &[Vec<f64>]) -> Vec<f64> {
    groups.iter().flatten().copied().collect()
}

/// The estimate samples in groups give: the median of each group's median (a repeat that
/// went wrong moves it less than it moves a pooled median).
pub fn median_of_medians(groups: &[Vec<f64>]) -> Option<f64> {
    let medians: Vec<f64> = groups.iter().filter_map(|g| median(g)).collect();
    median(&medians)
}

/// One bootstrap resample of `groups`' estimate: repeats drawn with replacement (when there
/// are several), then samples within each drawn repeat with replacement.
fn resample(groups: &[&Vec<f64>], rng: &mut Rng, scratch: &mut Vec<f64>) -> f64 {
    let mut medians = Vec::with_capacity(groups.len());
    for _ in 0..groups.len() {
        let g = if groups.len() > 1 {
            groups[rng.below(groups.len())]
        } else {
            groups[0]
        };
        scratch.clear();
        scratch.extend((0..g.len()).map(|_| g[rng.below(g.len())]));
        medians.push(median(scratch).unwrap_or(0.0));
    }
    median(&medians).unwrap_or(0.0)
}

/// The ratio of the estimates ([`median_of_medians`]) of `a` and `b` with its bootstrap
/// confidence interval; `None` when a side has no sample or an estimate of zero.
pub fn ratio_of_medians(a: &[Vec<f64>], b: &[Vec<f64>], seed: u64) -> Option<Interval> {
    let ga: Vec<&Vec<f64>> = a.iter().filter(|v| !v.is_empty()).collect();
    let gb: Vec<&Vec<f64>> = b.iter().filter(|v| !v.is_empty()).collect();
    let (ma, mb) = (median_of_medians(a)?, median_of_medians(b)?);
    if ga.is_empty() || gb.is_empty() || mb == 0.0 {
        return None;
    }
    let mut rng = Rng::new(seed);
    let mut scratch = Vec::new();
    let mut ratios: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| {
            let x = resample(&ga, &mut rng, &mut scratch);
            let y = resample(&gb, &mut rng, &mut scratch);
            (y != 0.0).then(|| x / y)
        })
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let at = |q: f64| ratios[((q * ratios.len() as f64) as usize).min(ratios.len() - 1)];
    Some(Interval {
        estimate: ma / mb,
        lo: at(tail),
        hi: at(1.0 - tail),
    })
}

/// The Mann-Whitney U test of two independent samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// The probability that a value of `a` exceeds one of `b` (ties count half): 0.5 when
    /// neither tends to be larger.
    pub superiority: f64,
    /// Two-sided p-value (normal approximation with a tie correction).
    pub p: f64,
}

/// Mann-Whitney U of `a` against `b`; `None` when either is empty.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|x| (*x, true))
        .chain(b.iter().map(|x| (*x, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Ranks from 1, ties sharing their mean rank.
    let (mut rank_a, mut ties, mut i) = (0.0, 0.0, 0);
    while i < all.len() {
        let j = (i..all.len())
            .find(|&j| all[j].0 != all[i].0)
            .unwrap_or(all.len());
        let rank = (i + 1 + j) as f64 / 2.0;
        rank_a += rank * all[i..j].iter().filter(|x| x.1).count() as f64;
        let t = (j - i) as f64;
        ties += t * t * t - t;
        i = j;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u = rank_a - n1f * (n1f + 1.0) / 2.0;
    let n = n1f + n2f;
    let variance = n1f * n2f / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)).max(1.0));
    let p = if variance <= 0.0 {
        1.0
    } else {
        let z = ((u - n1f * n2f / 2.0).abs() - 0.5).max(0.0) / variance.sqrt();
        (2.0 * normal_upper_tail(z)).min(1.0)
    };
    Some(MannWhitney {
        superiority: u / (n1f * n2f),
        p,
    })
}

/// P(Z > z) for a standard normal Z (Abramowitz and Stegun 7.1.26, error < 1.5e-7).
pub fn normal_upper_tail(z: f64) -> f64 {
    if z < 0.0 {
        return 1.0 - normal_upper_tail(-z);
    }
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    0.5 * poly * (-x * x).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal_sample(rng: &mut Rng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        (0..n).map(|_| mean + sd * rng.normal()).collect()
    }

    #[test]
    fn the_normal_tail_matches_known_values() {
        assert!((normal_upper_tail(0.0) - 0.5).abs() < 1e-6);
        assert!((normal_upper_tail(1.959_964) - 0.025).abs() < 1e-5);
        assert!((normal_upper_tail(-1.0) - 0.841_345).abs() < 1e-5);
    }

    #[test]
    fn identical_samples_show_no_difference() {
        let mut rng = Rng::new(1);
        let a = normal_sample(&mut rng, 40, 100.0, 5.0);
        let ci = ratio_of_medians(std::slice::from_ref(&a), std::slice::from_ref(&a), 7).unwrap();
        assert_eq!(ci.estimate, 1.0);
        assert!(ci.lo < 1.0 && ci.hi > 1.0, "{ci:?}");
        let mw = mann_whitney(&a, &a).unwrap();
        assert!((mw.superiority - 0.5).abs() < 1e-9 && mw.p > 0.9, "{mw:?}");
    }

    #[test]
    fn mann_whitney_matches_a_worked_example() {
        // Exact ranks without ties: a = {1, 2, 3}, b = {4, 5, 6}: U = 0.
        let mw = mann_whitney(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(mw.superiority, 0.0);
        // z = (4.5 - 0.5) / sqrt(5.25) = 1.746: p = 0.0809.
        assert!((mw.p - 0.0809).abs() < 1e-3, "{}", mw.p);
    }

    /// Of many pairs of samples of 20 from N(100, 10) and N(100 + shift, 10), how often
    /// the test finds a difference at p < 0.05.
    fn power(shift: f64) -> f64 {
        let mut rng = Rng::new(42);
        let tries = 400;
        let found = (0..tries)
            .filter(|_| {
                let a = normal_sample(&mut rng, 20, 100.0, 10.0);
                let b = normal_sample(&mut rng, 20, 100.0 + shift, 10.0);
                mann_whitney(&a, &b).unwrap().p < 0.05
            })
            .count();
        found as f64 / tries as f64
    }

    #[test]
    fn the_test_holds_its_level_and_finds_a_shift_at_the_expected_power() {
        // No shift: about 5% false findings.
        assert!(power(0.0) < 0.09, "{}", power(0.0));
        // A shift of one standard deviation with 20 a side: a t-test's power is 0.87,
        // Mann-Whitney's a little less.
        let p = power(10.0);
        assert!((0.75..0.95).contains(&p), "{p}");
    }

    #[test]
    fn a_shifted_sample_is_detected_and_its_ratio_bracketed() {
        let mut rng = Rng::new(3);
        let a = normal_sample(&mut rng, 30, 125.0, 5.0);
        let b = normal_sample(&mut rng, 30, 100.0, 5.0);
        let ci = ratio_of_medians(std::slice::from_ref(&a), std::slice::from_ref(&b), 9).unwrap();
        assert!(
            ci.lo > 1.15 && ci.hi < 1.35 && ci.lo < 1.25 && ci.hi > 1.25,
            "{ci:?}"
        );
        assert!(mann_whitney(&a, &b).unwrap().p < 1e-6);
    }

    #[test]
    fn repeats_that_disagree_widen_the_interval() {
        let mut rng = Rng::new(5);
        let one = normal_sample(&mut rng, 20, 100.0, 2.0);
        let other = normal_sample(&mut rng, 20, 130.0, 2.0);
        let base = normal_sample(&mut rng, 40, 100.0, 2.0);
        let pooled_ci = ratio_of_medians(
            &[pooled(&[one.clone(), other.clone()])],
            std::slice::from_ref(&base),
            1,
        )
        .unwrap();
        let grouped = ratio_of_medians(&[one, other], &[base], 1).unwrap();
        assert!(
            grouped.hi - grouped.lo > pooled_ci.hi - pooled_ci.lo,
            "{grouped:?} vs {pooled_ci:?}"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_interval() {
        let a = vec![vec![1.0, 2.0, 3.0, 4.0]];
        let b = vec![vec![2.0, 2.5, 3.0]];
        assert_eq!(ratio_of_medians(&a, &b, 11), ratio_of_medians(&a, &b, 11));
        assert_eq!(ratio_of_medians(&a, &[vec![]], 11), None);
    }
}
