//! One test per verdict a claim can get, each from a real small run recorded as a fixture
//! (server RSS samples left out): `tests/fixtures/pair-result.json` is
//! `wsbench run verdicts.toml` (ws and socketio, 50 clients, 5 senders × 20 msg/s, a 3 s
//! window, two repeats); `ws-handicapped-result.json` the same with the ws server started
//! by hand as `wsbench serve ws --handicap-us 20 --handicap-wire-bytes 16` and measured as
//! a target with its pid: 20 µs more CPU and an 18-byte pong per delivery; and
//! `sparse-result.json` two systems of an idle run (below).

use std::path::Path;

use wsbench_core::result::{RunResult, Status};
use wsbench_core::scenario::Mode;
use wsbench_report::claims::{Claim, Verdict, evaluate};
use wsbench_report::summary::summarize;

fn fixture(name: &str) -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn claim(result: &RunResult, text: &str) -> Claim {
    evaluate(result, &summarize(result))
        .into_iter()
        .find(|c| c.claim.contains(text))
        .unwrap_or_else(|| panic!("no claim {text}"))
}

#[test]
fn supported_with_its_ratio_and_interval() {
    let c = claim(&fixture("pair-result.json"), "less CPU per message");
    assert_eq!(c.verdict, Verdict::Supported, "{}", c.evidence);
    assert!(c.evidence.contains("socketio/ws ×1.3"), "{}", c.evidence);
    assert!(c.evidence.contains("(95% CI 1."), "{}", c.evidence);
    let wire = claim(&fixture("pair-result.json"), "less overhead on the wire");
    assert_eq!(wire.verdict, Verdict::Supported, "{}", wire.evidence);
}

#[test]
fn reversed_when_the_other_system_is_better_beyond_the_margin() {
    let result = fixture("ws-handicapped-result.json");
    let cpu = claim(&result, "less CPU per message");
    assert_eq!(cpu.verdict, Verdict::Reversed, "{}", cpu.evidence);
    let latency = claim(&result, "lower latency");
    assert_eq!(latency.verdict, Verdict::Reversed, "{}", latency.evidence);
}

#[test]
fn no_difference_when_the_interval_lies_within_the_margin() {
    // The padded raw-WebSocket frames cost exactly Socket.IO's 84 bytes per delivery.
    let c = claim(
        &fixture("ws-handicapped-result.json"),
        "less overhead on the wire",
    );
    assert_eq!(c.verdict, Verdict::NoDifference, "{}", c.evidence);
}

#[test]
fn inconclusive_says_what_would_settle_it() {
    // The pair's CPU claim from one repeat each, and the two figures brought together so
    // that the interval reaches across the margin.
    let mut result = fixture("pair-result.json");
    result.runs.retain(|r| r.repeat == 0);
    let ws = claim(&result, "less CPU per message");
    assert_eq!(ws.verdict, Verdict::Supported, "{}", ws.evidence);
    for run in result.runs.iter_mut().filter(|r| r.system.as_str() == "ws") {
        for b in &mut run.blocks {
            // 30% dearer: within a few percent of Socket.IO's, with an interval
            // wider than the margin.
            b.server_cpu_s = b.server_cpu_s.map(|c| c * 1.30);
        }
    }
    let c = claim(&result, "less CPU per message");
    assert_eq!(c.verdict, Verdict::Inconclusive, "{}", c.evidence);
    assert!(
        c.evidence.contains("would settle it") || c.evidence.contains("no feasible amount"),
        "{}",
        c.evidence
    );
}

#[test]
fn not_enough_data_from_a_system_cut_short() {
    // What Ctrl-C during Socket.IO's runs leaves (wsbench's own tests/gate.rs does it for
    // real): its runs interrupted, their figures partial.
    let mut result = fixture("pair-result.json");
    for run in result
        .runs
        .iter_mut()
        .filter(|r| r.system.as_str() == "socketio")
    {
        run.status = Status::Interrupted;
    }
    for text in [
        "lower latency",
        "higher throughput",
        "less CPU",
        "less memory",
    ] {
        let c = claim(&result, text);
        assert_eq!(c.verdict, Verdict::NotEnoughData, "{text}: {}", c.evidence);
        assert!(c.evidence.contains("no complete run"), "{}", c.evidence);
    }
}

