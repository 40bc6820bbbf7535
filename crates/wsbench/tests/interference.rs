//! Other work beside a run: recorded per block, and kept from the gate. In a test binary
//! of its own, so that its CPU hogs never run beside another test's measurement.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;

/// Runs `f` beside `n` threads that burn CPU until it returns (and never longer than three
/// minutes).
fn beside_burners<T>(n: usize, f: impl FnOnce() -> T) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let burners: Vec<_> = (0..n)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let t = std::time::Instant::now();
                while !stop.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(180) {
                    std::hint::black_box(0u64);
                }
            })
        })
        .collect();
    let out = f();
    stop.store(true, Ordering::Relaxed);
    for b in burners {
        b.join().unwrap();
    }
    out
}

/// Other work on the machine while a run measures shows up in its blocks: a process that
/// keeps all but one CPU busy beside a real run is counted as foreign, block by block, and
/// `wsbench compare` with its default bound judges no timing of that run.
#[test]
fn other_work_beside_a_run_is_recorded_and_keeps_timings_from_the_gate() {
    let dir = temp_dir("busy");
    let scenario = small_scenario(&dir, &[], "");
    let calm = dir.join("calm");
    run_ok(&scenario, &calm, &["--transport", "ws"]);

    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let busy = dir.join("busy");
    let result = beside_burners(cpus.saturating_sub(1).max(1), || {
        run_ok(&scenario, &busy, &["--transport", "ws"])
    });

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

/// A real fanout of both systems beside more CPU-burning threads than the machine has
/// CPUs: every delivery is accounted for (delivered, or lost with its causes counted), and
/// a run with loss, a busy machine or a starved load generator is `degraded` with its
/// reasons and carries no latency verdict.
#[test]
fn a_fanout_beside_cpu_burners_accounts_every_delivery_and_judges_nothing_it_cannot() {
    use wsbench_core::result::Status;
    use wsbench_core::result::validity::ReasonKind;
    let dir = temp_dir("burners");
    let scenario = scenario_copy(
        &dir,
        "fanout.toml",
        &[
            ("clients = 1000", "clients = 200"),
            ("repeat = 2", "repeat = 1"),
            ("warmup = \"5s\"", "warmup = \"1s\""),
            ("duration = \"20s\"", "duration = \"4s\""),
        ],
        "",
    );
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let out = dir.join("out");
    let (code, result) = beside_burners(2 * cpus, || run_with(&scenario, &out, &[]));
    assert_eq!(
        code,
        Some(0),
        "{:?}",
        result.runs.iter().map(|r| &r.error).collect::<Vec<_>>()
    );
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        let (t, m) = (&run.system, &run.messages);
        assert!(run.status.measured(), "{t}: {:?}", run.error);
        assert_eq!(m.delivered + m.lost, m.expected, "{t}");
        assert!(m.expected > 0 && m.duplicated == 0, "{t}");
        // Where the rest was is counted at the drain's end.
        let backlog = run.backlog.as_ref().expect("built-in servers: a backlog");
        assert!(backlog.server_dropped.is_some() && backlog.clients_unread_bytes.is_some());
        let kinds: Vec<ReasonKind> = run.validity.reasons.iter().map(|r| r.kind).collect();
        assert_eq!(run.validity.valid, kinds.is_empty(), "{t}");
        assert_eq!(run.status == Status::Degraded, !kinds.is_empty(), "{t}");
        if m.lost > 0 {
            assert!(kinds.contains(&ReasonKind::Lossy), "{t}: {kinds:?}");
        }
        // Twice as many burners as CPUs: the machine is busy, whatever else happened.
        assert!(
            kinds.contains(&ReasonKind::MachineBusy),
            "{t}: {:?}",
            run.validity
        );
        assert!(run.blocks.iter().all(|b| b.loadgen_wait.is_some()), "{t}");
    }
    assert_eq!(result.status, Status::Degraded);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let latency = md
        .lines()
        .find(|l| l.contains("WebSocket has lower latency"))
        .expect("a latency claim");
    assert!(latency.contains("not judged"), "{latency}");
    assert!(
        md.contains("degraded: these runs' figures cannot carry a verdict"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("class=\"degraded\"") && html.contains("machine busy"));
}
