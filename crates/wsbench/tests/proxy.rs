//! `[proxy]`: nginx started in front of each system's server. Passing the upgrade on, every
//! system delivers through it and its cost is recorded; not passing it, raw WebSocket and
//! Socket.IO over websocket cannot connect and say why, while Socket.IO over long-polling
//! delivers everything. Needs nginx: skipped with a message without it, except under CI,
//! which installs it (.ci/run).

mod common;

use std::process::Command;

use common::*;

fn nginx(test: &str) -> bool {
    let found = Command::new("nginx").arg("-v").output().is_ok();
    if !found {
        wsbench_core::prerequisite::missing(test, "nginx (Debian: apt-get install nginx-light)");
    }
    found
}

/// nginx processes whose configuration is under `dir`.
fn left_in(dir: &std::path::Path) -> Vec<String> {
    command_lines(|l| l.contains("nginx") && l.contains(dir.to_str().unwrap()))
}

#[test]
fn every_system_is_measured_through_a_proxy_that_passes_the_upgrade() {
    let test = "every_system_is_measured_through_a_proxy_that_passes_the_upgrade";
    if !nginx(test) {
        return;
    }
    let dir = temp_dir("proxy-through");
    let path = small_scenario(&dir, &[], "\n[proxy]\nupgrade = true\n");
    let result = run_ok(&path, &dir.join("out"), &[]);
    for run in &result.runs {
        let name = run.system.as_str();
        assert!(run.status.measured(), "{name}: {:?}", run.error);
        assert_eq!(run.messages.delivered, run.messages.expected, "{name}");
        let proxy = run
            .proxy
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no proxy"));
        assert!(proxy.software.starts_with("nginx"), "{proxy:?}");
        assert!(proxy.upgrade);
        assert!(proxy.cpu_s > 0.0 && proxy.rss_peak_bytes > 0, "{proxy:?}");
        assert!(dir.join(format!("out/proxy/{name}/nginx.conf")).exists());
    }
    let md = std::fs::read_to_string(dir.join("out/report.md")).unwrap();
    assert!(md.contains("## Through a proxy"), "{md}");
    assert!(left_in(&dir).is_empty(), "{:?}", left_in(&dir));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A system served over TLS, behind the proxy: the clients speak TLS to nginx (the run's
/// certificate, trusted through its CA), nginx speaks TLS to the server (verifying it
/// against the same CA); every delivery arrives. It was refused up front ("not there
/// yet").
#[test]
fn tls_systems_are_measured_through_a_proxy_speaking_tls_on_both_sides() {
    let test = "tls_systems_are_measured_through_a_proxy_speaking_tls_on_both_sides";
    if !nginx(test) {
        return;
    }
    let dir = temp_dir("proxy-tls");
    let path = small_scenario(
        &dir,
        &[(
            "transports = [\"ws\", \"socketio\"]",
            "transports = [\"ws\", \"socketio\"]\ntls = true",
        )],
        "\n[proxy]\nupgrade = true\n",
    );
    let result = run_ok(&path, &dir.join("out"), &[]);
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        let name = run.system.as_str();
        assert!(run.status.measured(), "{name}: {:?}", run.error);
        assert_eq!(run.messages.delivered, run.messages.expected, "{name}");
        assert!(run.messages.sent > 0, "{name}");
        // Every client's handshake was a TLS one, with the proxy.
        assert_eq!(run.connections.tls_time.count, 20, "{name}");
        let proxy = run.proxy.as_ref().expect("proxy figures");
        assert!(proxy.tls && proxy.url.starts_with("https://"), "{proxy:?}");
        let conf = std::fs::read_to_string(dir.join(format!("out/proxy/{name}/nginx.conf")));
        let conf = conf.unwrap();
        assert!(
            conf.contains(" ssl;") && conf.contains("proxy_pass https://"),
            "{conf}"
        );
    }
    let md = std::fs::read_to_string(dir.join("out/report.md")).unwrap();
    assert!(
        md.contains("over TLS to the clients and to the server"),
        "{md}"
    );
    assert!(left_in(&dir).is_empty(), "{:?}", left_in(&dir));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn behind_a_proxy_that_blocks_upgrades_only_long_polling_gets_through() {
    let test = "behind_a_proxy_that_blocks_upgrades_only_long_polling_gets_through";
    if !nginx(test) {
        return;
    }
    let dir = temp_dir("proxy-blocked");
    let path = small_of_200(
        &dir,
        "blocked-upgrade.toml",
        &[("senders = 10", "senders = 2")],
    );
    let (code, result) = run_with(&path, &dir.join("out"), &[]);
    assert_eq!(code, Some(1), "the two WebSocket systems fail");
    for run in &result.runs {
        let name = run.system.as_str();
        if name == "socketio-polling" {
            assert!(run.status.measured(), "{name}: {:?}", run.error);
            assert_eq!(run.connections.connected, 20);
            assert_eq!(run.messages.delivered, run.messages.expected);
        } else {
            assert_eq!(run.connections.connected, 0, "{name}");
            assert_eq!(
                run.connections.failures.get("handshake"),
                Some(&20),
                "{name}"
            );
            let error = run.error.as_deref().unwrap_or_default();
            assert!(error.contains("[proxy] upgrade = false"), "{error}");
        }
    }
    let md = std::fs::read_to_string(dir.join("out/report.md")).unwrap();
    assert!(md.contains("ws: no client got through nginx"), "{md}");
    assert!(
        md.contains("does not pass the WebSocket upgrade on"),
        "{md}"
    );
    assert!(left_in(&dir).is_empty(), "{:?}", left_in(&dir));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Whether redis-server is there (a cluster's nodes share it); says so loudly if not.
fn redis_server(test: &str) -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        wsbench_core::prerequisite::missing(
            test,
            "redis-server (Debian: apt-get install redis-server)",
        );
    }
    found
}

/// Three Socket.IO nodes sharing Redis behind the proxy. Without sticky sessions (round
/// robin) a long-polling client's requests reach nodes that did not open its session,
/// which answer 400: the polling clients fail, the proxy counts the 400s and the run says
/// why; Socket.IO over websocket is one connection and needs no stickiness. With sticky
/// sessions (hashed on the client's address) every polling client delivers everything.
#[test]
fn a_cluster_behind_the_proxy_needs_sticky_sessions_for_long_polling() {
    let test = "a_cluster_behind_the_proxy_needs_sticky_sessions_for_long_polling";
    if !nginx(test) || !redis_server(test) {
        return;
    }
    for sticky in [false, true] {
        let dir = temp_dir(&format!("proxy-sticky-{sticky}"));
        let path = small_scenario(
            &dir,
            &[(
                "transports = [\"ws\", \"socketio\"]",
                "transports = [\"socketio-polling\", \"socketio\"]\nnodes = 3",
            )],
            &format!("\n[proxy]\nsticky = {sticky}\n"),
        );
        let (code, result) = run_with(&path, &dir.join("out"), &[]);
        let run = |name: &str| {
            let found = result.runs.iter().find(|r| r.system.as_str() == name);
            found.unwrap_or_else(|| panic!("no {name} run"))
        };
        let websocket = run("socketio");
        assert_eq!(websocket.connections.connected, 20, "sticky {sticky}");
        let m = &websocket.messages;
        assert!(
            m.sent > 0 && m.delivered == m.expected,
            "sticky {sticky}: {m:?}"
        );
        let polling = run("socketio-polling");
        let proxy = polling.proxy.as_ref().expect("proxy figures");
        assert_eq!((proxy.nodes, proxy.sticky), (3, sticky), "{proxy:?}");
        let conf = std::fs::read_to_string(dir.join("out/proxy/socketio-polling/nginx.conf"));
        assert_eq!(conf.unwrap().contains("hash $remote_addr"), sticky);
        let md = std::fs::read_to_string(dir.join("out/report.md")).unwrap();
        let m = &polling.messages;
        if sticky {
            assert_eq!(code, Some(0), "{:?}", polling.error);
            assert_eq!(polling.connections.connected, 20);
            assert!(m.sent > 0 && m.delivered == m.expected, "{m:?}");
            assert!(md.contains("keeping each client on one node"), "{md}");
        } else {
            // No polling client connected so far (exit 1); one whose requests happened to
            // meet one node could, and would then lose deliveries.
            let failed = polling.connections.connected < 20 || m.delivered < m.expected;
            assert!(failed, "{:?} {m:?}", polling.connections);
            assert!(proxy.failed.get(&400).is_some_and(|n| *n > 0), "{proxy:?}");
            assert!(
                md.contains("without sticky sessions") && md.contains("answered 400"),
                "{md}"
            );
        }
        assert!(left_in(&dir).is_empty(), "{:?}", left_in(&dir));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
