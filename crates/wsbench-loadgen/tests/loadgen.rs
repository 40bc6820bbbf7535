//! The load generator against the real servers, in process, on loopback.

use std::time::Duration;

use wsbench_core::clock::monotonic_ns;
use wsbench_core::net::bind_listener;
use wsbench_core::scenario::Encoding;
use wsbench_core::system::Protocol;
use wsbench_loadgen::{ClientLibrary, Endpoint, LoadGen, LoadPlan, LoadReport, Scope, Timeline};
use wsbench_sio_server::{SioServer, SioServerConfig};
use wsbench_ws_server::{WsServer, WsServerConfig};

const CLIENTS: u64 = 12;
const SENDERS: u64 = 3;
const RATE: f64 = 20.0;

fn plan(protocol: Protocol, endpoint: Endpoint, encoding: Encoding) -> LoadPlan {
    LoadPlan {
        protocol,
        client: ClientLibrary::Lean,
        endpoints: vec![endpoint],
        encoding,
        scope: Scope::Broadcast,
        clients: CLIENTS,
        senders: SENDERS,
        stalled: 0,
        rate: RATE,
        payload: 64,
        payload_kind: wsbench_core::scenario::PayloadKind::Padded,
        deflate: None,
        adapter: Default::default(),
        messages_per_sender: 30,
        ramp_interval: Duration::from_millis(1),
        workers: 2,
        connect_timeout: Duration::from_secs(10),
        reconnect: None,
        shard: wsbench_core::shard::Shard::WHOLE,
        tls: None,
        io: wsbench_core::io_path::IoPath::Tokio,
    }
}

/// Connects everyone, runs 0.5 s of warm-up, 1 s measured and 1.5 s of drain.
async fn drive(plan: LoadPlan) -> LoadReport {
    let clients = plan.clients;
    let load = LoadGen::start(plan).unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        while load.live().connected + load.live().failed < clients {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("clients did not connect in time");
    if load.live().connected != clients {
        load.abort();
        let report = tokio::task::spawn_blocking(move || load.finish())
            .await
            .unwrap();
        panic!("not every client connected: {:?}", report.counts.failures);
    }
    let t0 = monotonic_ns() + 50_000_000;
    load.begin(Timeline {
        t0_ns: t0,
        measure_start_ns: t0 + 500_000_000,
        measure_end_ns: t0 + 1_500_000_000,
        drain_end_ns: t0 + 3_000_000_000,
    });
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || load.finish()),
    )
    .await
    .expect("load did not finish in time")
    .unwrap()
}

