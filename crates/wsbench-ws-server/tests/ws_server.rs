//! The raw-WebSocket server driven by real tokio-tungstenite clients on loopback.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, client_async, connect_async};
use wsbench_core::io_path::{SendChoice, SendPath};
use wsbench_core::net::bind_listener;
use wsbench_ws_server::{OverflowPolicy, WsServer, WsServerConfig, WsServerHandle};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

fn start(config: WsServerConfig) -> WsServerHandle {
    let listener = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
    WsServer::start(listener, config).unwrap()
}

/// [`start`] writing broadcasts by `io` (`wsbench serve ws --io`): where the kernel
/// refuses io_uring the server writes by `send` and says why, which is then what is tested.
fn start_on(io: SendChoice, config: WsServerConfig) -> WsServerHandle {
    let server = start(WsServerConfig { io, ..config });
    match (io, server.send_path()) {
        (SendChoice::Uring, (SendPath::Epoll, Some(why))) => {
            assert!(why.contains("cannot set up io_uring"), "{why}");
            eprintln!("NOTE: io_uring is refused here ({why}): the send path was tested");
        }
        (SendChoice::Uring, path) => assert_eq!(path, (SendPath::Uring, None)),
        (_, path) => assert_eq!(path, (SendPath::Epoll, None)),
    }
    server
}

/// A test that runs with the server writing broadcasts each way: `NAME::epoll` and
/// `NAME::uring`, both calling `NAME(io)`.
macro_rules! on_both_paths {
    ($name:ident) => {
        mod $name {
            use wsbench_core::io_path::SendChoice;

            #[tokio::test]
            async fn epoll() {
                super::$name(SendChoice::Epoll).await
            }

            #[tokio::test]
            async fn uring() {
                super::$name(SendChoice::Uring).await
            }
        }
    };
}

async fn connect(server: &WsServerHandle, path: &str) -> Client {
    let url = format!("ws://{}{path}", server.local_addr());
    let (ws, _) = tokio::time::timeout(WAIT, connect_async(url))
        .await
        .expect("connect timed out")
        .expect("connect failed");
    ws
}

/// Connects `n` clients and waits until the server has counted them all, so that no
/// broadcast races a handshake.
async fn connect_many(server: &WsServerHandle, path: &str, n: usize) -> Vec<Client> {
    let before = server.counters().connections_open;
    let mut clients = Vec::new();
    for _ in 0..n {
        clients.push(connect(server, path).await);
    }
    wait_until(|| server.counters().connections_open >= before + n as u64).await;
    clients
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("condition not reached in time");
}

/// The next data message, skipping control frames.
async fn recv<S>(client: &mut WebSocketStream<S>) -> Message
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    tokio::time::timeout(WAIT, async {
        loop {
            match client.next().await {
                Some(Ok(msg @ (Message::Text(_) | Message::Binary(_) | Message::Close(_)))) => {
                    return msg;
                }
                Some(Ok(_)) => continue,
                other => panic!("connection ended: {other:?}"),
            }
        }
    })
    .await
    .expect("no message in time")
}

on_both_paths!(broadcast_reaches_every_other_client_exactly_once_and_never_the_sender);
async fn broadcast_reaches_every_other_client_exactly_once_and_never_the_sender(io: SendChoice) {
    let server = start_on(io, WsServerConfig::default());
    let mut clients = connect_many(&server, "/", 4).await;

    clients[0].send(Message::text("hello")).await.unwrap();
    clients[0]
        .send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    for other in &mut clients[1..] {
        assert_eq!(recv(other).await, Message::text("hello"));
        assert_eq!(recv(other).await, Message::binary(vec![0u8, 1, 2, 255]));
    }
    // A marker from another client: had the sender got its own messages, they would be
    // queued ahead of it.
    clients[1].send(Message::text("marker")).await.unwrap();
    assert_eq!(recv(&mut clients[0]).await, Message::text("marker"));
    // Exactly once: the next thing the others see is the marker, not a duplicate.
    for other in &mut clients[2..] {
        assert_eq!(recv(other).await, Message::text("marker"));
    }

    // The reader counts a broadcast after queueing it, so a client can see it first.
    wait_until(|| server.counters().deliveries_sent >= 9).await;
    let c = server.counters();
    assert_eq!(c.messages_received, 3);
    assert_eq!(c.deliveries_sent, 3 + 3 + 3);
    assert_eq!(c.deliveries_dropped, 0);
}

