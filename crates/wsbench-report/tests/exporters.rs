//! Exporters on a real result (a smoke run kept as a fixture): snapshots of every format,
//! claims, thresholds and compare verdicts.

use std::path::Path;

use wsbench_core::result::RunResult;
use wsbench_report::Format;
use wsbench_report::claims::{Verdict, evaluate};
use wsbench_report::compare::{self, Tolerances};
use wsbench_report::summary::summarize;

fn fixture() -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smoke-result.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn render(format: Format) -> String {
    String::from_utf8(format.exporter().render(&fixture()).unwrap()).unwrap()
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(render(Format::Markdown));
}

#[test]
fn csv_snapshot() {
    insta::assert_snapshot!(render(Format::Csv));
}

#[test]
fn html_snapshot_is_self_contained() {
    let html = render(Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Nothing is fetched: no script, stylesheet link or import, and the only URL is the SVG
    // namespace, which is a name, not a request.
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("@import"));
    let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
    assert_eq!(
        html.matches("<svg").count(),
        6,
        "a latency chart, a connect-time chart and four bar charts"
    );
    insta::assert_snapshot!(html);
}

#[test]
fn json_round_trips() {
    let back: RunResult = serde_json::from_str(&render(Format::Json)).unwrap();
    assert_eq!(back.runs.len(), fixture().runs.len());
}

#[test]
fn claims_follow_the_data() {
    let mut result = fixture();
    let verdict = |r: &RunResult, claim: &str| {
        evaluate(r, &summarize(r))
            .into_iter()
            .find(|c| c.claim.contains(claim))
            .unwrap()
            .verdict
    };
    assert_eq!(
        verdict(&result, "less overhead on the wire"),
        Verdict::Supported
    );
    assert_eq!(verdict(&result, "reconnects"), Verdict::NotMeasured);
    // Make Socket.IO's wire cost equal to WebSocket's: the claim no longer holds.
    let ws_wire = result.runs[0].wire.bytes_per_delivery;
    result.runs[1].wire.bytes_per_delivery = ws_wire;
    assert_eq!(
        verdict(&result, "less overhead on the wire"),
        Verdict::Contradicted
    );
}

#[test]
fn compare_passes_the_same_result_and_catches_a_worse_one() {
    let base = fixture();
    let same = compare::compare(&base, &base, Tolerances::default());
    assert_eq!(same.exit_code(), compare::EXIT_OK);

    let mut worse = base.clone();
    worse.runs[1].wire.bytes_per_delivery *= 1.10;
    worse.runs[0].latency.p99_us *= 5;
    let c = compare::compare(&base, &worse, Tolerances::default());
    assert_eq!(c.exit_code(), compare::EXIT_REGRESSION);
    let md = compare::markdown(&c, "base.json", "worse.json");
    assert!(md.contains("REGRESSED"), "{md}");
    assert_eq!(md.matches("**REGRESSED**").count(), 2, "{md}");

    let mut other = base.clone();
    other.scenario.clients += 1;
    assert_eq!(
        compare::compare(&base, &other, Tolerances::default()).exit_code(),
        compare::EXIT_NOT_COMPARABLE
    );
}

#[test]
fn thresholds_pass_and_fail_on_the_medians() {
    let mut result = fixture();
    result.scenario.thresholds.p99 = Some(wsbench_core::scenario::HumanDuration(
        std::time::Duration::from_secs(1),
    ));
    result.scenario.thresholds.loss = Some(0.0);
    let checks = wsbench_report::thresholds::check(&result);
    assert_eq!(checks.len(), 4);
    assert!(checks.iter().all(|c| c.pass), "{checks:?}");
    result.scenario.thresholds.p99 = Some(wsbench_core::scenario::HumanDuration(
        std::time::Duration::from_micros(1),
    ));
    let checks = wsbench_report::thresholds::check(&result);
    assert_eq!(checks.iter().filter(|c| !c.pass).count(), 2);
}

#[test]
fn lower_latency_is_not_supported_when_the_tail_favours_socketio() {
    let mut result = fixture();
    let claim = |r: &RunResult| {
        evaluate(r, &summarize(r))
            .into_iter()
            .find(|c| c.claim == "WebSocket has lower latency")
            .unwrap()
    };
    assert_eq!(claim(&result).verdict, Verdict::Supported);
    // Same medians, but raw WebSocket's p99 now twice Socket.IO's.
    let sio_p99 = result
        .runs
        .iter()
        .find(|r| r.transport.as_str() == "socketio")
        .unwrap()
        .latency
        .p99_us;
    for run in result
        .runs
        .iter_mut()
        .filter(|r| r.transport.as_str() == "ws")
    {
        run.latency.p99_us = sio_p99 * 2;
    }
    let c = claim(&result);
    assert_eq!(c.verdict, Verdict::Contradicted, "{}", c.evidence);
    assert!(
        c.evidence.contains("clearly favours socketio"),
        "{}",
        c.evidence
    );
}
