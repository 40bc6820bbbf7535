//! The command line as a user meets it: one table of exit codes for every subcommand, bad
//! values rejected with what was wrong, outputs never replaced without --force, examples in
//! every `--help`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::*;

/// `wsbench ARGS…`: exit code, stdout, stderr (bounded in time).
fn wsbench_with(args: &[&str]) -> (Option<i32>, String, String) {
    let child = wsbench()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_output(child, Duration::from_secs(120))
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../wsbench-report/tests/fixtures/smoke-result.json")
        .canonicalize()
        .unwrap()
}

#[test]
fn every_subcommand_has_examples_and_the_exit_codes_in_its_help() {
    for sub in ["run", "serve", "report", "compare", "merge", "floor"] {
        let (code, out, _) = wsbench_with(&[sub, "--help"]);
        assert_eq!(code, Some(0), "{sub}");
        assert!(
            out.contains("Examples:") && out.contains("Exit codes"),
            "{sub}: {out}"
        );
    }
    let (_, out, _) = wsbench_with(&["--help"]);
    assert!(out.contains("Exit codes") && out.contains("130"), "{out}");
}

#[test]
fn bad_values_and_bad_inputs_exit_2_and_say_what_was_wrong() {
    let dir = temp_dir("cli-inputs");
    let smoke = scenario_path("smoke.toml");
    let smoke = smoke.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["run", smoke, "--clients", "-5"],
            "invalid value '-5' for '--clients <N>'",
        ),
        (
            vec!["compare", "a.json", "b.json", "--timing-tolerance=-1"],
            "'-1' is not a share of 0 or more",
        ),
        (
            vec!["compare", "a.json", "b.json", "--significance", "2"],
            "not a significance level",
        ),
    ];
    for (args, expected) in &cases {
        let (code, _, err) = wsbench_with(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(
            !err.contains("-- -5"),
            "no tip to pass it as the scenario: {err}"
        );
    }

    // Files that are not results: report, compare and merge all say so and exit 2.
    let not_json = dir.join("x.json");
    std::fs::write(&not_json, "hello").unwrap();
    let future = dir.join("future.json");
    std::fs::write(&future, r#"{"schema_version": 99}"#).unwrap();
    let (not_json, future) = (not_json.to_str().unwrap(), future.to_str().unwrap());
    let merged = dir.join("merged.json");
    let merged = merged.to_str().unwrap();
    for args in [
        vec!["report", not_json],
        vec!["report", future],
        vec!["compare", future, future],
        vec!["merge", future, "-o", merged],
    ] {
        let (code, _, err) = wsbench_with(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(
            err.contains("is not JSON") || err.contains("has schema version 99;"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("Some(99)"), "{err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn outputs_are_never_replaced_without_force() {
    let dir = temp_dir("cli-force");
    let fixture = fixture();
    let fixture = fixture.to_str().unwrap();

    // report -o: refused while the file exists, replaced with --force.
    let out = dir.join("report.md");
    std::fs::write(&out, "mine").unwrap();
    let out_s = out.to_str().unwrap();
    let (code, _, err) = wsbench_with(&["report", fixture, "-o", out_s]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");
    let (code, _, err) = wsbench_with(&["report", fixture, "-o", out_s, "--force"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(std::fs::read_to_string(&out).unwrap().starts_with('#'));

    // run --out: a directory holding a result is refused before anything starts.
    let run_dir = dir.join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("result.json"), "earlier").unwrap();
    let smoke = scenario_path("smoke.toml");
    let args = [
        "run",
        smoke.to_str().unwrap(),
        "--out",
        run_dir.to_str().unwrap(),
    ];
    let (code, _, err) = wsbench_with(&args);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read_to_string(run_dir.join("result.json")).unwrap(),
        "earlier"
    );
    let (code, out, err) = wsbench_with(&[&args[..], &["--force", "--duration", "4s"]].concat());
    assert_eq!(code, Some(0), "{err}");
    assert!(read_result(&run_dir).runs[0].messages.delivered > 0);
    // Not a terminal: the live view comes as plain lines, rate, sparkline and p99.
    assert!(
        err.lines().any(|l| l.starts_with("ws#1: measuring")
            && l.contains("delivered/s")
            && l.contains("p99 ≤")),
        "{err}"
    );

    // The end of the run fits 100 columns: headline figures with their direction, the
    // ratio, a verdict per claim, and the three files.
    // (Lines naming a file are as long as its path.)
    let run_dir_text = run_dir.display().to_string();
    let widest = out
        .lines()
        .filter(|l| !l.contains(&run_dir_text))
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    assert!(widest <= 100, "{widest} columns:\n{out}");
    // So do the notes and the live view's plain lines on stderr.
    let widest = err.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 100, "{widest} columns:\n{err}");
    for expected in [
        "deliv/s ↑",
        "p99 ↓",
        "socketio/ws",
        "The seed's claims:",
        "✓ supported        WebSocket has less overhead on the wire: socketio/ws ×1.27",
        "result.json",
        "report.md",
        "report.html",
    ] {
        assert!(out.contains(expected), "no «{expected}» in\n{out}");
    }
    // --wide: every figure, in the full tables.
    let wide_dir = dir.join("wide");
    let (code, out, err) = wsbench_with(&[
        "run",
        smoke.to_str().unwrap(),
        "--transport",
        "ws",
        "--duration",
        "1s",
        "--wide",
        "--out",
        wide_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("p99.9 ms") && out.contains("connect p50 ms"),
        "{out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// In an 80-column terminal (`COLUMNS`, as `ls` reads it) the end of a run fits 80 columns:
/// it was fixed at 100 and wrapped there. Figures with no room are named as left out.
#[test]
fn the_end_of_a_run_fits_an_80_column_terminal() {
    let dir = temp_dir("columns");
    let smoke = scenario_path("smoke.toml");
    let child = wsbench()
        .args(["run", smoke.to_str().unwrap(), "--duration", "1s", "--out"])
        .arg(dir.join("out"))
        .env("COLUMNS", "80")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, out, err) = wait_output(child, Duration::from_secs(120));
    assert_eq!(code, Some(0), "{err}");
    let dir_text = dir.display().to_string();
    for text in [&out, &err] {
        let widest = text
            .lines()
            .filter(|l| !l.contains(&dir_text))
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        assert!(widest <= 80, "{widest} columns:\n{text}");
    }
    for expected in [
        "deliv/s ↑",
        "p50 ↓",
        "socketio/ws",
        "left out at 80 columns",
    ] {
        assert!(out.contains(expected), "no «{expected}» in\n{out}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `wsbench report RESULT --format json | head -1`: a reader that stops early ends the
/// output quietly (it printed "Broken pipe" and exited 1). Likewise for compare.
#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::process::Command;
    let fixture = fixture();
    let fixture = fixture.to_str().unwrap();
    for args in [
        vec!["report", fixture, "--format", "json"],
        vec!["compare", fixture, fixture],
    ] {
        // A pipe whose reader has gone already, as `head` has once it read its lines.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_wsbench"))
            .args(&args)
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

/// `--out` somewhere results cannot be written is refused before anything is measured
/// (it measured, then exited 1 with nothing kept).
#[test]
fn an_output_that_cannot_be_written_is_refused_up_front() {
    let smoke = scenario_path("smoke.toml");
    let started = std::time::Instant::now();
    let (code, _, err) = wsbench_with(&["run", smoke.to_str().unwrap(), "--out", "/proc/nope"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("/proc/nope") && err.contains("--out"), "{err}");
    assert!(!err.contains("measuring"), "nothing measured: {err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refused at once"
    );
}

/// When no client connects, the terminal says why, by kind: a Socket.IO server that refuses
/// the namespace CONNECT (it said only "no client could connect"), nothing listening (said
/// only in report.md).
#[test]
fn a_run_where_no_client_connects_says_why_on_the_terminal() {
    let dir = temp_dir("cli-why");
    let smoke = std::fs::read_to_string(scenario_path("smoke.toml")).unwrap();
    let path = dir.join("nsp.toml");
    std::fs::write(
        &path,
        format!("{smoke}\n[adapter.socketio]\nnamespace = \"/nope\"\n"),
    )
    .unwrap();
    let out = dir.join("out");
    let (code, _, err) = wsbench_with(&[
        "run",
        path.to_str().unwrap(),
        "--transport",
        "socketio",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("20 rejected") && err.contains("CONNECT_ERROR"),
        "{err}"
    );

    let smoke = scenario_path("smoke.toml");
    let out = dir.join("out2");
    let (code, _, err) = wsbench_with(&[
        "run",
        smoke.to_str().unwrap(),
        "--transport",
        "ws",
        "--target",
        "ws=ws://127.0.0.1:9/",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("refused: nothing listens"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
