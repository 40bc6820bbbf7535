//! Every command the README's command blocks and each subcommand's `--help` examples
//! document, run as written, in order, in one scratch directory laid out like a checkout
//! (the scenarios, servers/node, the committed CI baseline), with `wsbench` on PATH. A
//! command fails the test when it exits with a code its documentation does not give.
//!
//! What is changed, and only that: ports and pids the documentation makes up (8080, 3000,
//! 6379, 4242) are ones this test owns (a server it started, a free port); `results/fanout-…`
//! is the directory the documented fanout run wrote; the scenarios are the shipped ones with
//! shorter warm-ups and windows and fewer clients (the commands are what is tested, not the
//! figures), except `ci.toml`, whose results are compared with the committed baseline.
//! Every documented command is either run or skipped with its reason below; a new one fails
//! this test until it is given one.

mod common;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// How one documented command is checked.
enum Way {
    /// Run under bash in the scratch directory after these replacements; the exit codes its
    /// documentation gives for what it does here.
    Run(Vec<(String, String)>, &'static [i32]),
    /// A server that runs until stopped: started, seen serving (its ready line), stopped with
    /// SIGTERM; it must exit 0.
    Serve(Vec<(String, String)>),
    /// Not run, and why.
    Skip(&'static str),
}

/// The README's command blocks: each line a command (a block with a loop or a background
/// job, the sharding one, is one script), with comments dropped.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut block: Option<Vec<String>> = None;
    for line in readme.lines() {
        match (&mut block, line.trim_start().starts_with("```")) {
            (None, true) if line.trim() == "```sh" => block = Some(Vec::new()),
            (Some(lines), true) => {
                let script = |l: &String| l.contains(" & ") || l.ends_with('&');
                if lines.iter().any(|l| script(l) || l.starts_with("for ")) {
                    out.push(lines.join("\n"));
                } else {
                    out.append(lines);
                }
                block = None;
            }
            (Some(lines), false) => {
                let command = uncommented(line);
                if !command.is_empty() {
                    lines.push(command);
                }
            }
            _ => {}
        }
    }
    out
}

/// The examples of every subcommand's `--help`, as the binary prints them.
fn help_commands() -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["run", "serve", "report", "compare", "merge", "floor"] {
        let help = wsbench().args([sub, "--help"]).output().unwrap();
        let help = String::from_utf8(help.stdout).unwrap();
        let examples = help.split("Examples:\n").nth(1).expect("examples");
        let lines = examples.lines().take_while(|l| !l.trim().is_empty());
        out.extend(lines.map(|l| uncommented(l.trim())));
    }
    out
}

/// A command line without its trailing `# comment`.
fn uncommented(line: &str) -> String {
    line.split(" # ").next().unwrap_or("").trim_end().to_owned()
}

/// What this test owns in place of what the documentation makes up.
struct Owned {
    /// A `wsbench serve ws` it started, for the `--target` examples: its port and pid.
    target: (u16, u32),
    /// That server, held to be stopped when the test ends.
    _target_server: Stopped,
    /// A Redis for the cluster example, if installed.
    redis: Option<wsbench_core::redis_server::RedisServer>,
}

