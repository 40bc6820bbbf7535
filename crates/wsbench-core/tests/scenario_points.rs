//! Sweep points and search steps: every combination of list-valued fields, each point and
//! step worked out by the check (a share of stalled clients at its own clients), as run.

use wsbench_core::scenario::Scenario;

mod common;

use common::*;

#[test]
fn list_valued_fields_make_a_sweep_of_every_combination() {
    let text =
        with_line("clients", "clients = [100, 1000]").replace("rate = 10", "rate = [5, 10.5]");
    let s = parse(&text).unwrap();
    assert_eq!(s.clients, 100, "the first point's values");
    let fields: Vec<&str> = s.sweep.iter().map(|a| a.field.as_str()).collect();
    assert_eq!(fields, ["clients", "rate"]);
    let points = s.points();
    let got: Vec<(u64, f64)> = points
        .iter()
        .map(|p| (p.scenario.clients, p.scenario.rate))
        .collect();
    assert_eq!(got, [(100, 5.0), (100, 10.5), (1000, 5.0), (1000, 10.5)]);
    assert_eq!(points[3].values["clients"], 1000.0);
    assert!(points.iter().all(|p| p.scenario.sweep.is_empty()));
    assert_eq!(s.max_clients(), 1000);
    // No sweep: one point, no values.
    let plain = parse(VALID).unwrap();
    assert_eq!(plain.points().len(), 1);
    assert!(plain.points()[0].values.is_empty());
}

/// A share of stalled clients is a share at every point: `clients = [100, 1000]` with
/// `stalled = 0.1` runs 10 then 100 stalled clients (it ran 10 at both: the first point's
/// count was carried to the others); a count stays a count. The points are the ones the
/// check worked out, which the run measures as they are.
#[test]
fn a_stalled_share_is_worked_out_at_each_point_of_a_sweep() {
    let text = format!(
        "{}\nstalled = 0.1\n",
        with_line("clients", "clients = [100, 1000]")
    );
    let s = parse(&text).unwrap();
    let stalled: Vec<(u64, u64)> = s
        .points()
        .iter()
        .map(|p| (p.scenario.clients, p.scenario.stalled))
        .collect();
    assert_eq!(stalled, [(100, 10), (1000, 100)]);
    // A result records the share as written, and each point's values.
    let json = serde_json::to_string(&s).unwrap();
    let back: Scenario = serde_json::from_str(&json).unwrap();
    assert_eq!(back.stalled_share, Some(0.1));
    let values: Vec<f64> = back.point_values().iter().map(|v| v["clients"]).collect();
    assert_eq!(values, [100.0, 1000.0]);
    // A count is the same at every point.
    let text = format!(
        "{}\nstalled = 5\n",
        with_line("clients", "clients = [100, 1000]")
    );
    let counts: Vec<u64> = parse(&text)
        .unwrap()
        .points()
        .iter()
        .map(|p| p.scenario.stalled)
        .collect();
    assert_eq!(counts, [5, 5]);
}

/// A search's steps are worked out by the check too, a share of stalled clients at each
/// step's own clients; every step the run measures passed the check.
#[test]
fn a_searchs_steps_are_checked_points_with_their_own_stalled_clients() {
    let text = format!(
        "{}\nstalled = 0.1\n[search]\nfield = \"clients\"\nstart = 100\nfactor = 2\nmax = 800\np99 = \"1s\"\n",
        with_line("clients", "clients = 100")
    );
    let s = parse(&text).unwrap();
    let steps: Vec<(f64, u64, u64)> = s
        .steps()
        .iter()
        .map(|p| (p.values["clients"], p.scenario.clients, p.scenario.stalled))
        .collect();
    assert_eq!(
        steps,
        [
            (100.0, 100, 10),
            (200.0, 200, 20),
            (400.0, 400, 40),
            (800.0, 800, 80)
        ]
    );
    assert!(s.steps().iter().all(|p| p.scenario.search.is_none()));
    assert_eq!(s.max_clients(), 800);
    assert!(parse(VALID).unwrap().steps().is_empty());
}
