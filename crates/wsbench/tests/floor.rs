//! The kernel's floor (`wsbench floor`, `wsbench run --floor`, the cache a run reads): a
//! floor measured here is kept and used by later runs on this machine only, and the report
//! gives each side's CPU per message as a ratio to the floor of the path it used. Real
//! binary, real sockets.

mod common;

use common::*;
use wsbench_core::result::{Floor, RunResult};

/// What report.md says about the floor.
fn floor_line(dir: &std::path::Path) -> String {
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    report
        .lines()
        .find(|l| l.starts_with("- Floor"))
        .expect("report.md has a floor line")
        .to_owned()
}

/// Each system's ratios, as the report must print them.
fn expected_ratios(result: &RunResult, floor: &Floor) -> Vec<String> {
    result
        .runs
        .iter()
        .map(|run| {
            let server = run.server.as_ref().unwrap();
            let send = floor.send_us(server.io.is_uring()).unwrap();
            let recv = floor.recv_us(run.loadgen.io).unwrap();
            format!(
                "{} server {:.2}×, load generator {:.2}×",
                run.system,
                server.cpu_us_per_delivery / send,
                run.loadgen.cpu_us_per_received / recv
            )
        })
        .collect()
}

#[test]
fn a_floor_measured_here_is_kept_and_every_later_run_reports_its_ratios() {
    let out = temp_dir("floor");
    let cache = out.join("cache").join("floor.json");
    let env = [("WSBENCH_FLOOR_FILE", cache.to_str().unwrap())];
    let path = small_scenario(&out, &[], "");

    // A floor from another machine is not used.
    let mut foreign: Floor = serde_json::from_str(FOREIGN).unwrap();
    foreign.hostname = "another-machine".to_owned();
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(&cache, serde_json::to_vec(&foreign).unwrap()).unwrap();
    let (code, none) = run_with_env(&path, &out.join("none"), &[], &env);
    assert_eq!(code, Some(0));
    assert_eq!(none.environment.floor, None);
    assert!(floor_line(&out.join("none")).contains("none was measured on this machine"));

    // `--floor` measures it, keeps it, and the report gives the ratios to it.
    let (code, measured) = run_with_env(&path, &out.join("measured"), &["--floor"], &env);
    assert_eq!(code, Some(0));
    let floor = measured.environment.floor.clone().expect("a floor");
    assert_eq!(floor.source, "this run");
    assert_eq!(floor.hostname, measured.environment.hostname);
    assert!(
        floor.recv_epoll_us > 0.0 && floor.send_us > 0.0,
        "{floor:?}"
    );
    assert!(
        floor.recv_uring_us.is_some() == floor.uring_refused.is_none(),
        "io_uring measured or why not said: {floor:?}"
    );
    let line = floor_line(&out.join("measured"));
    for ratios in expected_ratios(&measured, &floor) {
        assert!(line.contains(&ratios), "{ratios:?} in {line}");
    }
    let kept: Floor = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    assert_eq!(kept, floor);

    // A later run reads it from the cache, and says so.
    let (code, later) = run_with_env(&path, &out.join("later"), &[], &env);
    assert_eq!(code, Some(0));
    let cached = later.environment.floor.clone().expect("the cached floor");
    assert_eq!(cached.source, format!("cached in {}", cache.display()));
    assert_eq!(cached.measured_at, floor.measured_at);
    let line = floor_line(&out.join("later"));
    assert!(line.contains("Floor (cached in"), "{line}");
    let html = std::fs::read_to_string(out.join("later/report.html")).unwrap();
    for ratios in expected_ratios(&later, &cached) {
        assert!(line.contains(&ratios), "{ratios:?} in {line}");
        assert!(html.contains(&ratios), "{ratios:?} in report.html");
    }
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn wsbench_floor_measures_prints_and_keeps_the_floor() {
    let out = temp_dir("floor-command");
    let cache = out.join("floor.json");
    let done = wsbench()
        .env("WSBENCH_FLOOR_FILE", &cache)
        .args(["floor", "--seconds", "0.2"])
        .output()
        .unwrap();
    assert!(done.status.success(), "{done:?}");
    let stdout = String::from_utf8(done.stdout).unwrap();
    assert!(
        stdout.contains("epoll + recv") && stdout.contains("send"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("kept in {}", cache.display())),
        "{stdout}"
    );
    let kept: Floor = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    assert!(kept.recv_epoll_us > 0.0 && kept.send_us > 0.0, "{kept:?}");
    assert_eq!(kept.seconds_each, 0.2);

    let bad = wsbench()
        .args(["floor", "--seconds", "0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    std::fs::remove_dir_all(out).unwrap();
}

/// A floor as another machine's cache would hold it.
const FOREIGN: &str = r#"{
  "measured_at": "2026-12-03T21:29:10Z",
  "source": "this run",
  "hostname": "x",
  "kernel": "x",
  "cpu_model": "x",
  "connections": 1000,
  "seconds_each": 1.0,
  "recv_epoll_us": 6.5,
  "recv_uring_us": 5.7,
  "send_us": 8.2,
  "send_uring_us": 7.2
}"#;
