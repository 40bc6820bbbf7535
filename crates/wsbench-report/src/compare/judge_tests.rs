//! Unit tests of `judge.rs`: each kind of metric judged by its rule.

use super::*;
use crate::metrics::{
    CPU_PER_DELIVERY, DELIVERED_PER_S, LATENCY_MAX, LATENCY_P50, MEMORY_PER_CONNECTION, METRICS,
    WIRE_PER_DELIVERY,
};
use crate::summary::summarize;
use wsbench_core::result::validity::{Reason, ReasonKind, Validity};

fn stat(median: f64, min: f64, max: f64, n: usize) -> Stat {
    Stat {
        median,
        min,
        max,
        n,
    }
}

use crate::fixtures::pair;

/// A relative change counts beyond the tolerance in the metric's direction, never
/// where the repeats' ranges overlap, and not at all from a zero baseline.
#[test]
fn a_relative_change_counts_beyond_tolerance_and_apart_from_overlap() {
    let base = stat(10.0, 9.0, 11.0, 3);
    let (v, change, note) = relative(&WIRE_PER_DELIVERY, base, stat(15.0, 14.0, 16.0, 3), 0.1);
    assert_eq!(v, Verdict::Regressed);
    let c = change.unwrap();
    assert_eq!((c.estimate, c.lo, c.hi), (1.5, 14.0 / 11.0, 16.0 / 9.0));
    assert_eq!(note, "±10%");
    let overlapping = stat(15.0, 10.5, 16.0, 3);
    assert_eq!(
        relative(&WIRE_PER_DELIVERY, base, overlapping, 0.1).0,
        Verdict::Same
    );
    // One repeat a side: ranges cannot overlap, the tolerance alone decides.
    let (one, other) = (stat(10.0, 10.0, 10.0, 1), stat(10.5, 10.5, 10.5, 1));
    assert_eq!(
        relative(&WIRE_PER_DELIVERY, one, other, 0.1).0,
        Verdict::Same
    );
    // Higher is better: more is an improvement, less a regression.
    let more = stat(20.0, 19.0, 21.0, 3);
    assert_eq!(
        relative(&DELIVERED_PER_S, base, more, 0.1).0,
        Verdict::Improved
    );
    assert_eq!(
        relative(&DELIVERED_PER_S, more, base, 0.1).0,
        Verdict::Regressed
    );
    let zero = stat(0.0, 0.0, 0.0, 3);
    assert_eq!(
        relative(&WIRE_PER_DELIVERY, zero, more, 0.1),
        (Verdict::Same, None, String::new())
    );
}

#[test]
fn a_ratio_is_turned_so_that_above_one_is_worse() {
    let r = Interval {
        estimate: 2.0,
        lo: 1.0,
        hi: 4.0,
    };
    assert_eq!(oriented(&r, Better::Lower), r);
    let turned = oriented(&r, Better::Higher);
    assert_eq!((turned.estimate, turned.lo, turned.hi), (0.5, 0.25, 1.0));
}

/// Loss is judged in absolute points of the share lost.
#[test]
fn loss_is_judged_in_points() {
    let tolerances = Tolerances::default();
    let env = pair().environment;
    let sides = Sides {
        base: &env,
        new: &env,
        tolerances: &tolerances,
    };
    let at = |share: f64| stat(share, share, share, 2);
    assert_eq!(sides.loss(at(0.0), at(0.002)).0, Verdict::Regressed);
    assert_eq!(sides.loss(at(0.002), at(0.0)).0, Verdict::Improved);
    let (same, change, note) = sides.loss(at(0.0), at(0.0005));
    assert_eq!((same, change), (Verdict::Same, None));
    assert_eq!(note, "±0.1 points");
}