#[test]
fn not_enough_data_below_a_figures_resolution() {
    // Blocks without their CPU readings and 2 repeats: no interval can be drawn.
    let mut result = fixture("pair-result.json");
    for run in &mut result.runs {
        for b in &mut run.blocks {
            b.server_cpu_s = Some(1e-7);
        }
    }
    let c = claim(&result, "less CPU per message");
    assert_eq!(c.verdict, Verdict::NotEnoughData, "{}", c.evidence);
    assert!(c.evidence.contains("block(s)"), "{}", c.evidence);
}

#[test]
fn refuted_when_a_feature_did_not_do_its_job_and_not_measured_when_not_tried() {
    let mut result = fixture("pair-result.json");
    assert_eq!(
        claim(&result, "acknowledgements").verdict,
        Verdict::NotMeasured
    );
    assert_eq!(claim(&result, "reconnects").verdict, Verdict::NotMeasured);
    // Judged as an echo run whose Socket.IO run failed and lost deliveries.
    result.scenario.mode = Mode::Echo;
    let sio = result
        .runs
        .iter_mut()
        .find(|r| r.system.as_str() == "socketio")
        .unwrap();
    sio.status = Status::Failed;
    sio.messages.delivered -= 1;
    assert_eq!(claim(&result, "acknowledgements").verdict, Verdict::Refuted);
}

#[test]
fn a_fallback_whose_clients_never_connected_says_so() {
    let mut result = fixture("pair-result.json");
    let polling: wsbench_core::system::SystemName = "socketio-polling".parse().unwrap();
    let mut run = result
        .runs
        .iter()
        .find(|r| r.system.as_str() == "socketio")
        .unwrap()
        .clone();
    run.system = polling.clone();
    run.connections.requested = 100;
    run.connections.connected = 14;
    run.connections.failures = [("timeout".to_owned(), 86)].into_iter().collect();
    run.messages.expected = 0;
    run.messages.delivered = 0;
    result.runs.push(run);
    result.scenario.compared.push(polling);
    let c = claim(&result, "falls back to long-polling");
    assert_eq!(c.verdict, Verdict::Refuted, "{}", c.evidence);
    assert!(
        c.evidence.starts_with(
            "only 14 of 100 long-polling clients connected (86 timeout), so no sender sent"
        ),
        "{}",
        c.evidence
    );
}

