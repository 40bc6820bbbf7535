//! The Socket.IO server driven by real rust_socketio clients on loopback, over the
//! websocket transport and over long-polling.

use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::json;
use tokio::sync::mpsc;
use wsbench_core::net::bind_listener;
use wsbench_sio_server::{SioServer, SioServerConfig, SioServerHandle};

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(15);

/// A received event: its name and payload.
type Received = (String, Payload);

struct TestClient {
    client: Client,
    inbox: mpsc::UnboundedReceiver<Received>,
}

fn start() -> SioServerHandle {
    let listener = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
    SioServer::start(listener, SioServerConfig::default()).unwrap()
}

async fn connect(server: &SioServerHandle, transport: TransportType) -> TestClient {
    let (tx, inbox) = mpsc::unbounded_channel();
    let (open_tx, mut open_rx) = mpsc::unbounded_channel();
    let mut builder = ClientBuilder::new(format!("http://{}/", server.local_addr()))
        .transport_type(transport)
        .reconnect(false)
        .on(Event::Connect, move |_, _| {
            let open_tx = open_tx.clone();
            async move {
                let _ = open_tx.send(());
            }
            .boxed()
        });
    for event in ["broadcast", "message", "echo"] {
        let tx = tx.clone();
        builder = builder.on(event, move |payload, _| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((event.to_owned(), payload));
            }
            .boxed()
        });
    }
    let client = tokio::time::timeout(WAIT, builder.connect())
        .await
        .expect("connect timed out")
        .expect("connect failed");
    // connect() returns before the server's CONNECT packet; wait for it.
    tokio::time::timeout(WAIT, open_rx.recv())
        .await
        .expect("no open event in time");
    TestClient { client, inbox }
}

async fn connect_many(
    server: &SioServerHandle,
    transport: TransportType,
    n: usize,
) -> Vec<TestClient> {
    let mut clients = Vec::new();
    for _ in 0..n {
        clients.push(connect(server, transport.clone()).await);
    }
    clients
}

async fn recv(c: &mut TestClient) -> Received {
    tokio::time::timeout(WAIT, c.inbox.recv())
        .await
        .expect("no event in time")
        .expect("client gone")
}

/// The arguments of an ack. rust_socketio 0.6 hands an ack's whole argument array over as a
/// single value (the wire carries `43<id>["a"]`; it reports `Text([["a"]])`).
fn ack_args(payload: &Payload) -> serde_json::Value {
    match text(payload).as_slice() {
        [args] => args.clone(),
        other => panic!("expected one argument array, got {other:?}"),
    }
}

fn text(payload: &Payload) -> Vec<serde_json::Value> {
    match payload {
        Payload::Text(values) => values.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

async fn join(c: &TestClient, room: &str) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    c.client
        .emit_with_ack("join", json!(room), WAIT, move |payload, _| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(payload);
            }
            .boxed()
        })
        .await
        .unwrap();
    let ack = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no join ack in time")
        .unwrap();
    assert_eq!(ack_args(&ack), json!([room]));
}