/// A result against itself: nothing changed, whatever the metric; a figure on one side
/// only is missing; a memory change within what RSS resolves is no change.
#[test]
fn a_result_against_itself_changes_nothing_and_gaps_are_missing() {
    let result = pair();
    let tolerances = Tolerances::default();
    let sides = Sides {
        base: &result.environment,
        new: &result.environment,
        tolerances: &tolerances,
    };
    let ws = &summarize(&result)[0];
    for m in METRICS {
        let row = sides.row(m, ws, ws);
        assert!(
            !matches!(
                row.verdict,
                Verdict::Regressed | Verdict::Improved | Verdict::Missing
            ),
            "{}: {:?} ({})",
            m.key,
            row.verdict,
            row.note
        );
    }
    let max = sides.row(&LATENCY_MAX, ws, ws);
    assert_eq!(max.verdict, Verdict::Unjudged);
    assert!(max.note.contains("never judged"), "{}", max.note);

    let mut gap = ws.clone();
    let i = METRICS
        .iter()
        .position(|m| m.key == CPU_PER_DELIVERY.key)
        .unwrap();
    gap.stats[i] = None;
    assert_eq!(
        sides.row(&CPU_PER_DELIVERY, ws, &gap).verdict,
        Verdict::Missing
    );
    assert_eq!(
        sides.row(&CPU_PER_DELIVERY, &gap, &gap).verdict,
        Verdict::Same
    );

    let mut bigger = ws.clone();
    let i = METRICS
        .iter()
        .position(|m| m.key == MEMORY_PER_CONNECTION.key)
        .unwrap();
    let base = ws.stat(&MEMORY_PER_CONNECTION).unwrap();
    let floor_kib = RSS_RESOLUTION_BYTES / ws.connected.max(1.0) / 1024.0;
    // Twice the median (far beyond 25%) but, with a tiny median, within the resolution.
    let tiny = stat(floor_kib / 4.0, floor_kib / 4.0, floor_kib / 4.0, base.n);
    let mut small = ws.clone();
    small.stats[i] = Some(tiny);
    bigger.stats[i] = Some(stat(
        tiny.median * 2.0,
        tiny.min * 2.0,
        tiny.max * 2.0,
        base.n,
    ));
    let row = sides.row(&MEMORY_PER_CONNECTION, &small, &bigger);
    assert_eq!(row.verdict, Verdict::Same, "{}", row.note);
    assert!(row.note.ends_with("within it"), "{}", row.note);
    // Twice as much, and the difference beyond the resolution: a regression.
    let at = |kib: f64| Some(stat(kib, kib, kib, base.n));
    small.stats[i] = at(floor_kib * 4.0);
    bigger.stats[i] = at(floor_kib * 8.0);
    let row = sides.row(&MEMORY_PER_CONNECTION, &small, &bigger);
    assert_eq!(row.verdict, Verdict::Regressed, "{}", row.note);
}

/// A starved load generator takes its own timings out of the judgement (the server's
/// CPU stays judged); a lossy system's latency is a capacity finding, not compared.
#[test]
fn a_starved_or_saturated_side_is_degraded_for_what_it_cannot_say() {
    let result = pair();
    let ws = &summarize(&result)[0];
    let mut starved = ws.clone();
    for r in &mut starved.runs {
        r.validity = Validity::of(vec![Reason {
            kind: ReasonKind::LoadGeneratorStarved,
            detail: "the load generator waited for CPU 30% of the window".to_owned(),
        }]);
    }
    let why = degraded(&LATENCY_P50, ws, &starved).unwrap();
    assert!(
        why.starts_with("the new result's load generator was starved"),
        "{why}"
    );
    assert!(degraded(&CPU_PER_DELIVERY, ws, &starved).is_none());
    assert!(degraded(&MEMORY_PER_CONNECTION, &starved, ws).is_none());

    let mut lossy = ws.clone();
    for r in &mut lossy.runs {
        r.validity = Validity::of(vec![Reason {
            kind: ReasonKind::Lossy,
            detail: "12 of 1000 deliveries lost".to_owned(),
        }]);
    }
    let why = degraded(&LATENCY_P50, &lossy, ws).unwrap();
    assert!(why.starts_with("saturated at this load"), "{why}");
    assert!(why.ends_with("(in the baseline)"), "{why}");
    assert!(degraded(&DELIVERED_PER_S, &lossy, ws).is_none());
    assert_eq!(p_text(0.00001), "< 0.0001");
    assert_eq!(p_text(0.01234), "0.0123");
}
