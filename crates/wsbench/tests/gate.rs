//! The regression gate end to end: real runs of real servers, one of them made worse on
//! purpose with the test aids (`WSBENCH_HANDICAP_US`, `WSBENCH_HANDICAP_WIRE_BYTES`), and
//! `wsbench compare`'s verdicts and exit codes on them; thresholds in every output; Ctrl-C
//! leaving claims without a verdict.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use wsbench_core::result::Status;

/// The Markdown row of `metric` of `system`.
fn row<'a>(md: &'a str, system: &str, metric: &str) -> &'a str {
    md.lines()
        .find(|l| l.starts_with(&format!("| {system} | {metric}")))
        .unwrap_or_else(|| panic!("no {system} {metric} row in\n{md}"))
}

#[test]
fn a_server_made_slower_and_heavier_on_the_wire_fails_the_gate_and_only_that_direction() {
    let dir = temp_dir("gate");
    // One system (a user gating their own server), a window of 3 s: 6 blocks.
    let scenario = small_scenario(
        &dir,
        &[("duration = \"2s\"", "duration = \"3s\"")],
        "\n[thresholds]\np99 = \"10s\"\nloss = 0.0\n",
    );
    let (base, slow) = (dir.join("base"), dir.join("slow"));
    run_ok(&scenario, &base, &["--transport", "ws"]);
    // 50 µs of CPU per delivery is several times what a delivery costs; 16 pad bytes are
    // an 18-byte pong frame before each message.
    let env = [
        ("WSBENCH_HANDICAP_US", "50"),
        ("WSBENCH_HANDICAP_WIRE_BYTES", "16"),
    ];
    let (code, result) = run_with_env(&scenario, &slow, &["--transport", "ws"], &env);
    assert_eq!(code, Some(0), "{:?}", result.runs[0].error);
    assert!(
        result
            .method
            .iter()
            .any(|l| l.contains("handicapped on purpose")),
        "a handicapped run says so: {:?}",
        result.method
    );
    let before = read_result(&base).runs[0].wire.bytes_per_delivery;
    let after = result.runs[0].wire.bytes_per_delivery;
    assert!((after - before - 18.0).abs() < 0.5, "{before} -> {after}");

    // The two runs were measured back to back, as scripts/perf-check.sh measures its
    // reference and its new build: every block is judged, whatever else the test machine
    // was doing (docs/method.md, "The regression gate").
    let every_block = ["--max-interference", "1"];
    let (code, md) = compare_dirs(&base, &slow, &every_block);
    assert_eq!(code, Some(1), "{md}");
    assert!(
        row(&md, "ws", "server CPU/delivery").contains("**REGRESSED**"),
        "{md}"
    );
    assert!(
        row(&md, "ws", "wire bytes/delivery").contains("**REGRESSED**"),
        "{md}"
    );
    // The way back is an improvement, which never fails. (Latencies are left out: on a
    // loaded test machine the unhandicapped run's tail can be the worse one by chance,
    // which says nothing about direction; docs/method.md, "The regression gate". So is
    // memory per connection, which at 20 clients rests on a few pages of RSS: once, in a
    // full-suite run, the unhandicapped server read 69.4 KiB against 39.6.)
    let loose = [
        "--latency-tolerance",
        "1000",
        "--volatile-tolerance",
        "1000",
        "--memory-tolerance",
        "1000",
        "--max-interference",
        "1",
    ];
    let (code, md) = compare_dirs(&slow, &base, &loose);
    let regressed: Vec<&str> = md.lines().filter(|l| l.contains("REGRESSED")).collect();
    assert_eq!(code, Some(0), "{regressed:?}");
    assert!(
        row(&md, "ws", "server CPU/delivery").contains("| improved |"),
        "{md}"
    );
    // The same result against itself: nothing moved.
    let (code, md) = compare_dirs(&base, &base, &[]);
    assert_eq!(code, Some(0), "{md}");
    assert!(!md.contains("improved"), "{md}");

    // Thresholds are in the result with their values and units, and in every report.
    let checks = &read_result(&base).thresholds;
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert!(
        checks.iter().all(|c| c.pass && c.value.is_some()),
        "{checks:?}"
    );
    assert_eq!(checks[0].unit, "ms");
    let md = std::fs::read_to_string(base.join("report.md")).unwrap();
    assert!(
        md.contains("## Thresholds") && md.contains("| ws | p99 <= 10s |"),
        "{md}"
    );
    let html = std::fs::read_to_string(base.join("report.html")).unwrap();
    assert!(
        html.contains("<h2>Thresholds</h2>"),
        "thresholds in the HTML"
    );
    let csv = wsbench()
        .args(["report", "--format", "csv"])
        .arg(base.join("result.json"))
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.lines().next().unwrap().contains(",thresholds,"),
        "{csv}"
    );
    assert!(csv.lines().nth(1).unwrap().contains(",pass,"), "{csv}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ctrl_c_during_the_second_system_leaves_its_claims_without_a_verdict() {
    let dir = temp_dir("gate-sigint");
    let mut run = wsbench()
        .arg("run")
        .arg(long_scenario(&dir))
        .args(["--duration", "3s", "--out"])
        .arg(&dir)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Once ws is done and Socket.IO's server is up.
    child_running(run.id(), "serve socketio", Duration::from_secs(60));
    // SAFETY: kill(2) on our own child; no memory effects.
    assert_eq!(unsafe { libc::kill(run.id() as i32, libc::SIGINT) }, 0);
    let status = wait_with_timeout(&mut run, Duration::from_secs(30));
    assert_eq!(status.code(), Some(130));
    let result = read_result(&dir);
    assert!(result.runs[0].status.measured());
    assert_eq!(result.runs[1].status, Status::Interrupted);
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for claim in [
        "WebSocket has lower latency",
        "WebSocket has higher throughput",
        "WebSocket costs less CPU per message",
    ] {
        let line = md
            .lines()
            .find(|l| l.starts_with(&format!("| {claim} |")))
            .unwrap_or_else(|| panic!("no {claim} in\n{md}"));
        assert!(line.contains("**not enough data**"), "{line}");
        assert!(line.contains("no complete run"), "{line}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A limit that breaks ends the run with exit 99, and the status column says so where it
/// says `ok` otherwise (in the terminal's table and the reports', which are one table).
#[test]
fn a_broken_threshold_exits_99_and_shows_in_the_status_column() {
    let dir = temp_dir("over-limit");
    let scenario = small_scenario(&dir, &[], "\n[thresholds]\np99 = \"1us\"\n");
    let out = dir.join("out");
    let (code, result) = run_with(&scenario, &out, &["--transport", "ws"]);
    assert_eq!(code, Some(99), "{:?}", result.runs[0].error);
    assert!(result.thresholds.iter().any(|c| !c.pass));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| ws |"))
        .expect("a ws row");
    assert!(row.contains("OVER LIMIT"), "{row}");
    std::fs::remove_dir_all(dir).unwrap();
}
