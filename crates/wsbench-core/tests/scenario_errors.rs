//! Malformed scenarios: each mistake gets its own message naming file, line, column, field.

use std::path::Path;
use std::time::Duration;

use wsbench_core::scenario::{Encoding, Overrides, Ramp, Scenario};
use wsbench_core::system::Protocol;

mod common;

use common::*;

#[test]
fn the_valid_scenario_parses_with_every_field() {
    let s = parse(VALID).unwrap();
    assert_eq!(s.name, "fanout");
    assert_eq!(
        s.compared,
        vec![name(Protocol::Ws), name(Protocol::Socketio)]
    );
    assert_eq!(s.clients, 1000);
    assert_eq!(
        s.ramp,
        Ramp::Over(wsbench_core::scenario::HumanDuration(Duration::from_secs(
            2
        )))
    );
    assert_eq!(s.senders, 10);
    assert_eq!(s.rate, 10.0);
    assert_eq!(s.payload, 64);
    assert_eq!(s.encoding, Encoding::Text);
    assert_eq!(s.warmup.0, Duration::from_secs(5));
    assert_eq!(s.duration.0, Duration::from_secs(20));
    assert_eq!(s.messages_per_sender(), 250);
    assert_eq!(s.stalled, 0);

    // A share of stalled clients is rounded up to whole clients.
    let slow = parse(&format!(
        "{VALID}stalled = 0.1\noverflow = \"disconnect\"\n"
    ))
    .unwrap();
    assert_eq!(slow.stalled, 100);
    assert_eq!(slow.overflow, wsbench_core::OverflowPolicy::Disconnect);
}

#[test]
fn overrides_replace_fields_for_one_run() {
    let overrides = Overrides {
        clients: Some(50),
        duration: Some(Duration::from_secs(3)),
        compared: vec![name(Protocol::Socketio)],
        ..Default::default()
    };
    let s = Scenario::parse(Path::new("x.toml"), VALID, &overrides).unwrap();
    assert_eq!(s.clients, 50);
    assert_eq!(s.duration.0, Duration::from_secs(3));
    assert_eq!(s.compared, vec![name(Protocol::Socketio)]);
    let bad = Overrides {
        clients: Some(1),
        ..Default::default()
    };
    let err = Scenario::parse(Path::new("x.toml"), VALID, &bad)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "<command line>:1:1: --clients: must be at least 2, not 1"
    );
}