/// The gate on the same two recordings: the handicapped raw-WebSocket server is a
/// regression; the same result taken while other work had much of the machine (another
/// guest of the host, another process) is not judged on timing at all (and says so), and
/// is judged again from the blocks that stayed calm.
#[test]
fn the_gate_leaves_out_blocks_that_other_work_took() {
    use wsbench_report::compare::{self, MACHINE_BUSY, Tolerances, Verdict as Gate};
    let base = fixture("pair-result.json");
    let mut worse = fixture("ws-handicapped-result.json");
    worse.scenario.name = base.scenario.name.clone();
    let t = Tolerances::default();
    let c = compare::compare(&base, &worse, t, false);
    let ws_cpu = |c: &compare::Comparison| {
        c.rows
            .iter()
            .find(|r| r.label == "ws" && r.metric.key == "server_cpu_us_per_delivery")
            .map(|r| r.verdict)
    };
    assert_eq!(ws_cpu(&c), Some(Gate::Regressed), "{c:#?}");

    // Every block stolen from: no timing verdict, a line that says why, and only the
    // figures a busy host cannot move (wire, loss, memory) still judged.
    let mut busy = worse.clone();
    for b in busy.runs.iter_mut().flat_map(|r| r.blocks.iter_mut()) {
        b.stolen = Some(0.25);
        b.foreign = Some(0.15);
    }
    let c = compare::compare(&base, &busy, t, false);
    assert_eq!(ws_cpu(&c), Some(Gate::Contended));
    assert_eq!(c.contended(), ["ws", "socketio"]);
    let md = compare::markdown(&c, "base", "busy");
    assert!(
        md.contains(MACHINE_BUSY) && md.contains("median 40%"),
        "{md}"
    );
    assert!(md.contains("median block): not recorded → 40%"), "{md}");
    assert!(c.rows.iter().all(|r| r.verdict != Gate::Contended
        || !matches!(r.metric.key, "wire_bytes_per_delivery" | "loss_ratio")));
    // A bound of 1 judges every block again.
    let all = Tolerances {
        max_interference: 1.0,
        ..t
    };
    assert_eq!(
        ws_cpu(&compare::compare(&base, &busy, all, false)),
        Some(Gate::Regressed)
    );

    // Two blocks in three calm: judged from those alone, still a regression.
    let mut some = worse.clone();
    for r in some.runs.iter_mut() {
        for (k, b) in r.blocks.iter_mut().enumerate() {
            b.foreign = Some(if k % 3 == 0 { 0.5 } else { 0.02 });
        }
    }
    let c = compare::compare(&base, &some, t, false);
    assert_eq!(ws_cpu(&c), Some(Gate::Regressed), "{c:#?}");
    assert!(c.contended().is_empty());
}

#[test]
fn not_judged_from_runs_that_cannot_carry_a_verdict_with_why_and_what_to_do() {
    // degraded.json: pair-result.json with its first ws run degraded (a busy machine, a
    // loss), as `wsbench run` records one.
    let result = fixture("degraded.json");
    for text in ["lower latency", "less CPU per message", "higher throughput"] {
        let c = claim(&result, text);
        if c.verdict == Verdict::NotMeasured {
            continue;
        }
        assert_eq!(c.verdict, Verdict::NotJudged, "{text}: {}", c.evidence);
        assert!(
            c.evidence
                .starts_with("not judged: ws (1 of 2 runs): 44% of the machine's CPU")
                && c.evidence.contains("quieter machine"),
            "{text}: {}",
            c.evidence
        );
    }
    // Memory and wire bytes do not depend on the machine's speed: still judged.
    assert_eq!(claim(&result, "less memory").verdict, Verdict::Supported);
    assert_eq!(
        claim(&result, "less overhead on the wire").verdict,
        Verdict::Supported
    );
}

#[test]
fn a_system_that_lost_deliveries_saturated_and_its_latency_is_not_compared() {
    let mut result = fixture("degraded.json");
    let ws = result
        .runs
        .iter_mut()
        .find(|r| r.status == Status::Degraded)
        .unwrap();
    ws.validity.reasons.retain(|r| !r.kind.is_conditions());
    let c = claim(&result, "lower latency");
    assert_eq!(c.verdict, Verdict::NotJudged, "{}", c.evidence);
    assert!(
        c.evidence
            .starts_with("not judged: ws saturated at this load")
            && c.evidence.contains("605556 of 1998000 deliveries lost"),
        "{}",
        c.evidence
    );
}