on_both_paths!(rooms_isolate_their_members);
async fn rooms_isolate_their_members(io: SendChoice) {
    let server = start_on(io, WsServerConfig::default());
    let mut a = connect_many(&server, "/room/a", 2).await;
    let mut b = connect_many(&server, "/room/b", 2).await;
    let mut lobby = connect_many(&server, "/", 2).await;

    a[0].send(Message::text("for a")).await.unwrap();
    assert_eq!(recv(&mut a[1]).await, Message::text("for a"));

    // Each outsider's first message is its own group's marker, not "for a".
    b[1].send(Message::text("for b")).await.unwrap();
    assert_eq!(recv(&mut b[0]).await, Message::text("for b"));
    lobby[1].send(Message::text("for lobby")).await.unwrap();
    assert_eq!(recv(&mut lobby[0]).await, Message::text("for lobby"));
    a[1].send(Message::text("back to a")).await.unwrap();
    assert_eq!(recv(&mut a[0]).await, Message::text("back to a"));
}

#[tokio::test]
async fn echo_returns_to_the_sender_only() {
    let server = start(WsServerConfig::default());
    let mut e = connect_many(&server, "/echo", 2).await;

    e[0].send(Message::text("ping?")).await.unwrap();
    e[0].send(Message::binary(vec![9u8; 100])).await.unwrap();
    assert_eq!(recv(&mut e[0]).await, Message::text("ping?"));
    assert_eq!(recv(&mut e[0]).await, Message::binary(vec![9u8; 100]));
    e[1].send(Message::text("mine")).await.unwrap();
    assert_eq!(recv(&mut e[1]).await, Message::text("mine"));
}

#[tokio::test]
async fn welcome_message_is_sent_when_configured() {
    let server = start(WsServerConfig {
        welcome: Some("Welcome to the WebSocket server!".into()),
        ..Default::default()
    });
    let mut c = connect(&server, "/").await;
    assert_eq!(
        recv(&mut c).await,
        Message::text("Welcome to the WebSocket server!")
    );
}

#[tokio::test]
async fn unknown_path_is_refused() {
    let server = start(WsServerConfig::default());
    let url = format!("ws://{}/nowhere", server.local_addr());
    let err = tokio::time::timeout(WAIT, connect_async(url))
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn oversize_message_is_closed_with_1009_and_others_go_on() {
    let server = start(WsServerConfig {
        max_message_size: 1024,
        ..Default::default()
    });
    let mut c = connect_many(&server, "/", 3).await;
    c[0].send(Message::binary(vec![0u8; 2048])).await.unwrap();
    match recv(&mut c[0]).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Size),
        other => panic!("expected a 1009 close, got {other:?}"),
    }
    wait_until(|| server.counters().connections_open == 2).await;
    c[1].send(Message::text("still here")).await.unwrap();
    assert_eq!(recv(&mut c[2]).await, Message::text("still here"));
}

#[tokio::test]
async fn an_invalid_frame_ends_only_its_connection() {
    let server = start(WsServerConfig::default());
    let mut good = connect_many(&server, "/", 2).await;
    let mut bad = connect(&server, "/").await;
    wait_until(|| server.counters().connections_open == 3).await;
    // A masked frame with reserved opcode 0x3: a protocol error.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let MaybeTlsStream::Plain(tcp) = bad.get_mut() else {
        unreachable!()
    };
    tcp.write_all(&[0x83, 0x80, 1, 2, 3, 4]).await.unwrap();
    let mut buf = [0u8; 64];
    // The server closes (1002 close frame, then EOF).
    tokio::time::timeout(WAIT, async {
        while tcp.read(&mut buf).await.unwrap_or(0) > 0 {}
    })
    .await
    .expect("bad connection not closed");
    wait_until(|| server.counters().connections_open == 2).await;
    good[0].send(Message::text("fine")).await.unwrap();
    assert_eq!(recv(&mut good[1]).await, Message::text("fine"));
}

/// A client that completes the handshake and then never reads, with a small receive buffer
/// so that the server's queue for it fills quickly.
async fn stalled_client(server: &WsServerHandle) -> WebSocketStream<TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.local_addr()).await.unwrap();
    let url = format!("ws://{}/", server.local_addr());
    let (ws, _) = tokio::time::timeout(WAIT, client_async(url, tcp))
        .await
        .unwrap()
        .unwrap();
    ws
}

