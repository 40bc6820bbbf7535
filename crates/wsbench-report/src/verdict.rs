//! What the data says about a claim, from the confidence interval of a ratio
//! (docs/method.md, "Verdicts"): one rule for every comparative claim.

use serde::Serialize;

use crate::stats::Interval;

/// Differences within this share count as no difference: a shared machine moves figures
/// by about this much between two tries.
pub const MARGIN: f64 = 0.05;

/// What the data says about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The claimed side is better beyond the margin, the whole interval agreeing.
    Supported,
    /// The other side is better beyond the margin, the whole interval agreeing.
    Reversed,
    /// The whole interval lies within the margin.
    NoDifference,
    /// The interval reaches across the margin: more data would settle it.
    Inconclusive,
    /// A feature claim whose feature did not do its job in this run.
    Refuted,
    /// A figure below its resolution, or no complete run: no verdict either way.
    NotEnoughData,
    /// Measured, but from runs whose figures cannot carry a verdict (a busy machine, a
    /// starved load generator, a system that lost deliveries): the evidence says why and
    /// what to do.
    NotJudged,
    /// This run did not measure it.
    NotMeasured,
}

impl Verdict {
    /// As written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::Reversed => "reversed",
            Verdict::NoDifference => "no difference",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Refuted => "refuted",
            Verdict::NotEnoughData => "not enough data",
            Verdict::NotJudged => "not judged",
            Verdict::NotMeasured => "not measured in this run",
        }
    }
}

/// The verdict on "the claimed side is better" from `advantage`, the interval of the
/// ratio that exceeds 1 when the claimed side is better (the other's latency over the
/// claimed side's, say).
pub fn classify(advantage: &Interval) -> Verdict {
    let (up, down) = (1.0 + MARGIN, 1.0 / (1.0 + MARGIN));
    if advantage.lo > up {
        Verdict::Supported
    } else if advantage.hi < down {
        Verdict::Reversed
    } else if advantage.lo >= down && advantage.hi <= up {
        Verdict::NoDifference
    } else {
        Verdict::Inconclusive
    }
}

/// How many times the data an inconclusive interval rests on would settle it, were the
/// estimate to stay where it is: intervals narrow as the square root of the samples, and
/// it must narrow until it clears the margin on the side its estimate lies.
/// `None` when the estimate sits on the margin itself (no amount would settle it).
pub fn data_to_settle(advantage: &Interval) -> Option<f64> {
    let (at, margin) = (advantage.estimate.ln().abs(), (1.0 + MARGIN).ln());
    let room = (at - margin).abs();
    let width = advantage.log_half_width();
    if room < 1e-3 || !width.is_finite() {
        return None;
    }
    Some((width / room).powi(2).max(1.0))
}

/// The advice an inconclusive verdict carries: "about 6 repeats (this run had 2), or a
/// window 3× as long, would settle it".
pub fn settle_advice(advantage: &Interval, repeats: usize) -> String {
    match data_to_settle(advantage) {
        Some(f) if f <= 100.0 => format!(
            "about {} repeats (this run had {repeats}), or windows {:.0}× as long, would settle it",
            (repeats.max(1) as f64 * f).ceil(),
            f.ceil()
        ),
        _ => format!(
            "the estimate sits on the {:.0}% margin: no feasible amount of data would settle it",
            MARGIN * 100.0
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(estimate: f64, lo: f64, hi: f64) -> Interval {
        Interval { estimate, lo, hi }
    }

    #[test]
    fn each_verdict_from_where_the_interval_lies() {
        assert_eq!(classify(&iv(1.38, 1.31, 1.46)), Verdict::Supported);
        assert_eq!(classify(&iv(0.7, 0.6, 0.8)), Verdict::Reversed);
        assert_eq!(classify(&iv(1.01, 0.97, 1.04)), Verdict::NoDifference);
        assert_eq!(classify(&iv(1.1, 0.9, 1.3)), Verdict::Inconclusive);
    }

    #[test]
    fn known_distributions_get_the_verdicts_they_should() {
        use crate::stats::{Rng, ratio_of_medians};
        let mut rng = Rng::new(17);
        let mut sample = |mean: f64| -> Vec<f64> {
            (0..60)
                .map(|_| mean * (1.0 + 0.03 * rng.normal()))
                .collect()
        };
        let (a, b) = (sample(100.0), sample(100.0));
        let same = ratio_of_medians(&[a], &[b], 1).unwrap();
        assert_eq!(classify(&same), Verdict::NoDifference, "{same:?}");
        let (slow, fast) = (sample(130.0), sample(100.0));
        let apart = ratio_of_medians(&[slow], &[fast], 1).unwrap();
        assert_eq!(classify(&apart), Verdict::Supported, "{apart:?}");
        let backwards = ratio_of_medians(&[sample(100.0)], &[sample(130.0)], 1).unwrap();
        assert_eq!(classify(&backwards), Verdict::Reversed, "{backwards:?}");
        // Five samples a side, 5% apart: too few to tell.
        let few = ratio_of_medians(
            &[sample(105.0)[..5].to_vec()],
            &[sample(100.0)[..5].to_vec()],
            1,
        )
        .unwrap();
        assert_eq!(classify(&few), Verdict::Inconclusive, "{few:?}");
    }

    #[test]
    fn settling_takes_more_data_the_closer_the_estimate_is_to_the_margin() {
        // Estimate ×1.2, interval reaching to ×1.0: its half-width must shrink from
        // ln(1.2)/2-ish to below ln(1.2) - ln(1.05).
        let far = data_to_settle(&iv(1.2, 1.0, 1.44)).unwrap();
        let near = data_to_settle(&iv(1.08, 0.9, 1.3)).unwrap();
        assert!(far > 1.0 && near > far, "{far} {near}");
        assert_eq!(data_to_settle(&iv(1.05, 0.9, 1.2)), None);
        assert!(settle_advice(&iv(1.2, 1.0, 1.44), 2).contains("repeats (this run had 2)"));
    }
}
