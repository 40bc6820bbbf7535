//! A capacity search over wsbench's ws server, the stock one (ws-stock) and a Socket.IO
//! server slowed on purpose (the test aid `WSBENCH_HANDICAP_US`: 3 ms of CPU per delivery,
//! so that even with two cores to itself it cannot make 670 deliveries a second): the
//! search finds the slowed one's capacity lower, by bisection, then measures all three at
//! half the smallest capacity, where the claims are judged and say so, and Socket.IO is
//! set against both raw-WebSocket servers ("inherent or implementation?"). Alone in its
//! test binary, so that no other test's load shares the machine with it.

mod common;

use common::*;

const SCENARIO: &str = r#"name = "capacity"
transports = ["ws", "ws-stock", "socketio-slow"]
clients = 20
ramp = "200ms"
senders = 2
rate = 5
payload = 64
encoding = "text"
warmup = "500ms"
duration = "1s"
drain = "1s"
repeat = 1

[systems.ws-stock]
protocol = "ws"
command = ["{wsbench}", "serve", "ws-stock", "--listen", "127.0.0.1:{port}"]
ready = "ready"

[systems.socketio-slow]
protocol = "socketio"
command = ["{wsbench}", "serve", "socketio", "--listen", "127.0.0.1:{port}"]
env = { WSBENCH_HANDICAP_US = "3000" }
ready = "ready"

[search]
field = "rate"
start = 5
factor = 2
max = 160
p99 = "250ms"
bisect = true
"#;

#[test]
fn a_slowed_system_has_the_lower_capacity_and_claims_are_judged_at_half_of_it() {
    let dir = temp_dir("capacity");
    let path = dir.join("capacity.toml");
    std::fs::write(&path, SCENARIO).unwrap();
    let out = dir.join("out");
    let result = run_ok(&path, &out, &[]);
    let values = [5.0, 10.0, 20.0, 40.0, 80.0, 160.0];
    let found = |name: &str| result.search.iter().find(|o| o.system.as_str() == name);
    let (ws, slow) = (found("ws").unwrap(), found("socketio-slow").unwrap());
    // 19 recipients × 2 senders × rate deliveries a second: the slowed server's 3 ms each,
    // on at most two cores, allow under 18 msg/s per sender, so it breaks by rate = 20.
    let slow_held = slow.highest_held.expect("the slowed system held rate = 5");
    assert!(slow_held <= 10.0, "{slow:?}");
    assert!(
        ws.highest_held.unwrap_or(0.0) > slow_held,
        "{ws:?} / {slow:?}"
    );
    assert!(slow.capacity_per_s.is_some_and(|d| d > 0.0), "{slow:?}");
    // Bisection converged: the first value that broke is the next one after the highest
    // that held, and fewer steps were measured than a value-by-value search would.
    let index = |v: f64| values.iter().position(|x| *x == v).unwrap();
    let broken = slow.first_broken.expect("the slowed system broke a limit");
    assert_eq!(index(broken), index(slow_held) + 1, "{slow:?}");
    assert!(slow.stopped.contains("p99"), "{slow:?}");
    let steps = |name: &str| {
        let mut at: Vec<f64> = result
            .runs
            .iter()
            .filter(|r| r.system.as_str() == name)
            .map(|r| r.point["rate"])
            .collect();
        at.dedup();
        at.len()
    };
    assert!(steps("ws") < values.len(), "ws measured every value");
    // The common load: the highest value at or below half the smaller capacity, every
    // system measured there.
    let load = result.common_load.as_ref().expect("a common load");
    assert_eq!(load.share, 0.5);
    assert_eq!(load.smallest.as_ref().unwrap().0.as_str(), "socketio-slow");
    let common = values
        .iter()
        .rev()
        .find(|v| **v <= slow_held / 2.0)
        .copied();
    assert_eq!(load.value, common, "{load:?}");
    if let Some(common) = common {
        for name in ["ws", "ws-stock", "socketio-slow"] {
            let there = result
                .runs
                .iter()
                .filter(|r| r.system.as_str() == name && r.point["rate"] == common);
            assert!(there.count() >= 1, "{name} at rate = {common}");
        }
    }
    // The claims say the loads they used: capacities for throughput, the common load for
    // latency.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("capacity, the highest rate that held"), "{md}");
    assert!(md.contains("common load: rate = "), "{md}");
    assert_claims_at_the_common_load(&md, common);
    // Two raw-WebSocket servers of one runtime: Socket.IO against each, and the answer.
    if common.is_some() {
        assert!(md.contains("| socketio-slow/ws-stock |"), "{md}");
        assert!(
            md.contains("Inherent or implementation? Socket.IO's capacity "),
            "{md}"
        );
        // The HTML escapes `/` and `'`: its section, and the pair's row.
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(
            html.contains("<h2>Inherent or implementation?</h2>"),
            "{html}"
        );
        assert!(html.contains("socketio-slow&#x2f;ws-stock"), "{html}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The latency claim, where a common load was placed, is judged there and says it.
fn assert_claims_at_the_common_load(md: &str, common: Option<f64>) {
    let latency = md
        .lines()
        .find(|l| l.contains("WebSocket has lower latency"))
        .expect("a latency claim");
    match common {
        Some(v) => assert!(
            latency.contains(&format!("at the common load, rate = {v} (0.5 of")),
            "{latency}"
        ),
        None => assert!(md.contains("common load: none ("), "{md}"),
    }
}