async fn broadcast_reaches_others_not_sender(transport: TransportType) {
    let server = start();
    let mut c = connect_many(&server, transport, 3).await;

    c[0].client.emit("broadcast", json!("hello")).await.unwrap();
    c[0].client
        .emit("broadcast", json!({"n": 1, "s": "x"}))
        .await
        .unwrap();
    for other in &mut c[1..] {
        // socketioxide runs each event handler as a task of its own, so two events of one
        // sender may be relayed in either order (wsbench counts that as out of order).
        let mut got = Vec::new();
        for _ in 0..2 {
            let (event, payload) = recv(other).await;
            assert_eq!(event, "broadcast");
            got.push(text(&payload));
        }
        got.sort_by_key(|v| v[0].is_object());
        assert_eq!(
            got,
            vec![vec![json!("hello")], vec![json!({"n": 1, "s": "x"})]]
        );
    }
    // The sender's first event is a later marker from another client: it never got its own.
    c[1].client.emit("message", json!("marker")).await.unwrap();
    let (event, payload) = recv(&mut c[0]).await;
    assert_eq!(event, "message");
    assert_eq!(text(&payload), vec![json!("marker")]);
    let (_, payload) = recv(&mut c[2]).await;
    assert_eq!(text(&payload), vec![json!("marker")]);

    // The relay counts its deliveries after the broadcast returns, which can be after a
    // client already received it: wait (bounded) for the counters to settle.
    let settled = tokio::time::timeout(WAIT, async {
        while server.counters().deliveries_sent < 6 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let counters = server.counters();
    assert!(settled.is_ok(), "counters never settled: {counters:?}");
    assert_eq!(counters.connections_open, 3);
    assert_eq!(counters.messages_received, 3);
    assert_eq!(counters.deliveries_sent, 6);
}

async fn rooms_isolate(transport: TransportType) {
    let server = start();
    let mut c = connect_many(&server, transport, 6).await;
    join(&c[0], "a").await;
    join(&c[1], "a").await;
    join(&c[2], "b").await;
    join(&c[3], "b").await;
    // c[4] and c[5] stay in the lobby.

    c[0].client.emit("broadcast", json!("for a")).await.unwrap();
    assert_eq!(text(&recv(&mut c[1]).await.1), vec![json!("for a")]);
    // Outsiders' first event is their own group's marker.
    c[3].client.emit("broadcast", json!("for b")).await.unwrap();
    assert_eq!(text(&recv(&mut c[2]).await.1), vec![json!("for b")]);
    c[0].client
        .emit("broadcast", json!("a again"))
        .await
        .unwrap();
    assert_eq!(text(&recv(&mut c[1]).await.1), vec![json!("a again")]);
    c[5].client.emit("broadcast", json!("lobby")).await.unwrap();
    assert_eq!(text(&recv(&mut c[4]).await.1), vec![json!("lobby")]);
}

async fn ack_returns_the_data(transport: TransportType) {
    let server = start();
    let c = connect(&server, transport).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    c.client
        .emit_with_ack(
            "echo",
            json!({"probe": [1, 2, 3]}),
            WAIT,
            move |payload, _| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(payload);
                }
                .boxed()
            },
        )
        .await
        .unwrap();
    let ack = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no ack in time")
        .unwrap();
    assert_eq!(ack_args(&ack), json!([{"probe": [1, 2, 3]}]));
}

async fn binary_is_relayed_as_binary(transport: TransportType) {
    let server = start();
    let mut c = connect_many(&server, transport, 2).await;
    let bytes = vec![0u8, 1, 2, 200, 255];
    c[0].client
        .emit("broadcast", Payload::Binary(bytes.clone().into()))
        .await
        .unwrap();
    let (event, payload) = recv(&mut c[1]).await;
    assert_eq!(event, "broadcast");
    match payload {
        Payload::Binary(got) => assert_eq!(got.as_ref(), &bytes[..]),
        other => panic!("expected binary, got {other:?}"),
    }
}