#[test]
fn ten_mistakes_ten_messages() {
    let cases: Vec<(String, &str)> = vec![
        (
            with_line("clients", "clients = 1"),
            "scenarios/x.toml:3:11: clients: must be at least 2, not 1",
        ),
        (
            with_line("senders", "senders = 2000"),
            "scenarios/x.toml:5:11: senders: cannot exceed clients (1000), not 2000",
        ),
        (
            with_line("rate", "rate = 0"),
            "scenarios/x.toml:6:8: rate: must be more than 0",
        ),
        (
            with_line("payload", "payload = 8"),
            "scenarios/x.toml:7:11: payload: must be at least 41, not 8",
        ),
        (
            with_line("encoding", "encoding = \"morse\""),
            "scenarios/x.toml:8:12: encoding: unknown encoding 'morse'",
        ),
        (
            with_line("warmup", "warmup = \"five seconds\""),
            "scenarios/x.toml:9:10: warmup: 'five seconds' is not a duration",
        ),
        (
            with_line("duration", "duration = \"0s\""),
            "scenarios/x.toml:10:12: duration: must be more than 0",
        ),
        (
            with_line("transports", "transports = [\"ws\", \"mqtt\"]"),
            "scenarios/x.toml:2:21: transports: unknown transport 'mqtt'",
        ),
        (
            with_line("transports", "transports = [\"ws\", \"ws\"]"),
            "scenarios/x.toml:2:21: transports: 'ws' is listed twice",
        ),
        (
            with_line("repeat", "repeat = 0"),
            "scenarios/x.toml:12:10: repeat: must be at least 1, not 0",
        ),
        (
            with_line("name", "name = \"a b\""),
            "scenarios/x.toml:1:8: name: must be non-empty",
        ),
        (
            with_line("ramp", "ramp = 0"),
            "scenarios/x.toml:4:8: ramp: must be at least 1 connection per second",
        ),
        (
            format!("{VALID}clinets = 5\n"),
            "scenarios/x.toml:13:1: clinets: unknown field `clinets`",
        ),
        (with_line("clients", ""), "clients: missing field `clients`"),
        (
            with_line("clients", "clients = \"many\""),
            "scenarios/x.toml:3:11: clients: must be an integer or a list of them (a sweep), not the string \"many\"",
        ),
        (
            with_line("clients", "clients = [100, 5]"),
            "scenarios/x.toml:5:11: senders: cannot exceed clients (5), not 10",
        ),
        (
            with_line("rate", "rate = []"),
            "scenarios/x.toml:6:8: rate: an empty list sweeps nothing",
        ),
        (
            with_line("payload", "payload = [64, 1.5]"),
            "scenarios/x.toml:7:11: payload: must be an integer or a list of them (a sweep), not 1.5",
        ),
        (
            format!("{VALID}[target]\nws = \"ws://10.0.0.1:80/\"\n"),
            "scenarios/x.toml:14:6: target.ws: 'ws://10.0.0.1:80/' is not on this machine",
        ),
        (
            format!("{VALID}[target]\nsocketio = \"ftp://127.0.0.1/\"\n"),
            "scenarios/x.toml:14:12: target.socketio: scheme 'ftp' is not supported",
        ),
        ("name = [".to_owned(), "scenarios/x.toml:1:"),
        (
            format!("{VALID}socketio_client = \"python\"\n"),
            "scenarios/x.toml:13:19: socketio_client: unknown client 'python'",
        ),
        (
            format!("{VALID}stalled = 995\n"),
            "scenarios/x.toml:13:11: stalled: 995 stalled clients and 10 senders exceed the 1000 clients",
        ),
        (
            format!("{VALID}stalled = 1.5\n"),
            "scenarios/x.toml:13:11: stalled: is a share of clients (0 to 1) or a whole number",
        ),
        (
            format!("{VALID}overflow = \"block\"\n"),
            "scenarios/x.toml:13:12: overflow: unknown policy 'block'",
        ),
        (
            format!("{VALID}queue_capacity = 0\n"),
            "scenarios/x.toml:13:18: queue_capacity: must be at least 1, not 0",
        ),
        (
            format!("{VALID}[thresholds]\nserver_rss_peak = -1\n"),
            "scenarios/x.toml:14:19: thresholds.server_rss_peak: must be at least 1",
        ),
        (
            format!("{VALID}[outage]\nat = \"30s\"\n"),
            "scenarios/x.toml:14:6: outage.at: must fall inside the measured window",
        ),
        (
            format!("{VALID}[outage]\nat = \"5s\"\nreconnect_delay = \"9s\"\n"),
            "scenarios/x.toml:15:19: outage.reconnect_delay: must be more than 0 and at most reconnect_delay_max",
        ),
        (
            format!("{VALID}[outage]\nat = \"5s\"\nsignal = \"TERM\"\n"),
            "unknown field `signal`",
        ),
        (
            format!("{VALID}[search]\nfield = \"ramp\"\nstart = 1\nmax = 2\n"),
            "scenarios/x.toml:14:9: search.field: 'ramp' cannot be searched",
        ),
        (
            format!("{VALID}[search]\nfield = \"clients\"\nstart = 1000\nfactor = 1\nmax = 2000\n"),
            "scenarios/x.toml:16:10: search.factor: must be more than 1, not 1",
        ),
        (
            format!("{VALID}[search]\nfield = \"clients\"\nstart = 1000\nmax = 500\n"),
            "scenarios/x.toml:16:7: search.max: must be at least start (1000), not 500",
        ),
        (
            format!("{VALID}[search]\nfield = \"senders\"\nstart = 10\nmax = 2000\n"),
            "scenarios/x.toml:15:9: senders: cannot exceed clients (1000), not 1280 (when the search reaches senders = 1280)",
        ),
        (
            with_line("clients", "clients = [100, 1000]")
                + "\n[search]\nfield = \"rate\"\nstart = 1\nmax = 2\n",
            "scenarios/x.toml:13:1: search: a search raises one field itself",
        ),
        (
            format!("{VALID}nodes = 20\n"),
            "scenarios/x.toml:13:9: nodes: must be at most 16, not 20",
        ),
        (
            format!("{VALID}kill_node_at = \"5s\"\n"),
            "scenarios/x.toml:13:16: kill_node_at: needs a cluster (nodes = 2 or more)",
        ),
        (
            format!("{VALID}nodes = 2\n[target]\nws = \"ws://127.0.0.1:9/\"\n"),
            "scenarios/x.toml:13:9: nodes: a cluster runs built-in servers",
        ),
    ];
    let mut seen = std::collections::HashSet::new();
    for (text, expected) in &cases {
        let err = parse(text).expect_err(expected);
        assert!(err.contains(expected), "expected «{expected}», got «{err}»");
        assert!(err.starts_with("scenarios/x.toml:"), "{err}");
        assert!(seen.insert(err.clone()), "message repeated: {err}");
    }
}

