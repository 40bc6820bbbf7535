//! Systems under test beyond the built-in ones: servers started from a scenario's command
//! (process trees, readiness, stopping everything they started), targets with a pid, CPU
//! pinning, and the seed's Node.js servers. Real processes on loopback.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use wsbench_core::result::Status;
use wsbench_core::system::Protocol;

const SMOKE_TRANSPORTS: &str = "transports = [\"ws\", \"socketio\"]";

/// The smoke scenario measuring `transports` (a TOML list), with `systems` appended.
fn with_systems(dir: &Path, transports: &str, systems: &str) -> PathBuf {
    small_scenario(
        dir,
        &[(SMOKE_TRANSPORTS, &format!("transports = {transports}"))],
        systems,
    )
}

/// A `[systems.NAME]` table running `script` under sh, its processes marked with `mark` in
/// their environment so that a test can find any it left behind.
fn sh_system(name: &str, script: &str, mark: &str, extra: &str) -> String {
    format!(
        "\n[systems.{name}]\nprotocol = \"ws\"\ncommand = [\"sh\", \"-c\", {script:?}]\n\
         env = {{ WSBENCH_TEST_MARK = \"{mark}\", PORT = \"{{port}}\" }}\n{extra}"
    )
}

/// Processes whose environment holds `mark`.
fn marked(mark: &str) -> Vec<u32> {
    let needle = format!("WSBENCH_TEST_MARK={mark}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == needle.as_bytes()))
        })
        .collect()
}

/// Waits (bounded) until no process carries `mark`.
fn assert_nothing_left(mark: &str) {
    let start = Instant::now();
    while !marked(mark).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "processes left running: {:?}",
            marked(mark)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wsbench")
}