/// Everything owed arrived exactly once. Order is not asserted: socketioxide relays each
/// event from a task of its own, so it may reorder a sender's events (counted, not failed).
fn assert_complete(report: &LoadReport) {
    // 3 senders × 20 msg/s × 1 s measured, each owed to its recipients.
    assert_eq!(report.counts.sent, SENDERS * 20, "{report:?}");
    assert_eq!(report.counts.unsent, 0);
    assert_eq!(report.counts.delivered, report.counts.owed, "{report:?}");
    assert_eq!(report.counts.misrouted, 0, "{report:?}");
    assert_eq!(report.counts.duplicated, 0);
    assert_eq!(report.counts.disconnected, 0);
    assert_eq!(report.counts.latency.len(), report.counts.delivered);
    assert_eq!(report.counts.connect_time.len(), CLIENTS);
    assert!(report.counts.send_lag.len() >= report.counts.sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_websocket_broadcast_is_delivered_exactly_once_to_every_other_client() {
    let server = WsServer::start(
        bind_listener("127.0.0.1:0".parse().unwrap()).unwrap(),
        WsServerConfig::default(),
    )
    .unwrap();
    let addr = server.local_addr();
    for encoding in [Encoding::Text, Encoding::Binary] {
        let endpoint = Endpoint {
            addr,
            url: format!("ws://{addr}/"),
        };
        let report = drive(plan(Protocol::Ws, endpoint, encoding)).await;
        assert_complete(&report);
        assert_eq!(report.counts.owed, report.counts.sent * (CLIENTS - 1));
        // One reader task per connection relays in order.
        assert_eq!(report.counts.out_of_order, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_broadcast_is_delivered_exactly_once_to_every_other_client() {
    let server = SioServer::start(
        bind_listener("127.0.0.1:0".parse().unwrap()).unwrap(),
        SioServerConfig::default(),
    )
    .unwrap();
    let addr = server.local_addr();
    for encoding in [Encoding::Text, Encoding::Binary] {
        let endpoint = Endpoint {
            addr,
            url: format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"),
        };
        let report = drive(plan(Protocol::Socketio, endpoint, encoding)).await;
        assert_complete(&report);
    }
}

/// Echo and rooms on both transports: every probe back to its sender alone, or to the
/// other members of its room alone (12 clients in 3 rooms of 4; senders 0, 1, 2 are in
/// rooms 0, 1, 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_and_rooms_reach_exactly_their_scope_on_both_transports() {
    let ws = WsServer::start(
        bind_listener("127.0.0.1:0".parse().unwrap()).unwrap(),
        WsServerConfig::default(),
    )
    .unwrap();
    let sio = SioServer::start(
        bind_listener("127.0.0.1:0".parse().unwrap()).unwrap(),
        SioServerConfig::default(),
    )
    .unwrap();
    let endpoints = [
        (
            Protocol::Ws,
            Endpoint {
                addr: ws.local_addr(),
                url: format!("ws://{}/", ws.local_addr()),
            },
        ),
        (
            Protocol::Socketio,
            Endpoint {
                addr: sio.local_addr(),
                url: format!(
                    "ws://{}/socket.io/?EIO=4&transport=websocket",
                    sio.local_addr()
                ),
            },
        ),
    ];
    for (protocol, endpoint) in endpoints {
        for encoding in [Encoding::Text, Encoding::Binary] {
            eprintln!("{protocol:?} {encoding:?}");
            let mut p = plan(protocol, endpoint.clone(), encoding);
            p.scope = Scope::Echo;
            let report = drive(p).await;
            assert_complete(&report);
            assert_eq!(report.counts.owed, report.counts.sent, "{protocol:?} echo");

            let mut p = plan(protocol, endpoint.clone(), encoding);
            p.scope = Scope::Rooms { rooms: 3 };
            let report = drive(p).await;
            assert_complete(&report);
            assert_eq!(
                report.counts.owed,
                report.counts.sent * 3,
                "{protocol:?} rooms"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_socketio_clients_measure_websocket_and_long_polling_alike() {
    let server = SioServer::start(
        bind_listener("127.0.0.1:0".parse().unwrap()).unwrap(),
        SioServerConfig::default(),
    )
    .unwrap();
    let addr = server.local_addr();
    for protocol in [Protocol::Socketio, Protocol::SocketioPolling] {
        let endpoint = Endpoint {
            addr,
            url: format!("http://{addr}/"),
        };
        let mut p = plan(protocol, endpoint, Encoding::Text);
        p.client = ClientLibrary::RustSocketio;
        let report = drive(p).await;
        assert_complete(&report);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_counted_by_kind() {
    // A port with nothing listening: bind, note the port, close.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let endpoint = Endpoint {
        addr,
        url: format!("ws://{addr}/"),
    };
    let mut p = plan(Protocol::Ws, endpoint, Encoding::Text);
    p.clients = 4;
    let load = LoadGen::start(p).unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        while load.live().failed < 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("failures not counted in time");
    load.abort();
    let report = tokio::task::spawn_blocking(move || load.finish())
        .await
        .unwrap();
    assert_eq!(report.counts.connected, 0);
    assert_eq!(
        report
            .counts
            .failures
            .get(wsbench_loadgen::ConnectFailure::Refused.as_str()),
        Some(&4)
    );
}