#[test]
fn loopback_targets_are_accepted() {
    let text = format!(
        "{VALID}[target]\nws = \"ws://127.0.0.2:9000/\"\nsocketio = \"http://localhost:3000/\"\n"
    );
    let s = parse(&text).unwrap();
    assert_eq!(s.target[&name(Protocol::Ws)], "ws://127.0.0.2:9000/");
    assert_eq!(
        s.target[&name(Protocol::Socketio)],
        "http://localhost:3000/"
    );
}

#[test]
fn every_mistake_of_a_file_is_reported_at_once_in_file_order() {
    let text = with_line("rate", "rate = 0").replace("\"text\"", "\"morse\"") + "\nclinets = 5\n";
    let err = parse(&text).unwrap_err();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "scenarios/x.toml:6:8: rate: must be more than 0 and at most 100000 messages per second per sender, not 0",
            "scenarios/x.toml:8:12: encoding: unknown encoding 'morse' (expected text or binary)",
            "scenarios/x.toml:13:1: clinets: unknown field `clinets` (did you mean `clients`?)",
        ]
    );
}

#[test]
fn wrong_types_empty_files_and_repeated_keys_say_what_to_write() {
    let cases = [
        (
            with_line("duration", "duration = 20"),
            "scenarios/x.toml:10:12: duration: must be a duration in quotes with its unit, like \"20s\" or \"500ms\", not the number 20",
        ),
        (
            format!("{VALID}name = \"again\"\n"),
            "scenarios/x.toml:13:1: name: `name` is given more than once (a duplicate key): keep one",
        ),
        (
            "# nothing yet\n".to_owned(),
            "scenarios/x.toml:1:1: the file is empty: a scenario needs at least name, transports",
        ),
        (
            with_line("transports", "transports = \"ws\""),
            "scenarios/x.toml:2:14: transports: must be a list such as [\"ws\", \"socketio\"], not the string \"ws\"",
        ),
        (
            format!("{VALID}[thresholds]\np99 = 5\n"),
            "scenarios/x.toml:14:7: thresholds.p99: must be a duration in quotes with its unit",
        ),
    ];
    for (text, expected) in &cases {
        let err = parse(text).expect_err(expected);
        assert!(
            err.starts_with(expected),
            "expected «{expected}», got «{err}»"
        );
    }
}

#[test]
fn rust_socketio_clients_only_broadcast_without_outages_or_slow_consumers() {
    // Long-polling always uses rust_socketio; these used to fail only once the servers ran.
    let text = with_line("transports", "transports = [\"ws\", \"socketio-polling\"]")
        + "\nmode = \"echo\"\n[outage]\nat = \"5s\"\n";
    let err = parse(&text).unwrap_err();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("scenarios/x.toml:13:8: mode: mode = \"echo\" needs the lean Socket.IO client, but socketio-polling uses rust_socketio"),
        "{err}"
    );
    assert!(
        lines[1].starts_with("scenarios/x.toml:14:1: outage: an outage needs the lean clients"),
        "{err}"
    );
    let chosen = format!("{VALID}socketio_client = \"rust_socketio\"\nstalled = 5\n");
    let err = parse(&chosen).unwrap_err();
    assert!(
        err.contains("stalled: slow consumers need the lean clients, but socketio uses rust_socketio (socketio_client = \"rust_socketio\""),
        "{err}"
    );
    // The same scenario without socketio is fine.
    let overrides = Overrides {
        compared: vec![name(Protocol::Ws)],
        ..Default::default()
    };
    assert!(Scenario::parse(Path::new("x.toml"), &chosen, &overrides).is_ok());
}

