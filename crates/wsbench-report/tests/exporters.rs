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
fn claims_of_an_older_result_without_blocks_follow_its_figures() {
    let mut result = fixture();
    let verdict = |r: &RunResult, claim: &str| {
        evaluate(r, &summarize(r))
            .into_iter()
            .find(|c| c.claim.contains(claim))
            .unwrap()
    };
    assert_eq!(
        verdict(&result, "less overhead on the wire").verdict,
        Verdict::Supported
    );
    assert_eq!(verdict(&result, "reconnects").verdict, Verdict::NotMeasured);
    // One repeat and no blocks: no interval, so no verdict on a timing.
    let latency = verdict(&result, "lower latency");
    assert_eq!(latency.verdict, Verdict::NotEnoughData);
    assert!(
        latency.evidence.contains("without per-window blocks"),
        "{}",
        latency.evidence
    );
    // 20 clients: RSS resolves memory per connection only to 25.6 KiB.
    assert_eq!(
        verdict(&result, "less memory").verdict,
        Verdict::Inconclusive
    );
    // Socket.IO's wire cost made WebSocket's: no difference (both exact to 0.5%).
    let ws_wire = result.runs[0].wire.bytes_per_delivery;
    result.runs[1].wire.bytes_per_delivery = ws_wire;
    assert_eq!(
        verdict(&result, "less overhead on the wire").verdict,
        Verdict::NoDifference
    );
    // And twice WebSocket's the other way: reversed.
    result.runs[0].wire.bytes_per_delivery = ws_wire * 2.0;
    assert_eq!(
        verdict(&result, "less overhead on the wire").verdict,
        Verdict::Reversed
    );
}

#[test]
fn compare_passes_the_same_result_and_fails_only_a_change_for_the_worse() {
    let base = fixture();
    let t = Tolerances::default;
    let same = compare::compare(&base, &base, t(), false);
    assert_eq!(same.exit_code(), compare::EXIT_OK);

    let mut worse = base.clone();
    worse.runs[1].wire.bytes_per_delivery *= 1.10;
    // Without blocks or three repeats a timing is not judged, however far it moved.
    worse.runs[0].latency.p99_us *= 5;
    let c = compare::compare(&base, &worse, t(), false);
    assert_eq!(c.exit_code(), compare::EXIT_REGRESSION);
    let md = compare::markdown(&c, "base.json", "worse.json");
    assert_eq!(md.matches("**REGRESSED**").count(), 1, "{md}");
    assert!(md.contains("without per-window blocks"), "{md}");
    // The way back improves, and passes.
    let c = compare::compare(&worse, &base, t(), false);
    assert_eq!(c.exit_code(), compare::EXIT_OK);
    assert!(compare::markdown(&c, "a", "b").contains("| improved |"));

    let mut other = base.clone();
    other.scenario.clients += 1;
    assert_eq!(
        compare::compare(&base, &other, t(), false).exit_code(),
        compare::EXIT_NOT_COMPARABLE
    );
}

#[test]
fn another_machine_is_warned_about_or_refused() {
    let base = fixture();
    let mut elsewhere = base.clone();
    elsewhere.environment.cpu_model = "Some Other CPU".to_owned();
    elsewhere.environment.cores += 6;
    let c = compare::compare(&base, &elsewhere, Tolerances::default(), false);
    assert_eq!(c.exit_code(), compare::EXIT_OK);
    let md = compare::markdown(&c, "a", "b");
    assert!(
        md.contains("**Warning: the two results come from different machines**"),
        "{md}"
    );
    assert!(
        md.contains("CPU model: ") && md.contains("→ Some Other CPU"),
        "{md}"
    );
    let strict = compare::compare(&base, &elsewhere, Tolerances::default(), true);
    assert_eq!(strict.exit_code(), compare::EXIT_NOT_COMPARABLE);
}

#[test]
fn thresholds_pass_and_fail_on_the_medians_in_one_unit() {
    let mut result = fixture();
    result.scenario.thresholds.p99 = Some(wsbench_core::scenario::HumanDuration(
        std::time::Duration::from_secs(1),
    ));
    result.scenario.thresholds.loss = Some(0.0);
    result.scenario.thresholds.memory_per_connection = Some(1 << 30);
    let checks = wsbench_report::thresholds::check(&result);
    assert_eq!(checks.len(), 6);
    assert!(checks.iter().all(|c| c.pass), "{checks:?}");
    let memory = checks
        .iter()
        .find(|c| c.limit.starts_with("memory"))
        .unwrap();
    assert_eq!(memory.unit, "bytes");
    assert!(memory.value.unwrap() > 1024.0, "bytes, not KiB: {memory:?}");
    result.scenario.thresholds.p99 = Some(wsbench_core::scenario::HumanDuration(
        std::time::Duration::from_micros(1),
    ));
    let checks = wsbench_report::thresholds::check(&result);
    assert_eq!(checks.iter().filter(|c| !c.pass).count(), 2);
    let p99 = checks.iter().find(|c| !c.pass).unwrap();
    assert_eq!((p99.unit.as_str(), p99.bound), ("ms", 0.001));
}

/// A search's limits are judged by the thresholds' rule: the same medians, the same words.
#[test]
fn a_searchs_limits_are_judged_as_thresholds_are() {
    let result = fixture();
    let search: wsbench_core::scenario::Search = serde_json::from_str(
        r#"{"field": "rate", "start": 5, "factor": 2, "max": 20, "p99": "1us", "loss": 0.5}"#,
    )
    .unwrap();
    let s = &wsbench_report::summary::summarize(&result)[0];
    let checks = wsbench_report::thresholds::judge(s, &search.limits());
    assert_eq!(checks.len(), 2, "{checks:?}");
    let broken: Vec<_> = checks.iter().filter(|c| !c.pass).collect();
    assert_eq!(broken.len(), 1, "{checks:?}");
    let text = wsbench_report::thresholds::broken_text(broken[0]);
    assert!(text.starts_with("p99 <= 1us broken ("), "{text}");
    assert!(text.ends_with(" ms)"), "{text}");
}