/// `compare` keeps the same rule as the claims: a side whose load generator was starved
/// gives no timing verdict for that system, and a side whose system lost deliveries gives
/// no latency verdict (a capacity finding: its loss row judges it), each with why.
#[test]
fn the_gate_judges_no_timing_from_a_degraded_run() {
    use wsbench_core::result::validity::{Reason, ReasonKind};
    use wsbench_report::compare::{self, DEGRADED, Tolerances, Verdict as Gate};
    let base = fixture("pair-result.json");
    let mut new = fixture("degraded.json");
    new.scenario.name = base.scenario.name.clone();
    let ws = new
        .runs
        .iter_mut()
        .find(|r| r.status == Status::Degraded)
        .unwrap();
    ws.validity.reasons.retain(|r| !r.kind.is_conditions());
    let verdict = |c: &compare::Comparison, label: &str, key: &str| {
        c.rows
            .iter()
            .find(|r| r.label == label && r.metric.key == key)
            .map(|r| (r.verdict, r.note.clone()))
            .unwrap()
    };
    let c = compare::compare(&base, &new, Tolerances::default(), false);
    let (p50, why) = verdict(&c, "ws", "latency_p50_ms");
    assert_eq!(p50, Gate::Degraded, "{why}");
    assert!(
        why.starts_with("saturated at this load") && why.contains("605556"),
        "{why}"
    );
    // CPU per delivery is still judged (the fixture's figures themselves show no loss).
    assert_ne!(
        verdict(&c, "ws", "server_cpu_us_per_delivery").0,
        Gate::Degraded
    );
    assert_ne!(verdict(&c, "socketio", "latency_p50_ms").0, Gate::Degraded);
    assert!(compare::markdown(&c, "a", "b").contains(DEGRADED));

    // A starved load generator: none of the timings it measures itself; the server's own
    // CPU per delivery is still judged.
    let ws = new
        .runs
        .iter_mut()
        .find(|r| r.status == Status::Degraded)
        .unwrap();
    ws.validity.reasons = vec![Reason {
        kind: ReasonKind::LoadGeneratorStarved,
        detail: "the load generator waited for a CPU 70% of the time".into(),
    }];
    let c = compare::compare(&base, &new, Tolerances::default(), false);
    assert_ne!(
        verdict(&c, "ws", "server_cpu_us_per_delivery").0,
        Gate::Degraded
    );
    for key in ["latency_p99_ms", "connect_p50_ms", "delivered_per_s"] {
        let (v, why) = verdict(&c, "ws", key);
        assert_eq!(v, Gate::Degraded, "{key}: {why}");
        assert!(why.contains("load generator was starved") && why.contains("own cores"));
    }
    assert_eq!(verdict(&c, "ws", "wire_bytes_per_delivery").0, Gate::Same);
}

/// The same figures measured on a machine twice as slow (its CPU kernel took twice as
/// long): judged per machine speed, the change is a halving, while the figures shown are
/// the same. The change column says both, so a judged change is never read against the
/// raw figures beside it (a falling figure was shown as a rise).
#[test]
fn a_change_judged_per_machine_speed_shows_the_change_as_measured_too() {
    use wsbench_report::compare::{self, Tolerances};
    let base = fixture("pair-result.json");
    let mut slower = base.clone();
    if let Some(c) = slower.environment.calibration.as_mut() {
        c.cpu_kernel_ms.iter_mut().for_each(|v| *v *= 2.0);
    }
    for b in slower.runs.iter_mut().flat_map(|r| r.blocks.iter_mut()) {
        b.cpu_kernel_ms = b.cpu_kernel_ms.map(|v| v * 2.0);
    }
    let c = compare::compare(&base, &slower, Tolerances::default(), false);
    let md = compare::markdown(&c, "here", "slower");
    let row = md
        .lines()
        .find(|l| l.starts_with("| ws | server CPU/delivery"))
        .expect("a CPU row");
    assert!(
        row.contains("-50.0%") && row.contains("per machine speed (as measured +0.0%)"),
        "{row}"
    );
}

/// A load so sparse that most blocks of the window see no delivery (`sparse-result.json`:
/// py-ws and py-socketio from a first `wsbench run idle.toml`, 10,000 clients and one
/// message every 10 s, where py-socketio lost some deliveries and so the throughput claim
/// was considered): not enough data, saying why, where it said "delivered/s of py-ws is
/// zero" of a server that delivered 1,000 a second.
#[test]
fn not_enough_data_where_most_blocks_see_no_delivery() {
    let c = claim(&fixture("sparse-result.json"), "higher throughput");
    assert_eq!(c.verdict, Verdict::NotEnoughData, "{}", c.evidence);
    assert!(
        c.evidence
            .contains("delivered/s of py-ws is zero in half or more of its window's blocks"),
        "{}",
        c.evidence
    );
}
