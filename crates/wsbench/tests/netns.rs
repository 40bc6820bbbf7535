//! Across a real network stack: scripts/netns/run.sh puts a server in one network
//! namespace and two load-generator shards in two others (veth pairs on a bridge), then
//! merges the shards. Needs root and iproute2: skipped with a message without them, except
//! under CI, which must have them. Everything it creates is on this machine and removed.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use wsbench_core::result::RunResult;

#[test]
fn shards_in_two_namespaces_load_a_server_in_a_third_with_exact_accounting() {
    if let Err(why) = can_create_namespaces() {
        assert!(std::env::var_os("CI").is_none(), "CI must have {why}");
        eprintln!("skipped: this test needs {why}");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = temp_dir("netns");
    let out = dir.join("out");
    let child = Command::new("bash")
        .arg(root.join("scripts/netns/run.sh"))
        .arg(root.join("scenarios/smoke.toml"))
        .arg(&out)
        .env("WSBENCH", env!("CARGO_BIN_EXE_wsbench"))
        .env("WSBENCH_NETNS_SKIP_LOOPBACK", "1")
        .env("WSBENCH_NETNS_TIMEOUT", "120")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = wait_output(child, Duration::from_secs(300));
    let log = format!("{}\n{}", output.1, output.2);
    assert_eq!(output.0, Some(0), "{log}");
    let tag = log
        .lines()
        .find_map(|l| l.strip_prefix("netns: ")?.split(':').next())
        .expect("the script names its namespaces")
        .to_owned();

    for transport in ["ws", "socketio"] {
        let merged = out.join(format!("netns/{transport}/merged.json"));
        let result: RunResult =
            serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
        let run = &result.runs[0];
        assert!(run.status.measured(), "{transport}: {:?}", run.error);
        let m = &run.messages;
        assert!(
            m.expected > 0 && m.delivered == m.expected,
            "{transport}: {m:?}"
        );
        assert_eq!(run.connections.connected, 20, "{transport}");
        // The permission the shards ran with, and where the load went.
        assert!(result.scenario.allow_remote, "{transport}");
        assert!(
            result.method.iter().any(|l| l.contains("10.231.77.1")),
            "{transport}: {:?}",
            result.method
        );
    }

    // Nothing left behind: no namespace of this run, no server on its address.
    let namespaces = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let namespaces = String::from_utf8_lossy(&namespaces.stdout);
    assert!(!namespaces.contains(&tag), "left behind: {namespaces}");
    let servers = command_lines(|c| c.contains("serve") && c.contains("10.231.77.1"));
    assert!(servers.is_empty(), "servers left running: {servers:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
