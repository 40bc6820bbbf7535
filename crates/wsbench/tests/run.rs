//! `wsbench run` end to end: the real binary, real server children, real sockets.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use wsbench_core::result::Status;

#[test]
fn smoke_run_measures_both_transports_completely() {
    let out = temp_dir("smoke");
    let result = run_ok(&scenario_path("smoke.toml"), &out, &[]);
    assert!(result.status.measured(), "{:?}", result.status);
    let transports: Vec<&str> = result.runs.iter().map(|r| r.system.as_str()).collect();
    assert_eq!(transports, ["ws", "socketio"]);
    for run in &result.runs {
        let t = &run.system;
        assert!(run.status.measured(), "{t}: {:?}", run.error);
        assert_eq!(run.connections.connected, 20, "{t}");
        assert!(run.messages.sent > 0, "{t}");
        assert_eq!(run.messages.expected, run.messages.sent * 19, "{t}");
        assert_eq!(run.messages.delivered, run.messages.expected, "{t}");
        assert_eq!(run.messages.lost, 0, "{t}");
        assert_eq!(run.messages.duplicated, 0, "{t}");
        assert_eq!(run.latency.count, run.messages.delivered, "{t}");
        assert!(!run.latency.histogram().unwrap().is_empty(), "{t}");
        assert!(run.wire.bytes_per_delivery >= 64.0, "{t}");
        let server = run.server.as_ref().expect("server figures");
        assert!(
            server.rss_baseline_bytes > 0 && server.rss_idle_bytes > 0,
            "{t}"
        );
        assert!(
            server.rss_peak_bytes > 0 && !server.rss_samples.is_empty(),
            "{t}"
        );
        assert!(
            server.cpu_s > 0.0 && server.cpu_us_per_delivery > 0.0,
            "{t}"
        );
        assert_eq!(server.counters.unwrap().connections_total, 20, "{t}");
        assert!(run.loadgen.cpu_s > 0.0, "{t}");
    }
    assert!(result.environment.cores > 0);
    assert!(!result.environment.crates.is_empty());

    // The result obeys the committed schema, and the reports sit beside it.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&json));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| socketio/ws |"), "{md}");
    // The method says where each server's CPU per delivery goes.
    for (system, path) in [("ws", "written straight"), ("socketio", "task wakeup")] {
        let told = format!("{system}'s server");
        assert!(
            md.lines().any(|l| l.contains(&told) && l.contains(path)),
            "{system}: {md}"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<svg") && !html.contains("<script"),
        "self-contained HTML"
    );
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_server_killed_mid_run_fails_its_transport_and_the_run_goes_on() {
    let out = temp_dir("killed");
    let mut run = wsbench()
        .arg("run")
        .arg(long_scenario(&out))
        .args(["--duration", "8s", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = server_child_of(run.id(), Duration::from_secs(20));
    // Kill it once the clients are in: the listener and the 10 accepted sockets.
    let sockets = || {
        std::fs::read_dir(format!("/proc/{server}/fd")).map_or(0, |dir| {
            dir.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
    };
    let start = Instant::now();
    while sockets() < 11 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "clients never connected"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on a pid we found; no memory effects.
    assert_eq!(unsafe { libc::kill(server as i32, libc::SIGKILL) }, 0);
    let status = wait_with_timeout(&mut run, Duration::from_secs(90));
    assert_eq!(status.code(), Some(1));
    let result = read_result(&out);
    assert_eq!(result.status, Status::Failed);
    let ws = &result.runs[0];
    assert_eq!(ws.status, Status::Failed);
    let error = ws.error.as_deref().unwrap();
    assert!(error.contains("signal 9"), "{error}");
    // The other transport still ran.
    assert_eq!(result.runs[1].system, "socketio");
    assert!(result.runs[1].status.measured());
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn sigint_leaves_an_interrupted_result() {
    let out = temp_dir("sigint");
    let mut run = wsbench()
        .arg("run")
        .arg(long_scenario(&out))
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = server_child_of(run.id(), Duration::from_secs(20));
    // Interrupt once the server is up: clients connect, or traffic flows.
    while std::fs::metadata(format!("/proc/{server}")).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child; no memory effects.
    assert_eq!(unsafe { libc::kill(run.id() as i32, libc::SIGINT) }, 0);
    let status = wait_with_timeout(&mut run, Duration::from_secs(30));
    assert_eq!(status.code(), Some(130));
    let result = read_result(&out);
    assert_eq!(result.status, Status::Interrupted);
    assert_eq!(result.runs.len(), 1, "nothing runs after an interrupt");
    assert_eq!(result.runs[0].status, Status::Interrupted);
    assert!(result.finished_at.is_some());
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_malformed_scenario_is_a_located_error_and_exit_2() {
    let dir = temp_dir("bad");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        std::fs::read_to_string(scenario_path("smoke.toml"))
            .unwrap()
            .replace("clients = 20", "clients = 1"),
    )
    .unwrap();
    let out = wsbench().arg("run").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad.toml:5:11: clients: must be at least 2"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn every_mistake_is_reported_with_exit_2_before_any_process_starts() {
    let dir = temp_dir("mistakes");
    // A cluster (so Redis would start first), and three independent mistakes: one that
    // only shows across fields (echo needs the lean Socket.IO client, which long-polling
    // does not use), a bad value and an unknown encoding.
    let path = small_scenario(
        &dir,
        &[
            (
                "transports = [\"ws\", \"socketio\"]",
                "transports = [\"ws\", \"socketio-polling\"]",
            ),
            ("rate = 20", "rate = 0"),
            ("encoding = \"text\"", "encoding = \"morse\""),
        ],
        "nodes = 2\nmode = \"echo\"\n",
    );
    // A redis-server that leaves a mark if anything starts it.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let marker = dir.join("redis-started");
    let fake = bin.join("redis-server");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\ntouch {}\nsleep 30\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path_var = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out_dir = dir.join("out");
    let out = wsbench()
        .env("PATH", path_var)
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    for (line, field) in lines.iter().zip(["rate", "encoding", "mode"]) {
        assert!(line.starts_with("wsbench: "), "{line}");
        assert!(line.contains("small-smoke.toml:"), "{line}");
        assert!(line.contains(&format!(": {field}: ")), "{line}");
    }
    assert!(
        err.contains("mode = \"echo\" needs the lean Socket.IO client"),
        "{err}"
    );
    assert!(
        !marker.exists(),
        "redis-server was started before the scenario was checked"
    );
    assert!(
        !out_dir.exists(),
        "a result was written for a scenario that cannot run"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn too_low_a_descriptor_limit_fails_before_connecting_and_says_how_many() {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -n 600 && ulimit -Hn 600 && exec '{}' run '{}' --clients 1000",
            env!("CARGO_BIN_EXE_wsbench"),
            scenario_path("smoke.toml").display()
        ))
        .output()
        .unwrap();
    // Nothing was done: the run cannot fit this machine as asked (exit 2, not 1, which
    // says a measured system failed).
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("needs 1260 file descriptors"), "{err}");
    assert!(err.contains("hard limit (ulimit -Hn) is 600"), "{err}");
    assert!(out.stdout.is_empty(), "nothing ran");
}

/// The load generator's memory per client is what its clients hold on the heap, the same
/// on every repeat (as RSS growth it was 20-25 KB on a process's first repeat and 0.5 KB
/// on later ones, which reused what the first had freed).
#[test]
fn the_load_generators_memory_per_client_is_the_same_on_every_repeat() {
    let dir = temp_dir("loadgen-memory");
    let path = small_scenario(
        &dir,
        &[
            ("clients = 20", "clients = 300"),
            ("senders = 4", "senders = 1"),
            ("rate = 20", "rate = 2"),
            ("ramp = \"200ms\"", "ramp = \"600ms\""),
            ("duration = \"2s\"", "duration = \"1s\""),
        ],
        "repeat = 2\n",
    );
    let result = run_ok(&path, &dir.join("out"), &[]);
    for transport in ["ws", "socketio"] {
        let per_client: Vec<f64> = result
            .runs
            .iter()
            .filter(|r| r.system == transport)
            .map(|r| r.loadgen.memory_per_client_bytes)
            .collect();
        assert_eq!(per_client.len(), 2, "{transport}");
        // A client holds at least its read buffer and its task; a bound with room for a
        // debug build's larger tasks and the workers' fixed share over 300 clients.
        for bytes in &per_client {
            assert!(
                (1024.0..32.0 * 1024.0).contains(bytes),
                "{transport}: {per_client:?}"
            );
        }
        let (a, b) = (per_client[0], per_client[1]);
        assert!(
            (a - b).abs() <= 0.1 * a.max(b),
            "{transport}: {per_client:?}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}
