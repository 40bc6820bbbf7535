//! Other work beside a run: recorded per block, and kept from the gate. In a test binary
//! of its own, so that its CPU hogs never run beside another test's measurement.

mod common;

use std::time::Duration;

use common::*;

/// Other work on the machine while a run measures shows up in its blocks: a process that
/// keeps all but one CPU busy beside a real run is counted as foreign, block by block, and
/// `wsbench compare` with its default bound judges no timing of that run.
#[test]
fn other_work_beside_a_run_is_recorded_and_keeps_timings_from_the_gate() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = temp_dir("busy");
    let scenario = small_scenario(&dir, &[], "");
    let calm = dir.join("calm");
    run_ok(&scenario, &calm, &["--transport", "ws"]);

    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let stop = Arc::new(AtomicBool::new(false));
    let hogs: Vec<_> = (0..cpus.saturating_sub(1).max(1))
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                // Bounded: stopped after the run, and never longer than two minutes.
                let t = std::time::Instant::now();
                while !stop.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(120) {
                    std::hint::black_box(0u64);
                }
            })
        })
        .collect();
    let busy = dir.join("busy");
    let result = run_ok(&scenario, &busy, &["--transport", "ws"]);
    stop.store(true, Ordering::Relaxed);
    for h in hogs {
        h.join().unwrap();
    }

    let mut foreign: Vec<f64> = result.runs[0]
        .blocks
        .iter()
        .filter_map(|b| b.foreign)
        .collect();
    foreign.sort_by(f64::total_cmp);
    let median = foreign[foreign.len() / 2];
    // All but one CPU busy: about (n-1)/n of the capacity, well above a quarter.
    assert!(median > 0.25, "foreign shares {foreign:?}");
    let (_, md) = compare_dirs(&calm, &busy, &[]);
    assert!(
        md.lines()
            .any(|l| l.starts_with("| ws | server CPU/delivery") && l.contains("machine busy"))
            && md.contains("**Machine busy:**"),
        "{md}"
    );
}