const NODE: &str = r#"
[systems.node-ws]
protocol = "ws"
command = ["node", "servers/node/ws-server.js"]
env = { PORT = "{port}" }
"#;

#[test]
fn systems_of_the_scenario_are_measured_like_built_in_ones() {
    let text = with_line("transports", "transports = [\"ws\", \"node-ws\"]") + NODE;
    let s = parse(&text).unwrap();
    let node = s.system(&"node-ws".parse().unwrap()).unwrap();
    assert_eq!(node.protocol, Protocol::Ws);
    assert_eq!(node.runtime, "node");
    let wsbench_core::system::ServerSpec::Command(spec) = &node.server else {
        panic!("{node:?}");
    };
    assert_eq!(spec.argv(4242, None), ["node", "servers/node/ws-server.js"]);
    assert_eq!(
        spec.env(4242, None),
        [("PORT".to_owned(), "4242".to_owned())]
    );
    assert_eq!((spec.path.as_str(), spec.ready.as_deref()), ("/", None));
    assert_eq!(s.systems().len(), 2);
}

#[test]
fn mistakes_in_systems_are_located() {
    let base = with_line("transports", "transports = [\"ws\", \"node-ws\"]");
    let cases = [
        (
            format!(
                "{base}{}",
                NODE.replace("protocol = \"ws\"", "protocol = \"mqtt\"")
            ),
            "systems.node-ws.protocol: unknown transport 'mqtt'",
        ),
        (
            format!("{base}{}", NODE.replace("env = { PORT = \"{port}\" }", "")),
            "systems.node-ws: the server must be told its port",
        ),
        (
            format!("{base}{NODE}[systems.node-ws]\nprotocol = \"ws\"\n"),
            "`node-ws` is given more than once",
        ),
        (
            format!("{base}\n[systems.ws]\nprotocol = \"ws\"\ncommand = [\"x\", \"{{port}}\"]\n"),
            "systems.ws: 'ws' is a built-in system: give yours another name",
        ),
        (
            format!(
                "{base}{}",
                NODE.replace(
                    "protocol = \"ws\"",
                    "protocol = \"socketio\"\npath = \"/x\""
                )
            ),
            "systems.node-ws.path: applies to protocol = \"ws\"",
        ),
        (
            with_line("transports", "transports = [\"ws\", \"node-ws\"]"),
            "transports: unknown transport 'node-ws' (expected ws, socketio, socketio-polling)",
        ),
        (
            format!("{base}\nnodes = 2\n{NODE}"),
            "nodes: a cluster runs built-in servers",
        ),
        (
            format!("{VALID}server_cpus = \"0-9999\"\n"),
            "server_cpus: '0-9999' is not a CPU list",
        ),
        (
            format!("{VALID}loadgen_cpus = \"1000\"\n"),
            "loadgen_cpus: CPU 1000 is not available here",
        ),
        (
            format!("{VALID}[target]\nws = {{ url = \"ws://127.0.0.1:9/\", pid = 0 }}\n"),
            "target.ws.pid: must be at least 1",
        ),
        (
            format!("{VALID}[target]\nnode = \"ws://127.0.0.1:9/\"\n"),
            "target: 'node' names no system of this scenario",
        ),
    ];
    for (text, expected) in &cases {
        let err = parse(text).expect_err(expected);
        assert!(err.contains(expected), "expected «{expected}», got «{err}»");
        assert!(err.starts_with("scenarios/x.toml:"), "{err}");
    }
}

#[test]
fn a_target_may_name_its_pid() {
    let text = format!("{VALID}[target]\nws = {{ url = \"ws://127.0.0.1:9/\", pid = 4242 }}\n");
    let s = parse(&text).unwrap();
    let ws = s.system(&name(Protocol::Ws)).unwrap();
    assert_eq!(
        ws.server,
        wsbench_core::system::ServerSpec::Target {
            url: "ws://127.0.0.1:9/".to_owned(),
            pid: Some(4242)
        }
    );
}

#[test]
fn a_search_needs_a_limit_to_search_against() {
    let search = "\n[search]\nfield = \"clients\"\nstart = 100\nmax = 400\n";
    let err = parse(&format!("{VALID}{search}")).unwrap_err();
    assert!(
        err.contains("search: has no limit to search against: give p99"),
        "{err}"
    );
    assert!(parse(&format!("{VALID}{search}loss = 0\n")).is_ok());
}
