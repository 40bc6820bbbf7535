//! What the end-to-end tests of `wsbench run` share: the binary, shipped scenarios made
//! small, temporary directories, bounded waits.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use wsbench_core::result::RunResult;

/// servers/node's packages with Node.js, or `None` after saying the test is skipped (a
/// failure under CI; see `wsbench_core::prerequisite`).
pub fn node_modules(test: &str) -> Option<PathBuf> {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../servers/node/node_modules");
    let node = Command::new("node").arg("--version").output();
    if !modules.exists() || node.is_err() {
        let why = "Node.js and servers/node/node_modules (run `npm ci` in servers/node)";
        wsbench_core::prerequisite::missing(test, why);
        return None;
    }
    Some(modules.canonicalize().unwrap())
}

/// The Python servers' virtual environment (servers/python/.venv, made by
/// `servers/python/install.sh`), or `None` after saying loudly that it is missing (a
/// failure under `CI=true`).
pub fn python_venv(test: &str) -> Option<PathBuf> {
    let python =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../servers/python/.venv/bin/python");
    let works = Command::new(&python)
        .args(["-c", "import websockets, socketio, uvicorn"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !works {
        let why = "the Python servers' packages (run `bash servers/python/install.sh`)";
        wsbench_core::prerequisite::missing(test, why);
        return None;
    }
    // Not canonicalized: the venv's `python` is a link to the interpreter it was made
    // from, and only started by its own path does it find the venv's packages.
    Some(python)
}

/// One job of the server contract (`broadcast`, `echo`, `rooms` with rooms of 5) done by
/// `run` with exact accounting for 20 clients: measured, every client connected, something
/// sent, everything owed delivered (every other client, the sender, or its room's others),
/// nothing outside its scope, and the server's process sampled like any command's.
pub fn assert_contract_job(run: &wsbench_core::result::SystemRun, mode: &str) {
    let name = run.system.as_str();
    assert!(run.status.measured(), "{mode} {name}: {:?}", run.error);
    assert_eq!(run.connections.connected, 20, "{mode} {name}");
    let m = &run.messages;
    assert!(m.sent > 0, "{mode} {name}");
    assert_eq!(m.delivered, m.expected, "{mode} {name}: {m:?}");
    assert_eq!((m.misrouted, m.duplicated), (0, 0), "{mode} {name}: {m:?}");
    let per_probe = match mode {
        "broadcast" => 19,
        "echo" => 1,
        _ => 4,
    };
    assert_eq!(m.expected, m.sent * per_probe, "{mode} {name}: {m:?}");
    let server = run.server.as_ref().expect("server figures");
    assert!(!server.rss_samples.is_empty(), "{mode} {name}");
}

/// `wsbench run PATH --out OUT`, which must be refused before anything is measured
/// (exit 2, no progress line): its error output.
pub fn refused_up_front(path: &Path, out: &Path) -> String {
    let output = wsbench()
        .arg("run")
        .arg(path)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(!err.contains("measuring"), "{err}");
    err
}

pub fn wsbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wsbench"))
}

/// `wsbench compare BASE/result.json NEW/result.json ARGS…`: exit code and Markdown.
pub fn compare_dirs(base: &Path, new: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = wsbench()
        .arg("compare")
        .arg(base.join("result.json"))
        .arg(new.join("result.json"))
        .args(args)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsbench-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn wait_with_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
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
pub fn run_ok(path: &Path, out: &Path, args: &[&str]) -> RunResult {
    let (code, result) = run_with(path, out, args);
    assert_eq!(
        code,
        Some(0),
        "{:?}",
        result.runs.iter().map(|r| &r.error).collect::<Vec<_>>()
    );
    result
}

/// `wsbench run PATH --out OUT ARGS…` (stdout discarded, bounded in time): its exit code
/// and result.
pub fn run_with(path: &Path, out: &Path, args: &[&str]) -> (Option<i32>, RunResult) {
    run_with_env(path, out, args, &[])
}

/// [`run_with`], with `env` added to the run's environment (which its servers inherit).
pub fn run_with_env(
    path: &Path,
    out: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, RunResult) {
    let mut child = wsbench()
        .envs(env.iter().copied())
        .arg("run")
        .arg(path)
        .args(args)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(300));
    (status.code(), read_result(out))
}

pub fn read_result(dir: &Path) -> RunResult {
    let text = std::fs::read_to_string(dir.join("result.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A scenario long enough to be interrupted or broken mid-run.
pub fn long_scenario(dir: &Path) -> PathBuf {
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

/// The command lines (arguments joined by spaces) of this machine's processes that
/// `matching` accepts: what a test left running.
pub fn command_lines(matching: impl Fn(&str) -> bool) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| matching(c))
        .collect()
}

/// The pid of `parent`'s `wsbench serve` child, once it exists.
pub fn server_child_of(parent: u32, limit: Duration) -> u32 {
    child_running(parent, "serve", limit)
}

/// The pid of a child of `parent` whose command line contains `text`, once it exists.
pub fn child_running(parent: u32, text: &str, limit: Duration) -> u32 {
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
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if ppid == parent && cmdline.contains(text) {
                return pid;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no child running `{text}` appeared");
}

/// The smoke scenario with `extra` appended and `replace` applied, written to `dir`.
pub fn small_scenario(dir: &Path, replace: &[(&str, &str)], extra: &str) -> PathBuf {
    scenario_copy(dir, "smoke.toml", replace, extra)
}

/// slow-consumer.toml made small: 4 of 12 clients stop reading; 2 senders push 60 KB
/// messages, 24 MB per stalled client over the window, far more than the kernel's socket
/// buffers and a 16-message queue. `top` is added to the file's top-level fields.
pub fn small_slow_consumers(dir: &Path, top: &str) -> PathBuf {
    let stalled = format!("stalled = 4\nqueue_capacity = 16\n{top}");
    scenario_copy(
        dir,
        "slow-consumer.toml",
        &[
            ("clients = 1000", "clients = 12"),
            ("ramp = \"2s\"", "ramp = \"300ms\""),
            ("senders = 10", "senders = 2"),
            ("rate = 10", "rate = 50"),
            ("payload = 8192", "payload = 60000"),
            ("stalled = 0.1", stalled.trim_end()),
            ("warmup = \"3s\"", "warmup = \"500ms\""),
            ("duration = \"45s\"", "duration = \"4s\""),
        ],
        "",
    )
}

/// reconnect.toml made small: 20 clients, 4 senders, the server killed 1 s into a 4 s
/// window and back 300 ms later, clients retrying from 100 ms. `top` is added to the
/// file's top-level fields.
pub fn small_reconnect(dir: &Path, top: &str) -> PathBuf {
    let name = format!("name = \"reconnect\"\n{top}");
    scenario_copy(
        dir,
        "reconnect.toml",
        &[
            ("name = \"reconnect\"", name.trim_end()),
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
    )
}

/// A shipped scenario made small for a test: each `(from, to)` must be in the file (so a
/// changed scenario fails loudly), then `extra` is appended; written to `dir`. Its
/// commands' `../servers/` (the seed's Node servers) point at this checkout's.
pub fn scenario_copy(dir: &Path, name: &str, replace: &[(&str, &str)], extra: &str) -> PathBuf {
    let mut text = std::fs::read_to_string(scenario_path(name)).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{name} has no {from}");
        text = text.replace(from, to);
    }
    text.push_str(extra);
    let servers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../servers/");
    text = text.replace("\"../servers/", &format!("\"{}", servers.display()));
    let path = dir.join(format!("small-{name}"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A shipped scenario of 200 clients (tls, compression, blocked-upgrade) made small for a
/// test: 20 clients, a 1 s warm-up and a 2 s window, then `more` as [`scenario_copy`] does.
pub fn small_of_200(dir: &Path, name: &str, more: &[(&str, &str)]) -> PathBuf {
    let mut replace = vec![
        ("clients = 200", "clients = 20"),
        ("warmup = \"3s\"", "warmup = \"1s\""),
        ("duration = \"10s\"", "duration = \"2s\""),
    ];
    replace.extend_from_slice(more);
    scenario_copy(dir, name, &replace, "")
}

/// Waits (bounded) for `child`; its exit code, stdout and stderr.
pub fn wait_output(
    mut child: std::process::Child,
    limit: Duration,
) -> (Option<i32>, String, String) {
    use std::io::Read;
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let mut err = String::new();
    let err_reader = std::thread::spawn(move || {
        stderr.read_to_string(&mut err).unwrap();
        err
    });
    let status = wait_with_timeout(&mut child, limit);
    (
        status.code(),
        reader.join().unwrap(),
        err_reader.join().unwrap(),
    )
}

/// Whether this machine lets a test make network namespaces (root, iproute2); the
/// prerequisite missing, in words.
pub fn can_create_namespaces() -> Result<(), String> {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        return Err("root (ip netns add)".to_owned());
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("iproute2 with network namespace support".to_owned()),
    }
}
