//! Hostile clients against `wsbench serve` (the real binary, in a child process, so that
//! its resident memory is its own): a client that floods pings and never reads, clients
//! that send large echo requests and never read, and slow consumers under the disconnect
//! policy. Each must leave the server within its byte bounds and handled by its policy.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// What a flood may add to the server's resident memory.
const HELD_MAX: u64 = 16 * 1024 * 1024;

mod served;

use served::{Served, WAIT};

/// A masked client frame with `opcode` (FIN set) and `payload`.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [7u8, 1, 8, 2];
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// A raw TCP connection upgraded at `path`, the 101 read and nothing after it.
async fn upgraded(addr: std::net::SocketAddr, path: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        tokio::time::timeout(WAIT, tcp.read_exact(&mut byte))
            .await
            .expect("no 101 in time")
            .unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

/// The path a client of `server` upgrades at, for `job` ("/" or "/echo" in raw-WebSocket
/// terms), and the frames that make it a ready client of that job (Socket.IO's CONNECT).
fn client_of(server: &str, job: &str) -> (String, Vec<u8>) {
    match server {
        "ws" => (job.to_owned(), Vec::new()),
        _ => (
            "/socket.io/?EIO=4&transport=websocket".to_owned(),
            frame(0x1, b"40"),
        ),
    }
}

/// Writes `chunk` up to `times` times, stopping once a write has waited 3 s: the server
/// pushes back. Returns how many chunks went.
async fn flood(tcp: &mut TcpStream, chunk: &[u8], times: usize) -> usize {
    for sent in 0..times {
        let write = tokio::time::timeout(Duration::from_secs(3), tcp.write_all(chunk)).await;
        match write {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return sent,
        }
    }
    times
}

async fn ping_flood(server: &str, args: &[&str]) {
    let mut served = Served::spawn(args).await;
    let (path, hello) = client_of(server, "/");
    let mut tcp = upgraded(served.addr, &path).await;
    tcp.write_all(&hello).await.unwrap();
    served
        .until("the flooder connected", |c| c.connections_open == 1)
        .await;
    let idle = served.rss();
    // 4 M pings of 100 bytes (each asks for a pong as large), 10,000 to a write; the
    // client reads nothing.
    let chunk: Vec<u8> = (0..10_000).flat_map(|_| frame(0x9, &[b'p'; 100])).collect();
    let chunks = flood(&mut tcp, &chunk, 400).await;
    served.settled().await;
    // Measured while the flooder is still connected: pushed back, not yet ended.
    let open = served.counters().await.connections_open;
    assert_eq!(
        open, 1,
        "{server}: the flooder was ended before the measurement"
    );
    let held = served.rss().saturating_sub(idle);
    eprintln!(
        "{server}: {} pings sent before push-back, RSS +{:.1} MB",
        chunks * 10_000,
        held as f64 / 1e6
    );
    assert!(
        held <= HELD_MAX,
        "{server}: the flood grew the server by {held} bytes"
    );
    // The policy: the keep-alive (or heartbeat) ends a client that does not answer.
    served
        .until("the flooder disconnected", |c| c.connections_open == 0)
        .await;
    drop(tcp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_that_never_reads_is_held_to_the_bound_and_ended_ws() {
    ping_flood("ws", &["ws", "--ping-interval", "5s"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_that_never_reads_is_held_to_the_bound_and_ended_socketio() {
    let args = [
        "socketio",
        "--ping-interval",
        "10s",
        "--ping-timeout",
        "10s",
    ];
    ping_flood("socketio", &args).await;
}

/// 4 clients each send 2,000 echo requests of 60 KB and never read: the server holds at
/// most the byte bounds' worth for them (and its buffers), not 2,000 answers each. (The
/// raw-WebSocket server drops the answers past the bound, by its policy; the Socket.IO
/// server stops reading such a client.)
async fn echo_flood(server: &str) {
    let mut served = Served::spawn(&[server]).await;
    let (path, hello) = client_of(server, "/echo");
    let mut clients = Vec::new();
    for _ in 0..4 {
        let mut tcp = upgraded(served.addr, &path).await;
        tcp.write_all(&hello).await.unwrap();
        clients.push(tcp);
    }
    served
        .until("the clients connected", |c| c.connections_open == 4)
        .await;
    let idle = served.rss();
    let payload = "e".repeat(60_000);
    let request = match server {
        "ws" => frame(0x2, payload.as_bytes()),
        _ => frame(0x1, format!("42[\"echo\",\"{payload}\"]").as_bytes()),
    };
    let floods = clients.iter_mut().map(|tcp| flood(tcp, &request, 2_000));
    let sent: Vec<usize> = futures_util::future::join_all(floods).await;
    served.settled().await;
    let held = served.rss().saturating_sub(idle);
    eprintln!(
        "{server}: echo requests sent before push-back {sent:?}, RSS +{:.1} MB",
        held as f64 / 1e6
    );
    assert!(
        held <= HELD_MAX,
        "{server}: the echo flood grew the server by {held} bytes"
    );
    // Each client was pushed back on (it could not send them all), or the answers that
    // did not fit were dropped by the policy and counted.
    let dropped = served.counters().await.deliveries_dropped;
    assert!(
        sent.iter().all(|n| *n < 2_000) || dropped > 0,
        "neither push-back nor counted drops: {sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_requests_from_clients_that_never_read_are_held_to_the_bound_ws() {
    echo_flood("ws").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_requests_from_clients_that_never_read_are_held_to_the_bound_socketio() {
    echo_flood("socketio").await;
}

/// `--overflow disconnect`: 20 clients that never read are disconnected, and counted once
/// each, while a sender broadcasts; the sender stays.
async fn slow_consumers_disconnected(server: &str) {
    let args = [server, "--overflow", "disconnect", "--queue-capacity", "16"];
    let mut served = Served::spawn(&args).await;
    let (path, hello) = client_of(server, "/");
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut tcp = upgraded(served.addr, &path).await;
        tcp.write_all(&hello).await.unwrap();
        slow.push(tcp);
    }
    let url = format!("ws://{}{path}", served.addr);
    let (mut sender, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    if !hello.is_empty() {
        sender.send(Message::text("40")).await.unwrap();
    }
    served
        .until("everyone connected", |c| c.connections_open == 21)
        .await;
    let text = "s".repeat(8_000);
    let body = match server {
        "ws" => text.clone(),
        _ => format!("42[\"broadcast\",\"{text}\"]"),
    };
    // Bounded: until every slow client is gone, at most 5,000 messages.
    for i in 0..5_000 {
        sender.send(Message::text(body.clone())).await.unwrap();
        if i % 100 == 99 && served.counters().await.connections_open == 1 {
            break;
        }
    }
    served
        .until("the slow clients disconnected", |c| {
            c.connections_open == 1 && c.slow_clients_disconnected == 20
        })
        .await;
    let c = served.counters().await;
    assert_eq!(
        c.slow_clients_disconnected, 20,
        "counted per connection: {c:?}"
    );
    // The sender is still served: its own connection works (a ping is answered).
    sender
        .send(Message::Ping("still here".into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(WAIT, async {
        while let Some(Ok(msg)) = sender.next().await {
            if let Message::Pong(p) = msg {
                return p;
            }
        }
        panic!("the sender's connection ended");
    })
    .await
    .unwrap();
    assert_eq!(&pong[..], b"still here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumers_are_disconnected_and_counted_once_ws() {
    slow_consumers_disconnected("ws").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumers_are_disconnected_and_counted_once_socketio() {
    slow_consumers_disconnected("socketio").await;
}