/// One test per Socket.IO transport for each scenario above: `websocket_<name>` and
/// `polling_<name>`.
macro_rules! on_both_transports {
    ($($scenario:ident => $websocket:ident, $polling:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $websocket() {
            $scenario(TransportType::Websocket).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $polling() {
            $scenario(TransportType::Polling).await;
        }
    )*};
}

on_both_transports! {
    broadcast_reaches_others_not_sender =>
        websocket_broadcast_reaches_others_not_sender, polling_broadcast_reaches_others_not_sender;
    rooms_isolate => websocket_rooms_isolate, polling_rooms_isolate;
    ack_returns_the_data => websocket_ack_returns_the_data, polling_ack_returns_the_data;
    binary_is_relayed_as_binary =>
        websocket_binary_is_relayed_as_binary, polling_binary_is_relayed_as_binary;
}

/// An event sent the instant the namespace CONNECT arrives is handled: socketioxide sends
/// CONNECT before it runs the connect handler, so handlers registered asynchronously would
/// miss it. 50 raw engine.io clients each join right away and must get the ack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_right_after_connect_is_not_lost() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let server = start();
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        server.local_addr()
    );
    for i in 0..50 {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        let acked = tokio::time::timeout(WAIT, async {
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(text) = msg else { continue };
                match text.as_str() {
                    t if t.starts_with('0') => ws.send(Message::text("40")).await.unwrap(),
                    t if t.starts_with("40") => ws
                        .send(Message::text(format!("420[\"join\",\"r{i}\"]")))
                        .await
                        .unwrap(),
                    "2" => ws.send(Message::text("3")).await.unwrap(),
                    t if t.starts_with("430") => return t.to_owned(),
                    _ => {}
                }
            }
            panic!("connection ended");
        })
        .await
        .expect("the join right after CONNECT was never acknowledged");
        assert_eq!(acked, format!("430[\"r{i}\"]"));
    }
}

async fn start_clustered(redis: &wsbench_core::redis_server::RedisServer) -> SioServerHandle {
    let listener = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
    SioServer::start_clustered(listener, SioServerConfig::default(), &redis.url())
        .await
        .unwrap()
}

/// The text arguments of `broadcast` events received until one carrying `marker`.
async fn broadcasts_until(c: &mut TestClient, marker: &str) -> Vec<serde_json::Value> {
    let mut got = Vec::new();
    loop {
        let (event, payload) = recv(c).await;
        assert_eq!(event, "broadcast");
        let args = text(&payload);
        if args == [json!(marker)] {
            return got;
        }
        got.extend(args);
    }
}

#[tokio::test]
async fn clustered_broadcasts_reach_every_client_of_every_node_exactly_once() {
    let Some(redis) = wsbench_core::redis_server::RedisServer::start_or_skip(
        "clustered_broadcasts_reach_every_client_of_every_node_exactly_once",
    ) else {
        return;
    };
    let nodes = [start_clustered(&redis).await, start_clustered(&redis).await];
    let mut clients = Vec::new();
    for node in &nodes {
        clients.extend(connect_many(node, TransportType::Websocket, 3).await);
    }
    clients[0]
        .client
        .emit("broadcast", json!("hello"))
        .await
        .unwrap();
    for c in clients.iter_mut().skip(1) {
        let (event, payload) = recv(c).await;
        assert_eq!(
            (event.as_str(), text(&payload)),
            ("broadcast", vec![json!("hello")])
        );
    }
    // A marker sent once everyone has it: a duplicate would arrive before it.
    clients[0]
        .client
        .emit("broadcast", json!("end"))
        .await
        .unwrap();
    for c in clients.iter_mut().skip(1) {
        assert!(
            broadcasts_until(c, "end").await.is_empty(),
            "a duplicate arrived"
        );
    }
    // Rooms cross nodes too: one member on each node.
    join(&clients[1], "r1").await;
    join(&clients[4], "r1").await;
    clients[4]
        .client
        .emit("broadcast", json!("in r1"))
        .await
        .unwrap();
    let (event, payload) = recv(&mut clients[1]).await;
    assert_eq!(
        (event.as_str(), text(&payload)),
        ("broadcast", vec![json!("in r1")])
    );
    // The lobby did not hear it: its next event is a later lobby broadcast.
    clients[3]
        .client
        .emit("broadcast", json!("lobby"))
        .await
        .unwrap();
    let (_, payload) = recv(&mut clients[0]).await;
    assert_eq!(text(&payload), vec![json!("lobby")]);
    // Nor did the sender hear itself: its next event is a later r1 message of the other member.
    clients[1]
        .client
        .emit("broadcast", json!("r1 again"))
        .await
        .unwrap();
    let (_, payload) = recv(&mut clients[4]).await;
    assert_eq!(text(&payload), vec![json!("r1 again")]);
    for node in nodes {
        node.shutdown(WAIT).await;
    }
}