/// A child killed when dropped, a failing test's too.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn way(command: &str, dir: &Path, owned: &Owned) -> Way {
    let subs = |pairs: &[(&str, String)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), b.clone()))
            .collect()
    };
    let fanout = || {
        // The first fanout run's directory: the one the README's first command wrote.
        let mut runs: Vec<PathBuf> = std::fs::read_dir(dir.join("results"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("fanout-")
            })
            .collect();
        runs.sort();
        runs
    };
    let first_fanout = || fanout()[0].strip_prefix(dir).unwrap().display().to_string();
    let c = command;
    if c.starts_with("(cd servers/node && npm ci) && cargo test") {
        Way::Skip("the README's test command: the one running this test")
    } else if c.starts_with("cargo bench") {
        Way::Skip(
            "criterion benchmarks take minutes; .ci/run runs each once (cargo test --benches)",
        )
    } else if c.contains("10.0.0.5") {
        Way::Skip("it sends load to another host; tests load loopback only")
    } else if let Some(rest) = c.strip_prefix("cargo run --release -p wsbench -- ") {
        // The build is this test's binary.
        Way::Run(subs(&[(c, format!("wsbench {rest}"))]), &[0])
    } else if ["node", "tls", "compression"]
        .iter()
        .any(|s| c.starts_with(&format!("wsbench run scenarios/{s}.toml")))
        && node_modules(NAME).is_none()
    {
        Way::Skip("servers/node has no node_modules (said above)")
    } else if c.starts_with("wsbench run scenarios/blocked-upgrade.toml") {
        // Documented to exit 1: the two WebSocket systems cannot get through.
        if std::process::Command::new("nginx")
            .arg("-v")
            .output()
            .is_err()
        {
            wsbench_core::prerequisite::missing(NAME, "nginx (Debian: nginx-light)");
            Way::Skip("nginx is not installed (said above)")
        } else {
            Way::Run(Vec::new(), &[1])
        }
    } else if c.starts_with("wsbench run scenarios/no-sticky.toml") {
        // Documented to exit 1: the long-polling clients cannot keep a session.
        let has = |program: &str, flag: &str| {
            std::process::Command::new(program)
                .arg(flag)
                .output()
                .is_ok()
        };
        if !has("nginx", "-v") || !has("redis-server", "--version") {
            wsbench_core::prerequisite::missing(NAME, "nginx and redis-server");
            Way::Skip("nginx or redis-server is not installed (said above)")
        } else {
            Way::Run(Vec::new(), &[1])
        }
    } else if c.starts_with("wsbench run my.toml --target ws=ws://127.0.0.1:8080/") {
        let (port, pid) = owned.target;
        std::fs::copy(dir.join("scenarios/smoke.toml"), dir.join("my.toml")).unwrap();
        Way::Run(
            subs(&[("8080", port.to_string()), ("4242", pid.to_string())]),
            &[0],
        )
    } else if c.starts_with("wsbench run") {
        // ci.toml carries thresholds: a broken one on a busy machine is its documented 99.
        Way::Run(Vec::new(), &[0, 99])
    } else if c.starts_with("wsbench serve ws --listen 127.0.0.1:8080 & server=$!") {
        // The README's sharding: its own server, on a free port of ours.
        Way::Run(subs(&[("8080", free_port().to_string())]), &[0])
    } else if c.starts_with("wsbench serve") && c.contains("--redis") {
        match &owned.redis {
            Some(redis) => Way::Serve(subs(&[
                ("3000", free_port().to_string()),
                ("6379", redis.addr.port().to_string()),
            ])),
            None => Way::Skip("redis-server is not installed (said above)"),
        }
    } else if c.starts_with("wsbench serve") && c.contains("--tls-cert cert.pem") {
        // The example's certificate and key, made where it runs.
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        Way::Serve(subs(&[("8080", free_port().to_string())]))
    } else if c.starts_with("wsbench serve") {
        Way::Serve(subs(&[("8080", free_port().to_string())]))
    } else if c.starts_with("wsbench report") {
        Way::Run(subs(&[("results/fanout-…", first_fanout())]), &[0])
    } else if c.starts_with("wsbench compare results/baseline/ci.json results/ci-new") {
        // The perf gate's comparison: this machine's ci run against the committed baseline.
        if !dir.join("results/ci-new/result.json").exists() {
            let run = "wsbench run scenarios/ci.toml --out results/ci-new";
            run_script(dir, run, &[0, 99]);
        }
        Way::Run(Vec::new(), &[0, 1])
    } else if c.starts_with("wsbench compare base.json new.json") {
        // Two runs of one scenario on this machine: the README's and the --help's fanout.
        let runs = fanout();
        let (base, new) = (&runs[0], &runs[1]);
        Way::Run(
            subs(&[
                ("base.json", base.join("result.json").display().to_string()),
                ("new.json", new.join("result.json").display().to_string()),
            ]),
            &[0, 1],
        )
    } else if c.starts_with("wsbench merge results/shard-*/result.json -o results/merged.json") {
        // The README's sharding block merged them already: a user who follows along again
        // removes its output first (or adds --force, the next example).
        let _ = std::fs::remove_file(dir.join("results/merged.json"));
        Way::Run(Vec::new(), &[0])
    } else if c.starts_with("wsbench merge")
        || c.starts_with("wsbench floor")
        || c.starts_with("WSBENCH_FLOOR_FILE=")
    {
        Way::Run(Vec::new(), &[0])
    } else {
        Way::Skip("")
    }
}

const NAME: &str = "every_documented_command_works_as_written";

