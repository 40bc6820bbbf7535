//! Past one process's open-file limit: scripts/scale-out.sh runs the nodes of a Redis
//! cluster and a load-generator shard per node, each shard's clients on its node, merged.
//! Small here (the same path reaches 100,000 connections; README, "Beyond one machine").
//! Needs redis-server: skipped with a message without it, except under CI, which has it.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use wsbench_core::result::RunResult;

#[test]
fn shards_on_the_nodes_of_a_cluster_add_up_with_exact_accounting() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have redis-server"
        );
        eprintln!("skipped: this test needs redis-server");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = temp_dir("scale-out");
    let out = dir.join("out");
    let child = Command::new("bash")
        .arg(root.join("scripts/scale-out.sh"))
        .args(["300", "3"])
        .arg(&out)
        .env("WSBENCH", env!("CARGO_BIN_EXE_wsbench"))
        .env("RATE", "4")
        .env("RAMP", "1000")
        .env("WINDOW", "2")
        .env("SETTLE", "4")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, stdout, stderr) = wait_output(child, Duration::from_secs(240));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("connected 300 of 300"), "{stdout}");
    assert!(
        stdout.contains("KiB per connection") && stdout.contains("3 nodes"),
        "{stdout}"
    );

    let merged: RunResult =
        serde_json::from_str(&std::fs::read_to_string(out.join("merged.json")).unwrap()).unwrap();
    let run = &merged.runs[0];
    assert!(run.status.measured(), "{:?}", run.error);
    let m = &run.messages;
    // Every broadcast crossed the cluster: owed to the 299 other clients, on every node.
    assert!(m.sent > 0 && m.expected == m.sent * 299, "{m:?}");
    assert_eq!((m.delivered, m.duplicated), (m.expected, 0), "{m:?}");
    // The cluster's figures: every node's, each read by its shard, added up.
    let server = run.server.as_ref().expect("each shard measured its node");
    assert!(
        server.memory_per_connection_bytes > 0.0 && server.cpu_s > 0.0,
        "{server:?}"
    );
    assert!(
        merged
            .method
            .iter()
            .any(|l| l.contains("different targets")),
        "{:?}",
        merged.method
    );

    // Nothing left running: no node of this run's Redis.
    let port = stdout
        .split("on Redis :")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .expect("the script names its Redis port");
    let (node, redis) = (format!("127.0.0.1:{port}"), format!("--port {port}"));
    let left = command_lines(|c| c.contains(&node) || c.contains(&redis));
    assert!(left.is_empty(), "left running: {left:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
