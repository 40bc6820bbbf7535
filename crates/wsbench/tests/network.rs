//! `[network]`: the run made in a network namespace of its own whose loopback is the
//! emulated link, and removed afterwards; a link this kernel cannot make is refused before
//! anything starts. Needs root and iproute2: skipped with a message without them, except
//! under CI, which must have them. Everything it creates is on this machine.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn namespaces() -> String {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a small scenario with `network` as its `[network]`: exit code, stderr, its
/// directory, and the namespace it makes (`wsbench-<its pid>`).
fn run_over(
    test: &str,
    network: &str,
) -> Option<(Option<i32>, String, std::path::PathBuf, String)> {
    if let Err(why) = can_create_namespaces() {
        wsbench_core::prerequisite::missing(test, &why);
        return None;
    }
    let dir = temp_dir(test);
    let path = small_scenario(
        &dir,
        &[("senders = 4", "senders = 1"), ("rate = 20", "rate = 5")],
        &format!("\n[network]\n{network}\n"),
    );
    let child = wsbench()
        .arg("run")
        .arg(&path)
        .args(["--transport", "ws", "--out"])
        .arg(dir.join("out"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ns = format!("wsbench-{}", child.id());
    let (code, _, stderr) = wait_output(child, Duration::from_secs(120));
    Some((code, stderr, dir, ns))
}

#[test]
fn a_rate_limited_link_is_made_for_the_run_and_removed_after_it() {
    let test = "a_rate_limited_link_is_made_for_the_run_and_removed_after_it";
    let Some((code, stderr, dir, ns)) = run_over(test, "rate = \"2mbit\"") else {
        return;
    };
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("network namespace {ns}")),
        "{stderr}"
    );
    assert!(stderr.contains("tc qdisc tbf rate 2000000bit"), "{stderr}");
    assert!(!namespaces().contains(&ns), "{ns} left behind");
    let result = read_result(&dir.join("out"));
    let network = result
        .scenario
        .network
        .as_ref()
        .expect("the link is recorded");
    assert_eq!(network.rate_bits, Some(2_000_000));
    assert!(result.method.iter().any(|l| l.contains("emulated link")));
    let run = &result.runs[0];
    assert!(run.status.measured(), "{:?}", run.error);
    assert!(run.messages.sent > 0);
    assert_eq!(run.messages.delivered, run.messages.expected);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A delay needs netem: where the kernel has it, every broadcast crosses the link twice
/// (sender to server, server to receiver); where it does not, the run is refused with
/// exit 2 before anything starts, saying why, and leaves no namespace.
#[test]
fn a_delay_is_paid_twice_by_a_broadcast_or_refused_where_the_kernel_cannot() {
    let test = "a_delay_is_paid_twice_by_a_broadcast_or_refused_where_the_kernel_cannot";
    let Some((code, stderr, dir, ns)) = run_over(test, "delay = \"20ms\"") else {
        return;
    };
    if code == Some(2) {
        assert!(
            stderr.contains("[network]: delay, jitter and loss need"),
            "{stderr}"
        );
        assert!(
            stderr.contains("small-smoke.toml"),
            "names the file: {stderr}"
        );
        assert!(!dir.join("out/result.json").exists());
        assert!(!namespaces().contains(&ns), "{ns} left behind");
        eprintln!("{test}: this kernel has no netem; the refusal was checked");
    } else {
        assert_eq!(code, Some(0), "{stderr}");
        let result = read_result(&dir.join("out"));
        let p50_ms = result.runs[0].latency.p50_us as f64 / 1000.0;
        assert!(
            p50_ms >= 40.0,
            "p50 {p50_ms} ms over a 20 ms link crossed twice"
        );
        assert!(!namespaces().contains(&ns), "{ns} left behind");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
