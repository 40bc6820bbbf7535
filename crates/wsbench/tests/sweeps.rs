//! `wsbench run` of sweeps, searches and clusters: several measurements in one run.

mod common;

use common::*;

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
    let got: Vec<(&str, f64, u64)> = result
        .runs
        .iter()
        .map(|r| {
            (
                r.system.as_str(),
                r.point["clients"],
                r.connections.connected,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ws", 6.0, 6),
            ("socketio", 6.0, 6),
            ("ws", 12.0, 12),
            ("socketio", 12.0, 12)
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

/// `stalled = 0.1` over `clients = [10, 20]` stalls 1 then 2 clients: each point runs as
/// the check worked it out (it ran the first point's count at every point), so the
/// deliveries owed are to the other clients that keep reading.
#[test]
fn a_stalled_share_is_each_points_own_share_of_its_clients() {
    let out = temp_dir("stalled-sweep");
    let path = small_scenario(
        &out,
        &[
            ("clients = 20", "clients = [10, 20]"),
            ("senders = 4", "senders = 1"),
            ("duration = \"2s\"", "duration = \"1s\""),
        ],
        "stalled = 0.1\n",
    );
    let result = run_ok(&path, &out, &["--transport", "ws"]);
    let got: Vec<(f64, u64)> = result
        .runs
        .iter()
        .map(|r| {
            assert!(r.status.measured(), "{:?}", r.error);
            assert!(r.messages.sent > 0);
            assert_eq!(r.messages.delivered, r.messages.expected);
            (r.point["clients"], r.messages.expected / r.messages.sent)
        })
        .collect();
    // Owed to the clients other than the sender and the stalled ones: 10 - 1 - 1, 20 - 1 - 2.
    assert_eq!(got, [(10.0, 8), (20.0, 17)]);
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
        assert!(
            o.stopped
                .starts_with("below the first step (rate = 5): p99"),
            "{o:?}"
        );
    }
    assert_eq!(result.runs.len(), 2, "one step per transport");
    // No capacity, so no load every system carried: said, and nothing more measured.
    let load = result
        .common_load
        .as_ref()
        .expect("the common load's place");
    assert_eq!(load.value, None);
    assert!(
        load.none.as_ref().unwrap().contains("held no value"),
        "{load:?}"
    );

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
    // Half the smaller capacity is 10, which both measured on the way: no more runs.
    let rates: Vec<f64> = result.runs.iter().map(|r| r.point["rate"]).collect();
    assert_eq!(rates, [5.0, 10.0, 20.0, 5.0, 10.0, 20.0]);
    assert_eq!(result.common_load.as_ref().unwrap().value, Some(10.0));
    let md = std::fs::read_to_string(out2.join("report.md")).unwrap();
    assert!(md.contains("## Saturation search"), "{md}");
    let row = md
        .lines()
        .find(|l| l.starts_with("| ws | 20 | "))
        .expect("ws's row");
    assert!(
        row.contains(" | - | every value up to the maximum"),
        "{row}"
    );
    assert!(md.contains("The claims (judged at rate=10)"), "{md}");
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
        let t = &run.system;
        assert!(run.status.measured(), "{t}: {:?}", run.error);
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
        let t = &run.system;
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
        // Its blocks are read throughout, the kill included: servers' CPU (the killed node
        // counting what it had), and the machine's readings that validity rests on (they
        // were not read at all in a run with a kill, and its CPU claim had "0 block(s)").
        let cpu: Vec<Option<f64>> = run.blocks.iter().map(|b| b.server_cpu_s).collect();
        assert!(cpu.iter().all(Option::is_some), "{t}: {cpu:?}");
        assert!(run.blocks.iter().all(|b| b.cpu_kernel_ms.is_some()), "{t}");
    }
    let md = std::fs::read_to_string(out2.join("report.md")).unwrap();
    assert!(
        md.contains("## Cluster") && md.contains("killed at 1.0 s"),
        "{md}"
    );
    std::fs::remove_dir_all(out).unwrap();
}