/// Sends `n` large messages from `sender`, each after `reader` received the previous one,
/// so the healthy reader's queue never holds more than one message while the stalled
/// client's queue fills.
async fn flood_and_check_reader(sender: &mut Client, reader: &mut Client, n: usize) {
    let payload = vec![7u8; 60 * 1024];
    for _ in 0..n {
        sender.send(Message::binary(payload.clone())).await.unwrap();
        assert_eq!(recv(reader).await.len(), payload.len());
    }
}

on_both_paths!(a_client_that_never_reads_is_dropped_for_while_others_keep_receiving);
async fn a_client_that_never_reads_is_dropped_for_while_others_keep_receiving(io: SendChoice) {
    let server = start_on(
        io,
        WsServerConfig {
            queue_capacity: 8,
            overflow: OverflowPolicy::Drop,
            ..Default::default()
        },
    );
    let _stalled = stalled_client(&server).await;
    let mut c = connect_many(&server, "/", 2).await;
    wait_until(|| server.counters().connections_open == 3).await;
    let (sender, reader) = c.split_at_mut(1);
    flood_and_check_reader(&mut sender[0], &mut reader[0], 400).await;

    let counters = server.counters();
    assert!(counters.deliveries_dropped > 0, "{counters:?}");
    assert_eq!(counters.slow_clients_disconnected, 0);
    // The stalled client stays connected under the drop policy.
    assert_eq!(counters.connections_open, 3);
}

on_both_paths!(a_client_that_never_reads_is_disconnected_under_the_disconnect_policy);
async fn a_client_that_never_reads_is_disconnected_under_the_disconnect_policy(io: SendChoice) {
    let server = start_on(
        io,
        WsServerConfig {
            queue_capacity: 8,
            overflow: OverflowPolicy::Disconnect,
            ..Default::default()
        },
    );
    let _stalled = stalled_client(&server).await;
    let mut c = connect_many(&server, "/", 2).await;
    wait_until(|| server.counters().connections_open == 3).await;
    let (sender, reader) = c.split_at_mut(1);
    flood_and_check_reader(&mut sender[0], &mut reader[0], 400).await;

    wait_until(|| server.counters().slow_clients_disconnected == 1).await;
    // Reading at once, within the server's grace for the goodbye: what the kernel had
    // taken arrives whole (a frame begun is finished), then the close frame, so the stream
    // stays well-formed to the end. (A machine too slow to read within the grace sees the
    // connection end without the close frame; never a broken frame.)
    let mut stalled = _stalled;
    let close = tokio::time::timeout(WAIT, async {
        loop {
            match stalled.next().await {
                Some(Ok(Message::Binary(data))) => assert_eq!(data.len(), 60 * 1024),
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                    return None;
                }
                other => panic!("expected whole messages then a close, got {other:?}"),
            }
        }
    })
    .await
    .expect("no close in time");
    assert!(matches!(close, Some(CloseCode::Policy) | None), "{close:?}");
    wait_until(|| server.counters().connections_open == 2).await;
    assert_eq!(server.counters().slow_clients_disconnected, 1);
}

on_both_paths!(a_client_that_reads_late_gets_every_message_whole_and_in_order);

/// Messages a client does not read at once wait for it (the kernel's buffers full, then
/// the server's queue) and reach it whole and in order when it reads again; its ping is
/// answered after them.
async fn a_client_that_reads_late_gets_every_message_whole_and_in_order(io: SendChoice) {
    let server = start_on(io, WsServerConfig::default());
    let mut late = stalled_client(&server).await;
    let mut c = connect_many(&server, "/", 2).await;
    wait_until(|| server.counters().connections_open == 3).await;
    let (sender, reader) = c.split_at_mut(1);
    let n = 100u32;
    for i in 0..n {
        let mut payload = vec![(i % 251) as u8; 20 * 1024];
        payload[..4].copy_from_slice(&i.to_be_bytes());
        sender[0].send(Message::binary(payload)).await.unwrap();
        assert_eq!(recv(&mut reader[0]).await.len(), 20 * 1024);
    }
    late.send(Message::Ping(b"after".to_vec().into()))
        .await
        .unwrap();
    for i in 0..n {
        let Message::Binary(data) = recv(&mut late).await else {
            panic!("expected message {i}");
        };
        assert_eq!(data.len(), 20 * 1024, "message {i}");
        assert_eq!(&data[..4], &i.to_be_bytes(), "message {i} out of order");
        assert!(
            data[4..].iter().all(|&b| b == (i % 251) as u8),
            "message {i}"
        );
    }
    let pong = tokio::time::timeout(WAIT, late.next()).await.unwrap();
    assert!(
        matches!(pong, Some(Ok(Message::Pong(ref p))) if &p[..] == b"after"),
        "{pong:?}"
    );
    assert_eq!(server.counters().deliveries_dropped, 0);
}

