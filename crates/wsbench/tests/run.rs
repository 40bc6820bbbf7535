//! `wsbench run` end to end: the real binary, real server children, real sockets.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use wsbench_core::result::{RunResult, Status};
use wsbench_core::scenario::Transport;

fn wsbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wsbench"))
}

fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsbench-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("wsbench run did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `wsbench run PATH --out OUT ARGS…` (stdout discarded), which must succeed; its result.
fn run_ok(path: &Path, out: &Path, args: &[&str]) -> RunResult {
    let status = wsbench()
        .arg("run")
        .arg(path)
        .args(args)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    read_result(out)
}

fn read_result(dir: &Path) -> RunResult {
    let text = std::fs::read_to_string(dir.join("result.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A scenario long enough to be interrupted or broken mid-run.
fn long_scenario(dir: &Path) -> PathBuf {
    let path = dir.join("long.toml");
    std::fs::write(
        &path,
        r#"name = "long"
transports = ["ws", "socketio"]
clients = 10
ramp = "100ms"
senders = 2
rate = 10
payload = 64
warmup = "1s"
duration = "60s"
drain = "1s"
"#,
    )
    .unwrap();
    path
}

/// The pid of `parent`'s `wsbench serve` child, once it exists.
fn server_child_of(parent: u32, limit: Duration) -> u32 {
    let start = Instant::now();
    while start.elapsed() < limit {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
                continue;
            };
            let ppid: u32 = after.split_whitespace().nth(1).unwrap().parse().unwrap();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if ppid == parent && String::from_utf8_lossy(&cmdline).contains("serve") {
                return pid;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no server child appeared");
}

#[test]
fn smoke_run_measures_both_transports_completely() {
    let out = temp_dir("smoke");
    let result = run_ok(&scenario_path("smoke.toml"), &out, &[]);
    assert_eq!(result.status, Status::Complete);
    let transports: Vec<Transport> = result.runs.iter().map(|r| r.transport).collect();
    assert_eq!(transports, vec![Transport::Ws, Transport::Socketio]);
    for run in &result.runs {
        let t = run.transport;
        assert_eq!(run.status, Status::Complete, "{t}: {:?}", run.error);
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
    assert_eq!(result.runs[1].transport, Transport::Socketio);
    assert_eq!(result.runs[1].status, Status::Complete);
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
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("needs 1260 file descriptors"), "{err}");
    assert!(err.contains("hard limit (ulimit -Hn) is 600"), "{err}");
    assert!(out.stdout.is_empty(), "nothing ran");
}

#[test]
fn a_rooms_run_keeps_every_message_in_its_room_on_both_transports() {
    let out = temp_dir("rooms");
    let path = out.join("rooms.toml");
    std::fs::write(
        &path,
        r#"name = "rooms-small"
transports = ["ws", "socketio"]
mode = "rooms"
room_size = 10
clients = 30
ramp = "300ms"
senders = 6
rate = 10
payload = 64
warmup = "500ms"
duration = "2s"
drain = "1s"
"#,
    )
    .unwrap();
    let result = run_ok(&path, &out, &[]);
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        assert_eq!(run.status, Status::Complete, "{:?}", run.error);
        assert_eq!(run.messages.misrouted, 0);
        // 3 rooms of 10: each probe is owed to the 9 other members of its room.
        assert_eq!(run.messages.expected, run.messages.sent * 9);
        assert_eq!(run.messages.delivered, run.messages.expected);
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| Socket.IO broadcasts to rooms | **supported** |"),
        "{md}"
    );
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_polling_run_delivers_everything_and_counts_its_bytes_at_the_server() {
    let out = temp_dir("polling");
    let path = scenario_copy(
        &out,
        "polling.toml",
        &[
            ("clients = 100", "clients = 8"),
            ("ramp = \"10s\"", "ramp = \"800ms\""),
            ("senders = 10", "senders = 2"),
            ("warmup = \"3s\"", "warmup = \"500ms\""),
            ("duration = \"15s\"", "duration = \"2s\""),
            ("drain = \"2s\"", "drain = \"1s\""),
            ("repeat = 2", "repeat = 1"),
        ],
        "",
    );
    let result = run_ok(
        &path,
        &out,
        &["--transport", "socketio", "--transport", "socketio-polling"],
    );
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        let t = run.transport;
        assert_eq!(run.status, Status::Complete, "{t}: {:?}", run.error);
        assert!(run.messages.sent > 0, "{t}");
        assert_eq!(run.messages.expected, run.messages.sent * 7, "{t}");
        assert_eq!(run.messages.delivered, run.messages.expected, "{t}");
        assert!(run.wire.measured(), "{t}: {:?}", run.wire);
        assert!(run.wire.bytes_per_delivery >= 64.0, "{t}: {:?}", run.wire);
    }
    assert_eq!(result.runs[0].wire.source, "client sockets");
    // rust_socketio owns its sockets: the polling bytes are the server's.
    assert_eq!(result.runs[1].wire.source, "server sockets");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| Socket.IO falls back to long-polling | **supported** |"),
        "{md}"
    );
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_connect_storm_reports_its_rate_and_handshake_times() {
    let out = temp_dir("storm");
    let path = scenario_copy(
        &out,
        "connect-storm.toml",
        &[
            ("clients = 5000", "clients = 200"),
            ("duration = \"3s\"", "duration = \"1s\""),
            ("repeat = 3", "repeat = 1"),
        ],
        "",
    );
    let result = run_ok(&path, &out, &[]);
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        let t = run.transport;
        let c = &run.connections;
        assert_eq!(run.status, Status::Complete, "{t}: {:?}", run.error);
        assert_eq!(c.connected, 200, "{t}: {:?}", c.failures);
        assert_eq!(c.connect_time.count, 200, "{t}");
        // Everyone started at once: the span is about the slowest handshake, not a ramp.
        assert!(c.connect_span_s > 0.0, "{t}");
        assert!(
            c.connect_span_s * 1e6 >= c.connect_time.max_us as f64 * 0.99,
            "{t}"
        );
        assert!(
            (c.connects_per_s - 200.0 / c.connect_span_s).abs() < 1e-6,
            "{t}"
        );
        assert_eq!(run.messages.delivered, run.messages.expected, "{t}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Connections"), "{md}");
    assert!(md.contains("| ws | 200/200 |"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Connect time by percentile"));
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn slow_consumers_are_bounded_by_the_overflow_policy_and_reported_apart() {
    let out = temp_dir("slow");
    // 4 of 12 clients stop reading; 2 senders push 60 KB messages, 24 MB per stalled client
    // over the window: far more than the kernel's socket buffers and a 16-message queue.
    let path = scenario_copy(
        &out,
        "slow-consumer.toml",
        &[
            ("clients = 1000", "clients = 12"),
            ("ramp = \"2s\"", "ramp = \"300ms\""),
            ("senders = 10", "senders = 2"),
            ("rate = 10", "rate = 50"),
            ("payload = 8192", "payload = 60000"),
            ("stalled = 0.1", "stalled = 4\nqueue_capacity = 16"),
            ("warmup = \"3s\"", "warmup = \"500ms\""),
            ("duration = \"45s\"", "duration = \"4s\""),
        ],
        "",
    );
    let result = run_ok(&path, &out, &[]);
    assert_eq!(result.scenario.stalled, 4);
    for run in &result.runs {
        let t = run.transport;
        assert_eq!(run.status, Status::Complete, "{t}: {:?}", run.error);
        // Owed only to the 7 other clients that keep reading, and all of it arrived.
        assert_eq!(run.messages.expected, run.messages.sent * 7, "{t}");
        assert_eq!(run.messages.delivered, run.messages.expected, "{t}");
        let server = run.server.as_ref().unwrap();
        let counters = server.counters.unwrap();
        assert!(
            counters.deliveries_dropped > 0,
            "{t}: the policy never acted: {counters:?}"
        );
        assert!(!server.rss_samples.is_empty(), "{t}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Slow consumers"), "{md}");
    assert!(md.contains("4 of 12 clients stopped reading"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Server RSS over time"));
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn after_a_server_is_killed_every_client_reconnects_and_the_outage_is_accounted() {
    let out = temp_dir("reconnect");
    let path = scenario_copy(
        &out,
        "reconnect.toml",
        &[
            ("clients = 1000", "clients = 20"),
            ("ramp = \"2s\"", "ramp = \"200ms\""),
            ("senders = 10", "senders = 4"),
            ("warmup = \"3s\"", "warmup = \"500ms\""),
            ("duration = \"20s\"", "duration = \"4s\""),
            ("drain = \"3s\"", "drain = \"1s\""),
            ("repeat = 2", "repeat = 1"),
            ("at = \"5s\"", "at = \"1s\""),
            ("down = \"1s\"", "down = \"300ms\""),
            ("reconnect_delay = \"1s\"", "reconnect_delay = \"100ms\""),
        ],
        "",
    );
    let result = run_ok(&path, &out, &[]);
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        let t = run.transport;
        assert_eq!(run.status, Status::Complete, "{t}: {:?}", run.error);
        let o = run.outage.as_ref().expect("outage figures");
        assert_eq!(o.clients_at_kill, 20, "{t}");
        assert_eq!(o.reconnected, 20, "{t}: {o:?}");
        let all = o.back_all_s.expect("every client came back");
        // Nobody can be back before the new server was started, 300 ms after the kill.
        assert!(all >= 0.3, "{t}: {o:?}");
        assert!(o.back_p50_s.unwrap() <= all, "{t}");
        // Something was owed during the outage and not all of it arrived.
        assert!(
            o.owed_during > 0 && o.delivered_during < o.owed_during,
            "{t}: {o:?}"
        );
        // Once everyone is back, every message due is delivered again.
        let (owed, delivered) = run
            .timeline
            .between(o.killed_at_s + all + 0.3, run.window.measured_s);
        assert!(owed > 0, "{t}");
        assert_eq!(delivered, owed, "{t}: {o:?}");
        assert_eq!(run.connections.disconnected, 0, "{t}");
        assert_eq!(
            run.messages.lost,
            run.messages.expected - run.messages.delivered
        );
    }
    let (ws, sio) = (&result.runs[0], &result.runs[1]);
    let (wo, so) = (ws.outage.as_ref().unwrap(), sio.outage.as_ref().unwrap());
    // Raw WS has no send buffer; Socket.IO's buffers what is sent while disconnected.
    assert_eq!(wo.buffered, 0);
    assert_eq!(so.discarded, 0);
    assert!(wo.discarded > 0 && so.buffered > 0, "{wo:?} {so:?}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Reconnection"), "{md}");
    assert!(
        md.contains("| Socket.IO reconnects automatically | **supported** |"),
        "{md}"
    );
    std::fs::remove_dir_all(out).unwrap();
}

/// The smoke scenario with `extra` appended and `replace` applied, written to `dir`.
fn small_scenario(dir: &Path, replace: &[(&str, &str)], extra: &str) -> PathBuf {
    scenario_copy(dir, "smoke.toml", replace, extra)
}

/// A shipped scenario made small for a test: each `(from, to)` must be in the file (so a
/// changed scenario fails loudly), then `extra` is appended; written to `dir`.
fn scenario_copy(dir: &Path, name: &str, replace: &[(&str, &str)], extra: &str) -> PathBuf {
    let mut text = std::fs::read_to_string(scenario_path(name)).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{name} has no {from}");
        text = text.replace(from, to);
    }
    text.push_str(extra);
    let path = dir.join(format!("small-{name}"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_sweep_runs_every_point_and_reports_each() {
    let out = temp_dir("sweep");
    let path = small_scenario(
        &out,
        &[
            ("clients = 20", "clients = [6, 12]"),
            ("duration = \"2s\"", "duration = \"1s\""),
        ],
        "",
    );
    let result = run_ok(&path, &out, &[]);
    assert_eq!(result.scenario.sweep.len(), 1);
    let got: Vec<(Transport, f64, u64)> = result
        .runs
        .iter()
        .map(|r| (r.transport, r.point["clients"], r.connections.connected))
        .collect();
    assert_eq!(
        got,
        [
            (Transport::Ws, 6.0, 6),
            (Transport::Socketio, 6.0, 6),
            (Transport::Ws, 12.0, 12),
            (Transport::Socketio, 12.0, 12)
        ]
    );
    for run in &result.runs {
        let clients = run.point["clients"] as u64;
        assert_eq!(run.messages.expected, run.messages.sent * (clients - 1));
        assert_eq!(run.messages.delivered, run.messages.expected);
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| ws clients=6 | 6/6 |"), "{md}");
    assert!(md.contains("| socketio/ws clients=12 |"), "{md}");
    assert!(md.contains("## The claims (judged at clients=12)"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("by clients"), "sweep charts");
    // A sweep compares point by point.
    let compared = wsbench()
        .arg("compare")
        .arg(out.join("result.json"))
        .arg(out.join("result.json"))
        .output()
        .unwrap();
    assert_eq!(compared.status.code(), Some(0));
    let text = String::from_utf8(compared.stdout).unwrap();
    assert!(text.contains("| socketio/ws clients=12 |"), "{text}");
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_search_stops_each_transport_at_the_first_broken_limit() {
    let out = temp_dir("search");
    // Rate 5 → 10 → 20 msg/s per sender: the loss limit holds, but no p99 is under 1 µs,
    // so every transport breaks at its first step; the second scenario's limit always holds.
    let path = small_scenario(
        &out,
        &[("duration = \"2s\"", "duration = \"1s\"")],
        "\n[search]\nfield = \"rate\"\nstart = 5\nfactor = 2\nmax = 20\np99 = \"1us\"\n",
    );
    let result = run_ok(&path, &out, &[]);
    assert_eq!(result.search.len(), 2);
    for o in &result.search {
        assert_eq!(o.highest_held, None, "{o:?}");
        assert_eq!(o.first_broken, Some(5.0), "{o:?}");
        assert!(o.stopped.contains("p99"), "{o:?}");
    }
    assert_eq!(result.runs.len(), 2, "one step per transport");

    let path = small_scenario(
        &out,
        &[("duration = \"2s\"", "duration = \"1s\"")],
        "\n[search]\nfield = \"rate\"\nstart = 5\nfactor = 2\nmax = 20\np99 = \"30s\"\n",
    );
    let out2 = out.join("held");
    let result = run_ok(&path, &out2, &[]);
    for o in &result.search {
        assert_eq!(o.highest_held, Some(20.0), "{o:?}");
        assert_eq!(o.first_broken, None, "{o:?}");
    }
    let rates: Vec<f64> = result.runs.iter().map(|r| r.point["rate"]).collect();
    assert_eq!(rates, [5.0, 10.0, 20.0, 5.0, 10.0, 20.0]);
    let md = std::fs::read_to_string(out2.join("report.md")).unwrap();
    assert!(md.contains("## Saturation search"), "{md}");
    assert!(md.contains("| ws | 20 | - |"), "{md}");
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_cluster_delivers_across_nodes_and_survives_a_killed_node() {
    let test = "a_cluster_delivers_across_nodes_and_survives_a_killed_node";
    if wsbench_core::redis_server::RedisServer::start_or_skip(test).is_none() {
        return;
    }
    let out = temp_dir("cluster");
    let path = small_scenario(
        &out,
        &[
            ("clients = 20", "clients = 12\nnodes = 2"),
            ("duration = \"2s\"", "duration = \"3s\""),
        ],
        "",
    );
    let result = run_ok(&path, &out, &[]);
    for run in &result.runs {
        let t = run.transport;
        assert_eq!(run.status, Status::Complete, "{t}: {:?}", run.error);
        // Half the clients are on the other node: every delivery still arrives, once.
        assert_eq!(run.messages.expected, run.messages.sent * 11, "{t}");
        assert_eq!(run.messages.delivered, run.messages.expected, "{t}");
        assert_eq!(run.messages.duplicated, 0, "{t}");
        let cluster = run.cluster.as_ref().expect("cluster figures");
        assert_eq!(cluster.nodes.len(), 2, "{t}");
        assert!(
            cluster
                .nodes
                .iter()
                .all(|n| n.clients == 6 && n.rss_idle_bytes > 0)
        );
        assert!(
            cluster.nodes[1].counters.unwrap().connections_total == 6,
            "{t}"
        );
        // Half the deliveries cross nodes, and their latency is recorded apart.
        let cross = cluster.cross_node_latency.count;
        assert!(cross > 0 && cross < run.latency.count, "{t}: {cross}");
    }

    // Node 1 killed 1 s into the window: node 0's clients keep receiving.
    let killed = small_scenario(
        &out,
        &[
            (
                "clients = 20",
                "clients = 12\nnodes = 2\nkill_node_at = \"1s\"",
            ),
            ("duration = \"2s\"", "duration = \"3s\""),
        ],
        "",
    );
    let out2 = out.join("killed");
    let result = run_ok(&killed, &out2, &[]);
    for run in &result.runs {
        let t = run.transport;
        let cluster = run.cluster.as_ref().unwrap();
        assert_eq!(cluster.nodes[1].killed_at_s, Some(1.0), "{t}");
        // Before the kill everything arrived; after it, node 0's clients still received
        // (more than nothing) but node 1's deliveries were lost.
        let (owed, delivered) = run.timeline.between(0.0, 0.9);
        assert_eq!(delivered, owed, "{t}");
        let (owed, delivered) = run.timeline.between(1.5, run.window.measured_s);
        assert!(
            delivered > 0 && delivered < owed,
            "{t}: {delivered} of {owed}"
        );
        assert_eq!(run.connections.disconnected, 6, "{t}");
    }
    let md = std::fs::read_to_string(out2.join("report.md")).unwrap();
    assert!(
        md.contains("## Cluster") && md.contains("killed at 1.0 s"),
        "{md}"
    );
    std::fs::remove_dir_all(out).unwrap();
}