#[test]
fn every_documented_command_works_as_written() {
    let dir = scratch();
    let (target_server, target) = serve_target();
    let owned = Owned {
        target,
        _target_server: Stopped(target_server),
        redis: wsbench_core::redis_server::RedisServer::start_or_skip(NAME),
    };
    let commands: Vec<String> = readme_commands()
        .into_iter()
        .chain(help_commands())
        .collect();
    assert!(commands.len() >= 20, "{commands:#?}");
    for command in &commands {
        match way(command, &dir, &owned) {
            Way::Skip("") => panic!("a newly documented command: say how to check it\n{command}"),
            Way::Skip(why) => eprintln!("not run: {command}\n  ({why})"),
            Way::Run(subs, exits) => run_script(&dir, &replaced(command, &subs), exits),
            Way::Serve(subs) => serve_and_stop(&dir, &replaced(command, &subs)),
        }
    }
    drop(owned);
    std::fs::remove_dir_all(dir).unwrap();
}

fn replaced(command: &str, subs: &[(String, String)]) -> String {
    subs.iter()
        .fold(command.to_owned(), |c, (from, to)| c.replace(from, to))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A scratch directory laid out like a checkout, with `wsbench` on a `bin/` of its own.
fn scratch() -> PathBuf {
    let dir = temp_dir("documented");
    let repo = repo();
    std::os::unix::fs::symlink(repo.join("servers"), dir.join("servers")).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_wsbench"), dir.join("bin/wsbench")).unwrap();
    std::fs::create_dir_all(dir.join("results/baseline")).unwrap();
    std::fs::copy(
        repo.join("results/baseline/ci.json"),
        dir.join("results/baseline/ci.json"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    for entry in std::fs::read_dir(repo.join("scenarios")).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let name = entry.file_name();
        let text = if name == "ci.toml" {
            text
        } else {
            shortened(&text)
        };
        std::fs::write(dir.join("scenarios").join(name), text).unwrap();
    }
    dir
}

/// A scenario with a one-second warm-up, a two-second window and at most 100 clients.
fn shortened(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once(" = ") {
            Some(("warmup", _)) => "warmup = \"1s\"".to_owned(),
            Some(("duration", _)) => "duration = \"2s\"".to_owned(),
            Some(("ramp", _)) => "ramp = \"200ms\"".to_owned(),
            Some(("clients", n)) if n.parse::<u32>().is_ok_and(|n| n > 100) => {
                "clients = 100".to_owned()
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A free loopback port (the documentation's fixed ones may be taken here).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `wsbench serve ws` on a port of its choosing: the child, its port and pid.
fn serve_target() -> (std::process::Child, (u16, u32)) {
    let mut child = wsbench()
        .args(["serve", "ws", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = first_line(&mut child, Duration::from_secs(30));
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let addr: std::net::SocketAddr = ready["addr"].as_str().unwrap().parse().unwrap();
    let pid = ready["pid"].as_u64().unwrap() as u32;
    (child, (addr.port(), pid))
}

/// The first line `child` prints on stdout, waited for at most `limit`.
fn first_line(child: &mut std::process::Child, limit: Duration) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(limit).expect("a ready line in time")
}

/// bash in `dir`, with its `bin/` first on PATH, in a process group of its own (so that
/// a server it leaves in the background is stopped with it).
fn bash(dir: &Path, script: &str) -> Command {
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .args(["-c", script])
        .current_dir(dir)
        .env("PATH", path)
        // The machine's floor (`wsbench floor`, `--floor`) is kept in the scratch
        // directory, not in the user's cache.
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env_remove("WSBENCH_FLOOR_FILE")
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .process_group(0);
    command
}

/// Runs `script`; its exit code must be one of `exits`.
fn run_script(dir: &Path, script: &str, exits: &[i32]) {
    let log = dir.join("output.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = bash(dir, script)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(300) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Whatever it left running (a background server) goes with it.
    unsafe { libc::killpg(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let code = status.and_then(|s| s.code());
    assert!(
        code.is_some_and(|c| exits.contains(&c)),
        "`{script}` exited {code:?} (documented: {exits:?}) after {:.0?}:\n{output}",
        started.elapsed()
    );
    eprintln!(
        "ran: {script} (exit {}, {:.1?})",
        code.unwrap(),
        started.elapsed()
    );
}

/// Starts the server `command`, waits for its ready line, stops it with SIGTERM: exit 0.
fn serve_and_stop(dir: &Path, command: &str) {
    let mut child = bash(dir, &format!("exec {command}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let line = first_line(&mut child, Duration::from_secs(30));
    assert!(line.contains("\"addr\""), "`{command}` printed {line:?}");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "`{command}` after SIGTERM");
    eprintln!("ran: {command} (served, stopped by SIGTERM: exit 0)");
}
