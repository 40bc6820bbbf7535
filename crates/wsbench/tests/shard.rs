//! Sharded load generation, proved on one machine: N `wsbench run --shard I/N` processes
//! against one server, merged, count the same deliveries as one process does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use wsbench_core::control::ServeEvent;
use wsbench_core::result::RunResult;

const SCENARIO: &str = r#"name = "sharded"
transports = ["ws"]
clients = 12
ramp = "200ms"
senders = 3
rate = 10
payload = 64
warmup = "500ms"
duration = "2s"
drain = "1s"
"#;

fn wsbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wsbench"))
}

/// A `wsbench serve ws` child on an OS-chosen loopback port, killed on drop.
struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve_ws() -> Server {
    let mut child = wsbench()
        .args(["serve", "ws", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The ready line comes within the server's start-up; read_line returns at EOF if it dies.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Ok(ServeEvent::Ready { addr, .. }) = ServeEvent::from_line(line.trim()) else {
        panic!("no ready line: {line:?}");
    };
    Server(child, format!("ws=ws://{addr}/"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsbench-shard-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(path: &Path) -> RunResult {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn wait(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("a shard did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn merged_shards_count_what_one_process_counts() {
    let server = serve_ws();
    let dir = temp_dir("merge");
    let scenario = dir.join("sharded.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();

    // One process, all 12 clients.
    let single = wsbench()
        .arg("run")
        .arg(&scenario)
        .args(["--target", &server.1, "--out"])
        .arg(dir.join("single"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(single.success(), "{single}");
    let single = read(&dir.join("single/result.json"));

    // Two shards, started apart, sending from the same wall-clock instant.
    let start_at =
        humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(5)).to_string();
    let shards: Vec<Child> = (0..2)
        .map(|i| {
            wsbench()
                .arg("run")
                .arg(&scenario)
                .args(["--target", &server.1, "--shard", &format!("{i}/2")])
                .args(["--target-pid", &format!("ws={}", server.0.id())])
                .args(["--start-at", &start_at, "--out"])
                .arg(dir.join(format!("shard-{i}")))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in shards {
        let out = wait(child, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        // A shard's end line does not pair what its clients got with what its senders owe.
        assert!(
            stderr.contains(" received, ") && stderr.contains("owed by this shard's senders"),
            "{stderr}"
        );
        // Nor does its summary show a loss, which only the merge can work out (it showed
        // 16.683% for a shard of a lossless run).
        let stdout = String::from_utf8_lossy(&out.stdout);
        let ws = stdout
            .lines()
            .find(|l| l.trim_start().starts_with("ws "))
            .unwrap();
        assert!(!ws.contains('%'), "{stdout}");
        assert!(stdout.contains("known once merged"), "{stdout}");
    }
    let part = read(&dir.join("shard-1/result.json"));
    assert_eq!(part.shard.unwrap().to_string(), "1/2");
    assert_eq!(part.runs[0].connections.connected, 6);

    let merged_path = dir.join("merged.json");
    let merged = wsbench()
        .arg("merge")
        .arg(dir.join("shard-0/result.json"))
        .arg(dir.join("shard-1/result.json"))
        .arg("-o")
        .arg(&merged_path)
        .output()
        .unwrap();
    assert!(merged.status.success(), "{merged:?}");
    let merged = read(&merged_path);
    assert!(merged.status.measured(), "{:?}", merged.status);
    assert_eq!(merged.merged_from.len(), 2);
    let (one, all) = (&single.runs[0], &merged.runs[0]);
    assert_eq!(all.connections.connected, 12);
    assert!(one.messages.expected > 0);
    assert_eq!(all.messages.sent, one.messages.sent);
    assert_eq!(all.messages.expected, one.messages.expected);
    assert_eq!(one.messages.delivered, one.messages.expected);
    assert_eq!(all.messages.delivered, all.messages.expected);
    // Latency only for probes received where they were sent: some, not all.
    assert!(all.latency.count > 0 && all.latency.count < all.messages.delivered);
    assert_eq!(one.latency.count, one.messages.delivered);

    // The shared server counted once, over every shard's deliveries and connections: each
    // shard's own result divides the whole server's CPU by its half of the deliveries.
    let server = all
        .server
        .as_ref()
        .expect("the shards measured the server's pid");
    let shards = [read(&dir.join("shard-0/result.json")), part];
    let readings: Vec<f64> = shards
        .iter()
        .map(|r| r.runs[0].server.as_ref().expect("shard figures").cpu_s)
        .collect();
    let mean = (readings[0] + readings[1]) / 2.0;
    assert!(
        (server.cpu_s - mean).abs() < 1e-9,
        "{server:?} {readings:?}"
    );
    let per_delivery = server.cpu_s * 1e6 / all.messages.delivered as f64;
    assert!(
        (server.cpu_us_per_delivery - per_delivery).abs() < 1e-6,
        "{server:?}"
    );
    // Each shard's result says how to read its server figures; the merged one need not.
    let says = |r: &RunResult| r.method.iter().any(|l| l.contains("This is one shard"));
    assert!(
        shards.iter().all(says) && !says(&merged),
        "{:?}",
        merged.method
    );
    let shard_own = shards[0].runs[0]
        .server
        .as_ref()
        .unwrap()
        .cpu_us_per_delivery;
    assert!(
        shard_own > 1.5 * server.cpu_us_per_delivery,
        "{shard_own} vs {server:?}"
    );

    // The merged result renders like any other.
    let md = wsbench()
        .args(["report", "--format", "md"])
        .arg(&merged_path)
        .output()
        .unwrap();
    assert!(md.status.success());
    assert!(String::from_utf8_lossy(&md.stdout).contains("| ws | 12/12 |"));

    // Shards that do not belong together are refused.
    let shard0 = dir.join("shard-0/result.json");
    for (inputs, why) in [
        (vec![shard0.clone(), shard0.clone()], "are both shard 0/2"),
        (vec![shard0.clone()], "shard 1/2 is missing"),
        (
            vec![dir.join("single/result.json")],
            "is not a shard's result",
        ),
    ] {
        let out = wsbench()
            .arg("merge")
            .args(&inputs)
            .arg("-o")
            .arg(dir.join("refused.json"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
    }
    assert!(!dir.join("refused.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_shard_needs_one_transport_and_a_shared_target() {
    let dir = temp_dir("usage");
    let scenario = dir.join("sharded.toml");
    std::fs::write(
        &scenario,
        SCENARIO.replace("[\"ws\"]", "[\"ws\", \"socketio\"]"),
    )
    .unwrap();
    let out = wsbench()
        .arg("run")
        .arg(&scenario)
        .args(["--shard", "0/2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a shard measures one transport"));
    let out = wsbench()
        .arg("run")
        .arg(&scenario)
        .args(["--shard", "0/2", "--transport", "ws"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--target ws=URL"));
    std::fs::remove_dir_all(dir).unwrap();
}