#[tokio::test]
async fn shutdown_closes_clients_with_going_away() {
    let server = start(WsServerConfig::default());
    let mut c = connect_many(&server, "/", 1).await;
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(2)));
    match recv(&mut c[0]).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected a 1001 close, got {other:?}"),
    }
    drop(c);
    assert!(shutdown.await.unwrap(), "connections did not end in time");
}

async fn start_clustered(redis: &wsbench_core::redis_server::RedisServer) -> WsServerHandle {
    let listener = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
    WsServer::start_clustered(listener, WsServerConfig::default(), &redis.url())
        .await
        .unwrap()
}

/// Reads until `marker`, returning the text messages before it.
async fn texts_until(client: &mut Client, marker: &str) -> Vec<String> {
    let mut got = Vec::new();
    loop {
        match recv(client).await {
            Message::Text(t) if t.as_str() == marker => return got,
            Message::Text(t) => got.push(t.to_string()),
            other => panic!("unexpected {other:?}"),
        }
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
    // Three clients of `/` and two of room r1 on each node.
    let mut everyone = Vec::new();
    let mut room = Vec::new();
    for node in &nodes {
        everyone.extend(connect_many(node, "/", 3).await);
        room.extend(connect_many(node, "/room/r1", 2).await);
    }

    // From node 0's first client: every other client of `/`, on both nodes, gets it.
    everyone[0].send(Message::text("hello")).await.unwrap();
    for c in everyone.iter_mut().skip(1) {
        assert_eq!(recv(c).await, Message::text("hello"));
    }
    // A marker sent after everyone has it: a duplicate would arrive before it.
    everyone[0].send(Message::text("end")).await.unwrap();
    for c in everyone.iter_mut().skip(1) {
        assert!(
            texts_until(c, "end").await.is_empty(),
            "a duplicate arrived"
        );
    }

    // A room broadcast from node 1 reaches the room's members on node 0, and nobody else.
    room[3].send(Message::text("in r1")).await.unwrap();
    for (i, c) in room.iter_mut().enumerate().filter(|(i, _)| *i != 3) {
        assert_eq!(recv(c).await, Message::text("in r1"), "room client {i}");
    }
    room[3].send(Message::text("end r1")).await.unwrap();
    for c in room.iter_mut().take(3) {
        assert!(texts_until(c, "end r1").await.is_empty());
    }
    // The sender never hears itself, and `/` never hears the room: its next message is a
    // fresh broadcast, not anything of the above.
    everyone[4].send(Message::text("last")).await.unwrap();
    assert_eq!(recv(&mut everyone[0]).await, Message::text("last"));
    room[0].send(Message::text("room last")).await.unwrap();
    assert_eq!(recv(&mut room[3]).await, Message::text("room last"));
    for node in nodes {
        node.shutdown(WAIT).await;
    }
}

/// A broadcast to more clients than the broadcaster writes to itself (the rest are written
/// by other tasks): every client gets every message once, in the order it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_thousands_keeps_each_clients_order() {
    for io in [SendChoice::Epoll, SendChoice::Uring] {
        to_thousands_in_order(io).await;
    }
}

async fn to_thousands_in_order(io: SendChoice) {
    let server = start_on(io, WsServerConfig::default());
    let mut clients = connect_many(&server, "/", 1100).await;
    let mut sender = clients.remove(0);
    let n = 20u32;
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                for i in 0..n {
                    assert_eq!(recv(&mut c).await, Message::text(i.to_string()));
                }
            })
        })
        .collect();
    for i in 0..n {
        sender.send(Message::text(i.to_string())).await.unwrap();
    }
    for reader in readers {
        reader
            .await
            .expect("every client got every message in order");
    }
    assert_eq!(server.counters().deliveries_sent, 1099 * u64::from(n));
}