#[test]
fn a_server_that_forks_is_measured_as_a_whole_tree_and_leaves_nothing_behind() {
    let dir = temp_dir("tree");
    let mark = format!("tree-{}", std::process::id());
    // sh starts the real server and waits: the CPU of the run is the child's.
    let script = format!("'{}' serve ws --listen 127.0.0.1:$PORT & wait", bin());
    let path = with_systems(
        &dir,
        "[\"forking\"]",
        &sh_system("forking", &script, &mark, ""),
    );
    let (code, result) = run_with(&path, &dir.join("out"), &[]);
    assert_eq!(code, Some(0), "{:?}", result.runs[0].error);
    let run = &result.runs[0];
    assert_eq!(run.messages.delivered, run.messages.expected);
    let server = run
        .server
        .as_ref()
        .expect("server figures for a command's server");
    assert!(
        server.cpu_s > 0.0 && server.cpu_us_per_delivery > 0.0,
        "{server:?}"
    );
    assert!(
        server.rss_idle_bytes > server.rss_baseline_bytes,
        "{server:?}"
    );
    assert!(server.memory_per_connection_bytes > 0.0);
    assert!(
        result
            .method
            .iter()
            .any(|l| l.contains("whole process tree"))
    );
    assert_nothing_left(&mark);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_server_that_ignores_sigterm_is_killed_with_everything_it_started() {
    let dir = temp_dir("stubborn");
    let mark = format!("stubborn-{}", std::process::id());
    let script = format!(
        "trap '' TERM; '{}' serve ws --listen 127.0.0.1:$PORT & while :; do sleep 1; done",
        bin()
    );
    let path = with_systems(
        &dir,
        "[\"stubborn\"]",
        &sh_system("stubborn", &script, &mark, ""),
    );
    let (code, result) = run_with(&path, &dir.join("out"), &[]);
    assert_eq!(code, Some(0), "{:?}", result.runs[0].error);
    assert_nothing_left(&mark);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn servers_that_cannot_start_fail_their_system_and_the_run_goes_on() {
    let dir = temp_dir("unready");
    let mark = format!("unready-{}", std::process::id());
    let systems = [
        sh_system(
            "never",
            "exec sleep 60",
            &mark,
            "ready_timeout = \"500ms\"\n",
        ),
        sh_system("crashes", "echo boom >&2; exit 3", &mark, ""),
    ]
    .concat();
    let path = with_systems(&dir, "[\"never\", \"crashes\", \"ws\"]", &systems);
    let start = Instant::now();
    let (code, result) = run_with(&path, &dir.join("out"), &[]);
    assert_eq!(code, Some(1));
    assert!(start.elapsed() < Duration::from_secs(60));
    let error = |name: &str| {
        let run = result.runs.iter().find(|r| r.system == name).unwrap();
        assert_eq!(run.status, Status::Failed, "{name}");
        run.error.clone().unwrap()
    };
    assert!(
        error("never").contains("did not accept connections"),
        "{}",
        error("never")
    );
    assert!(
        error("never").contains("within 500ms"),
        "{}",
        error("never")
    );
    assert!(
        error("crashes").contains("exit status: 3"),
        "{}",
        error("crashes")
    );
    assert!(error("crashes").contains("boom"), "{}", error("crashes"));
    let ws = result.runs.iter().find(|r| r.system == "ws").unwrap();
    assert!(ws.status.measured(), "{:?}", ws.status);
    assert_nothing_left(&mark);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A program that is not there and a process that does not exist are found before
/// anything is measured, both at once, as the request's mistakes (exit 2); they were found
/// when their system's turn came, after the others had been measured (exit 1).
#[test]
fn a_missing_program_and_a_missing_process_are_refused_up_front() {
    let dir = temp_dir("preflight");
    let missing =
        "\n[systems.missing]\nprotocol = \"ws\"\ncommand = [\"no-such-server-here\", \"{port}\"]\n";
    let path = with_systems(&dir, "[\"ws\", \"missing\"]", missing);
    let started = Instant::now();
    let out = wsbench()
        .args(["run", path.to_str().unwrap(), "--out"])
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("[systems.missing]: cannot find `no-such-server-here`"),
        "{err}"
    );
    assert!(!err.contains("measuring") && !dir.join("out/result.json").exists());
    assert!(started.elapsed() < Duration::from_secs(20));

    let smoke = scenario_path("smoke.toml");
    let out = wsbench()
        .args(["run", smoke.to_str().unwrap(), "--transport", "ws"])
        .args([
            "--target",
            "ws=ws://127.0.0.1:9/",
            "--target-pid",
            "ws=4294967294",
        ])
        .arg("--out")
        .arg(dir.join("out2"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--target-pid ws=4294967294: no process"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The port wsbench picked for a server can be taken by another process before the server
/// binds it: a server that dies saying so is started again on another port (one of three
/// runs of a `[systems.X]` server failed so).
#[test]
fn a_server_whose_port_was_taken_is_started_again_on_another() {
    let dir = temp_dir("port-taken");
    let mark = format!("port-taken-{}", std::process::id());
    let once = dir.join("failed-once");
    let script = format!(
        "if [ ! -e {once} ]; then touch {once}; \
         echo 'Error: listen EADDRINUSE: address already in use 127.0.0.1:'$PORT >&2; exit 1; fi; \
         exec {bin} serve ws --listen 127.0.0.1:$PORT",
        once = once.display(),
        bin = bin()
    );
    let systems = sh_system("unlucky", &script, &mark, "");
    let path = with_systems(&dir, "[\"unlucky\"]", &systems);
    let (code, result) = run_with(&path, &dir.join("out"), &[]);
    assert_eq!(code, Some(0), "{:?}", result.runs[0].error);
    assert!(once.exists(), "the first start failed as planned");
    assert!(result.runs[0].status.measured());
    assert_nothing_left(&mark);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A Node.js server whose packages were never installed (the seed's, before `npm ci`) is
/// refused before anything is measured, saying what to run; it failed at its turn with
/// Node's "Cannot find module" stack trace, after the other systems were measured.
#[test]
fn a_node_server_without_its_packages_is_refused_up_front() {
    let dir = temp_dir("no-npm-ci");
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("package.json"), r#"{"dependencies":{"ws":"8"}}"#).unwrap();
    std::fs::write(app.join("server.js"), "require('ws');\n").unwrap();
    let script = app.join("server.js");
    let systems = format!(
        "\n[systems.chat]\nprotocol = \"ws\"\ncommand = [\"sh\", {:?}, \"{{port}}\"]\n",
        script.display().to_string()
    );
    let path = with_systems(&dir, "[\"ws\", \"chat\"]", &systems);
    let err = refused_up_front(&path, &dir.join("out"));
    assert!(
        err.contains("has no node_modules") && err.contains("npm ci"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A command's relative paths (its program and its arguments) are from the scenario file's
/// directory, and it runs there, wherever wsbench is started: they were from wsbench's
/// current directory, so a scenario with a server beside it worked from one directory only.
#[test]
fn a_commands_paths_are_from_the_scenario_files_directory() {
    let dir = temp_dir("scenario-dir");
    let script = format!("exec '{}' serve ws --listen 127.0.0.1:$1\n", bin());
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    for (file, text) in [
        ("bin/serve", "exec sh ./serve.sh \"$1\"\n"),
        ("serve.sh", &script),
    ] {
        std::fs::write(dir.join(file), text).unwrap();
    }
    let mut perms = std::fs::metadata(dir.join("bin/serve"))
        .unwrap()
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(dir.join("bin/serve"), perms).unwrap();
    // `bin/serve` is found from the scenario's directory, and runs `./serve.sh` there.
    let systems = "\n[systems.beside]\nprotocol = \"ws\"\ncommand = [\"bin/serve\", \"{port}\"]\n";
    let path = with_systems(&dir, "[\"beside\"]", systems);
    assert_ne!(std::env::current_dir().unwrap(), dir);
    let (code, result) = run_with(&path, &dir.join("out"), &[]);
    assert_eq!(code, Some(0), "{:?}", result.runs[0].error);
    let run = &result.runs[0];
    assert_eq!(run.messages.delivered, run.messages.expected);
    // The scenario named by a relative path (`wsbench run scenarios/x.toml`, as the README
    // does): the program was resolved to `DIR/bin/serve` relative to wsbench's directory,
    // then started inside DIR, where that names nothing.
    let parent = dir.parent().unwrap();
    let relative = path.strip_prefix(parent).unwrap();
    let mut child = wsbench()
        .current_dir(parent)
        .arg("run")
        .arg(relative)
        .arg("--out")
        .arg(dir.join("out-relative"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(120));
    let result = read_result(&dir.join("out-relative"));
    assert_eq!(status.code(), Some(0), "{:?}", result.runs[0].error);
    assert_eq!(
        result.runs[0].messages.delivered,
        result.runs[0].messages.expected
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_target_with_a_pid_gets_server_figures() {
    let dir = temp_dir("target-pid");
    let mut server = wsbench()
        .args(["serve", "ws", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let (addr, pid) = (
        ready["addr"].as_str().unwrap(),
        ready["pid"].as_u64().unwrap(),
    );
    let path = scenario_path("smoke.toml");
    let target = format!("ws=ws://{addr}/");
    let target_pid = format!("ws={pid}");
    let args = [
        "--transport",
        "ws",
        "--target",
        &target,
        "--target-pid",
        &target_pid,
    ];
    let (code, result) = run_with(&path, &dir.join("out"), &args);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(code, Some(0), "{:?}", result.runs[0].error);
    let figures = result.runs[0]
        .server
        .as_ref()
        .expect("a target with a pid is sampled");
    assert_eq!(u64::from(figures.pid), pid);
    assert!(
        figures.cpu_s > 0.0 && figures.rss_idle_bytes > 0,
        "{figures:?}"
    );
    assert!(
        result
            .method
            .iter()
            .any(|l| l.contains(&format!("(pid {pid})")))
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn servers_and_the_load_generator_run_on_the_cpus_they_are_given() {
    let cpus = wsbench_core::cpus::CpuSet::of_this_process().unwrap();
    let [first, second, ..] = cpus.cpus() else {
        eprintln!("skipped: this machine lends one CPU only");
        return;
    };
    let dir = temp_dir("pinned");
    let mark = format!("pinned-{}", std::process::id());
    let script = format!("exec '{}' serve ws --listen 127.0.0.1:$PORT", bin());
    let path = with_systems(
        &dir,
        "[\"ws\", \"sh-ws\"]",
        &sh_system("sh-ws", &script, &mark, ""),
    );
    let (server_cpus, loadgen_cpus) = (first.to_string(), second.to_string());
    let args = [
        "--server-cpus",
        &server_cpus,
        "--loadgen-cpus",
        &loadgen_cpus,
    ];
    let (code, result) = run_with(&path, &dir.join("out"), &args);
    assert_eq!(code, Some(0));
    for run in &result.runs {
        let server = run.server.as_ref().unwrap();
        assert_eq!(
            server.cpus.as_deref(),
            Some(server_cpus.as_str()),
            "{}",
            run.system
        );
        assert_eq!(run.loadgen.cpus.as_deref(), Some(loadgen_cpus.as_str()));
    }
    assert!(
        result.method.iter().any(|l| l.ends_with(": apart.")),
        "{:?}",
        result.method
    );
    assert_nothing_left(&mark);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_seeds_node_servers_are_measured_in_full() {
    if common::node_modules("the_seeds_node_servers_are_measured_in_full").is_none() {
        return;
    }
    let dir = temp_dir("node");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = scenario_copy(
        &dir,
        "node.toml",
        &[
            ("clients = 1000", "clients = 20"),
            ("warmup = \"5s\"", "warmup = \"1s\""),
            ("duration = \"20s\"", "duration = \"2s\""),
            ("ramp = \"2s\"", "ramp = \"200ms\""),
            (
                "../servers/node/ws-server.js",
                &root.join("servers/node/ws-server.js").display().to_string(),
            ),
            (
                "../servers/node/socketio-server.js",
                &root
                    .join("servers/node/socketio-server.js")
                    .display()
                    .to_string(),
            ),
        ],
        "",
    );
    let (code, result) = run_with(&path, &dir.join("out"), &[]);
    assert_eq!(
        code,
        Some(0),
        "{:?}",
        result.runs.iter().map(|r| &r.error).collect::<Vec<_>>()
    );
    let names: Vec<&str> = result.runs.iter().map(|r| r.system.as_str()).collect();
    assert_eq!(names, ["ws", "socketio", "node-ws", "node-socketio"]);
    // Each run records how its clients spoke, for reports that do not read the scenario.
    let spoke: Vec<Option<Protocol>> = result.runs.iter().map(|r| r.protocol).collect();
    let (ws, sio) = (Some(Protocol::Ws), Some(Protocol::Socketio));
    assert_eq!(spoke, [ws, sio, ws, sio]);
    for run in &result.runs {
        let t = &run.system;
        assert_eq!(run.messages.delivered, run.messages.expected, "{t}");
        let server = run
            .server
            .as_ref()
            .unwrap_or_else(|| panic!("{t}: no server figures"));
        assert!(
            server.cpu_us_per_delivery > 0.0 && server.memory_per_connection_bytes > 0.0,
            "{t}"
        );
        assert!(run.wire.bytes_per_delivery > 0.0, "{t}");
    }
    // The seed's server greets every client: a message apart, neither loss nor failure.
    let node_ws = result.runs.iter().find(|r| r.system == "node-ws").unwrap();
    assert!(node_ws.messages.foreign >= 20, "{:?}", node_ws.messages);
    let md = std::fs::read_to_string(dir.join("out/report.md")).unwrap();
    assert!(
        md.contains("| node-socketio/node-ws |") && md.contains("| node-ws/ws |"),
        "{md}"
    );
    assert!(md.contains("### node (the scenario's [systems])"), "{md}");
    std::fs::remove_dir_all(dir).unwrap();
}
