//! Unit tests of the claims module: figures in words, the point claims are judged at, and gating.

use super::*;
use crate::metrics::{DELIVERED_PER_S, LATENCY_P50};
use crate::summary::summarize;
use std::collections::BTreeMap;
use wsbench_core::result::validity::{Reason, ReasonKind, Validity};

fn pair() -> Vec<SystemSummary> {
    let result: RunResult = crate::fixtures::pair();
    summarize(&result)
}

#[test]
fn a_figure_is_its_median_with_the_range_of_its_repeats() {
    let s = |n| Stat {
        median: 2.0,
        min: 1.0,
        max: 3.5,
        n,
    };
    assert_eq!(describe(s(3), "ms"), "2.00 ms (median of 3, 1.00-3.50)");
    assert_eq!(describe(s(1), "ms"), "2.00 ms");
    let ratio = Interval {
        estimate: 2.0,
        lo: 1.0,
        hi: 4.0,
    };
    assert_eq!(advantage(&LATENCY_P50, ratio), ratio);
    let turned = advantage(&DELIVERED_PER_S, ratio);
    assert_eq!((turned.estimate, turned.lo, turned.hi), (0.5, 0.25, 1.0));
}

/// Claims are judged at the last point where both protocols were measured.
#[test]
fn claims_are_judged_at_the_last_point_with_both_protocols() {
    let mut summaries = pair();
    let result = crate::fixtures::pair();
    assert_eq!(judged_at(&result, &summaries), "");
    let at = |clients: f64| BTreeMap::from([("clients".to_owned(), clients)]);
    let mut more = summaries.clone();
    for s in &mut more {
        s.point = at(1000.0);
    }
    for s in &mut summaries {
        s.point = at(100.0);
    }
    summaries.extend(more);
    assert_eq!(judged_at(&result, &summaries), "clients=1000");
    summaries.pop(); // socketio did not reach 1000 (a search stopped it)
    assert_eq!(judged_at(&result, &summaries), "clients=100");
}

/// A claim whose system lost deliveries is not judged where capacity decides it, and
/// says why; a busy machine takes any claim out of judgement.
#[test]
fn a_claim_is_not_judged_on_runs_that_cannot_carry_it() {
    let summaries = pair();
    let claim = || Claim {
        claim: "WebSocket is faster",
        evidence: "p50 ws 1 ms".to_owned(),
        verdict: Verdict::Supported,
    };
    let mut lossy = summaries[1].clone();
    for r in &mut lossy.runs {
        r.validity = Validity::of(vec![Reason {
            kind: ReasonKind::Lossy,
            detail: "3 lost".to_owned(),
        }]);
    }
    let mut c = claim();
    gate(&mut c, (Some(&summaries[0]), Some(&lossy)), false);
    assert_eq!(c.verdict, Verdict::Supported, "loss alone does not gate it");
    gate(&mut c, (Some(&summaries[0]), Some(&lossy)), true);
    assert_eq!(c.verdict, Verdict::NotJudged);
    assert!(
        c.evidence.starts_with("not judged: socketio saturated"),
        "{}",
        c.evidence
    );
    assert!(c.evidence.ends_with("; p50 ws 1 ms"), "{}", c.evidence);
    let mut busy = summaries[0].clone();
    busy.runs[0].validity = Validity::of(vec![Reason {
        kind: ReasonKind::MachineBusy,
        detail: "other work took 40%".to_owned(),
    }]);
    let mut c = claim();
    gate(&mut c, (Some(&busy), Some(&summaries[1])), false);
    assert_eq!(c.verdict, Verdict::NotJudged, "{}", c.evidence);
}
