//! `wsbench run` of the scenarios that exercise one claim each: rooms, polling, connect
//! storms, slow consumers, outages. Real binary, real server children, real sockets.

mod common;

use common::*;

#[test]
fn a_rooms_run_keeps_every_message_in_its_room_on_both_transports() {
    let out = temp_dir("rooms");
    let path = out.join("rooms.toml");
    std::fs::write(
        &path,
        r#"name = "rooms-small"
transports = ["ws", "socketio"]
mode = "rooms"
room_size = 10
clients = 30
ramp = "300ms"
senders = 6
rate = 10
payload = 64
warmup = "500ms"
duration = "2s"
drain = "1s"
"#,
    )
    .unwrap();
    let result = run_ok(&path, &out, &[]);
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        assert!(run.status.measured(), "{:?}", run.error);
        assert_eq!(run.messages.misrouted, 0);
        // 3 rooms of 10: each probe is owed to the 9 other members of its room.
        assert_eq!(run.messages.expected, run.messages.sent * 9);
        assert_eq!(run.messages.delivered, run.messages.expected);
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| Socket.IO broadcasts to rooms | **supported** |"),
        "{md}"
    );
    std::fs::remove_dir_all(out).unwrap();
}

/// The scenario's hundred clients: long-polling clients used to stall each other while
/// connecting (each built its own OpenSSL context), and most timed out.
#[test]
fn a_polling_run_delivers_everything_and_counts_its_bytes_at_the_server() {
    let out = temp_dir("polling");
    let path = scenario_copy(
        &out,
        "polling.toml",
        &[
            ("ramp = \"10s\"", "ramp = \"2s\""),
            ("senders = 10", "senders = 4"),
            ("warmup = \"3s\"", "warmup = \"500ms\""),
            ("duration = \"15s\"", "duration = \"2s\""),
            ("drain = \"2s\"", "drain = \"1s\""),
            ("repeat = 2", "repeat = 1"),
        ],
        "",
    );
    let result = run_ok(
        &path,
        &out,
        &["--transport", "socketio", "--transport", "socketio-polling"],
    );
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        let t = &run.system;
        assert!(run.status.measured(), "{t}: {:?}", run.error);
        assert_eq!(run.connections.connected, 100, "{t}: {:?}", run.connections);
        assert!(run.messages.sent > 0, "{t}");
        assert_eq!(run.messages.expected, run.messages.sent * 99, "{t}");
        assert_eq!(run.messages.delivered, run.messages.expected, "{t}");
        assert!(run.wire.measured(), "{t}: {:?}", run.wire);
        assert!(run.wire.bytes_per_delivery >= 64.0, "{t}: {:?}", run.wire);
    }
    assert_eq!(result.runs[0].wire.source, "client sockets");
    // rust_socketio owns its sockets: the polling bytes are the server's.
    assert_eq!(result.runs[1].wire.source, "server sockets");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| Socket.IO falls back to long-polling | **supported** |"),
        "{md}"
    );
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_connect_storm_reports_its_rate_and_handshake_times() {
    let out = temp_dir("storm");
    let path = scenario_copy(
        &out,
        "connect-storm.toml",
        &[
            ("clients = 5000", "clients = 200"),
            ("duration = \"3s\"", "duration = \"1s\""),
            ("repeat = 3", "repeat = 1"),
        ],
        "",
    );
    let result = run_ok(&path, &out, &[]);
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        let t = &run.system;
        let c = &run.connections;
        assert!(run.status.measured(), "{t}: {:?}", run.error);
        assert_eq!(c.connected, 200, "{t}: {:?}", c.failures);
        assert_eq!(c.connect_time.count, 200, "{t}");
        // Everyone started at once: the span is about the slowest handshake, not a ramp.
        assert!(c.connect_span_s > 0.0, "{t}");
        assert!(
            c.connect_span_s * 1e6 >= c.connect_time.max_us as f64 * 0.99,
            "{t}"
        );
        assert!(
            (c.connects_per_s - 200.0 / c.connect_span_s).abs() < 1e-6,
            "{t}"
        );
        assert_eq!(run.messages.delivered, run.messages.expected, "{t}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Connections"), "{md}");
    assert!(md.contains("| ws | 200/200 |"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Connect time by percentile"));
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn slow_consumers_are_bounded_by_the_overflow_policy_and_reported_apart() {
    let out = temp_dir("slow");
    let path = small_slow_consumers(&out, "");
    let result = run_ok(&path, &out, &[]);
    assert_eq!(result.scenario.stalled, 4);
    for run in &result.runs {
        let t = &run.system;
        assert!(run.status.measured(), "{t}: {:?}", run.error);
        // Owed only to the 7 other clients that keep reading, and all of it arrived.
        assert_eq!(run.messages.expected, run.messages.sent * 7, "{t}");
        assert_eq!(run.messages.delivered, run.messages.expected, "{t}");
        let server = run.server.as_ref().unwrap();
        let counters = server.counters.unwrap();
        assert!(
            counters.deliveries_dropped > 0,
            "{t}: the policy never acted: {counters:?}"
        );
        assert!(!server.rss_samples.is_empty(), "{t}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Slow consumers"), "{md}");
    assert!(md.contains("4 of 12 clients stopped reading"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Server RSS over time"));
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn after_a_server_is_killed_every_client_reconnects_and_the_outage_is_accounted() {
    let out = temp_dir("reconnect");
    let path = small_reconnect(&out, "");
    let result = run_ok(&path, &out, &[]);
    assert_eq!(result.runs.len(), 2);
    for run in &result.runs {
        let t = &run.system;
        assert!(run.status.measured(), "{t}: {:?}", run.error);
        let o = run.outage.as_ref().expect("outage figures");
        assert_eq!(o.clients_at_kill, 20, "{t}");
        assert_eq!(o.reconnected, 20, "{t}: {o:?}");
        let all = o.back_all_s.expect("every client came back");
        // Nobody can be back before the new server was started, 300 ms after the kill.
        assert!(all >= 0.3, "{t}: {o:?}");
        assert!(o.back_p50_s.unwrap() <= all, "{t}");
        // Something was owed during the outage and not all of it arrived.
        assert!(
            o.owed_during > 0 && o.delivered_during < o.owed_during,
            "{t}: {o:?}"
        );
        // Once everyone is back, every message due is delivered again.
        let (owed, delivered) = run
            .timeline
            .between(o.killed_at_s + all + 0.3, run.window.measured_s);
        assert!(owed > 0, "{t}");
        assert_eq!(delivered, owed, "{t}: {o:?}");
        assert_eq!(run.connections.disconnected, 0, "{t}");
        assert_eq!(
            run.messages.lost,
            run.messages.expected - run.messages.delivered
        );
    }
    let (ws, sio) = (&result.runs[0], &result.runs[1]);
    let (wo, so) = (ws.outage.as_ref().unwrap(), sio.outage.as_ref().unwrap());
    // Raw WS has no send buffer; Socket.IO's buffers what is sent while disconnected.
    assert_eq!(wo.buffered, 0);
    assert_eq!(so.discarded, 0);
    assert!(wo.discarded > 0 && so.buffered > 0, "{wo:?} {so:?}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Reconnection"), "{md}");
    assert!(
        md.contains("| Socket.IO reconnects automatically | **supported** |"),
        "{md}"
    );
    std::fs::remove_dir_all(out).unwrap();
}
