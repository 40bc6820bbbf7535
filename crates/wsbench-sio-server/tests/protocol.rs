//! Socket.IO's promises, checked with raw engine.io frames on loopback: one sender's events
//! in order, no ghost left by a client that resets mid-CONNECT, honest answers to bad
//! WebSocket upgrades, and deadlines for connections that never finish their handshake.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::client_async;
use tokio_tungstenite::tungstenite::Message;
use wsbench_core::net::bind_listener;
use wsbench_sio_server::{SioServer, SioServerConfig, SioServerHandle};

mod common;

use common::{WAIT, Ws, next_text, wait_until};

fn start(config: SioServerConfig) -> SioServerHandle {
    let listener = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
    SioServer::start(listener, config).unwrap()
}

/// An engine.io websocket, opened (`0{...}` read), before the namespace CONNECT.
async fn open(server: &SioServerHandle) -> Ws {
    let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        server.local_addr()
    );
    let (mut ws, _) = tokio::time::timeout(WAIT, client_async(url, tcp))
        .await
        .unwrap()
        .unwrap();
    let first = next_text(&mut ws).await;
    assert!(first.starts_with('0'), "{first}");
    ws
}

/// A Socket.IO client connected to namespace `/`.
async fn connected(server: &SioServerHandle) -> Ws {
    let mut ws = open(server).await;
    ws.send(Message::text("40")).await.unwrap();
    let answer = next_text(&mut ws).await;
    assert!(answer.starts_with("40"), "{answer}");
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_senders_burst_arrives_in_the_order_it_was_sent() {
    let server = start(SioServerConfig::default());
    let mut sender = connected(&server).await;
    let mut receivers = vec![connected(&server).await, connected(&server).await];
    wait_until(|| server.counters().connections_open == 3).await;
    const N: usize = 500;
    for i in 0..N {
        sender
            .feed(Message::text(format!("42[\"broadcast\",\"{i}\"]")))
            .await
            .unwrap();
    }
    sender.flush().await.unwrap();
    for r in &mut receivers {
        let mut got = Vec::with_capacity(N);
        while got.len() < N {
            let text = next_text(r).await;
            let n: usize = text
                .trim_start_matches("42[\"broadcast\",\"")
                .trim_end_matches("\"]")
                .parse()
                .unwrap_or_else(|_| panic!("not a probe: {text}"));
            got.push(n);
        }
        let steps_back = got.windows(2).filter(|w| w[1] < w[0]).count();
        assert_eq!(steps_back, 0, "out of order: {got:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reset_during_connect_leaves_no_ghost() {
    let server = start(SioServerConfig::default());
    for _ in 0..1000 {
        let mut ws = open(&server).await;
        ws.send(Message::text("40")).await.unwrap();
        // Reset at once: RST instead of FIN, before the server's answer. (Deprecated for
        // blocking on drop; with a zero linger it does not block, it resets.)
        #[allow(deprecated)]
        ws.get_ref().set_linger(Some(Duration::ZERO)).unwrap();
        drop(ws);
    }
    wait_until(|| server.counters().connections_open == 0).await;
    // The lobby holds the live clients only: a broadcast reaches (and counts) one other.
    let mut sender = connected(&server).await;
    let mut receiver = connected(&server).await;
    wait_until(|| server.counters().connections_open == 2).await;
    let before = server.counters().deliveries_sent;
    for i in 0..10 {
        sender
            .send(Message::text(format!("42[\"broadcast\",\"{i}\"]")))
            .await
            .unwrap();
        assert_eq!(
            next_text(&mut receiver).await,
            format!("42[\"broadcast\",\"{i}\"]")
        );
    }
    assert_eq!(server.counters().deliveries_sent - before, 10);
}

/// Sends `request` on a new connection and reads until the server closes it.
async fn exchange(server: &SioServerHandle, request: &str) -> String {
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut answer))
        .await
        .expect("no answer in time")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

/// A websocket upgrade of engine.io with header `name` replaced by `value` (or dropped,
/// for an empty value).
fn upgrade(name: &str, value: &str) -> String {
    let mut headers = vec![
        ("Host", "127.0.0.1"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    headers.retain(|(n, _)| *n != name);
    if !value.is_empty() {
        headers.push((name, value));
    }
    let mut request = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n".to_owned();
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request + "\r\n"
}

#[tokio::test]
async fn bad_websocket_upgrades_are_refused_with_an_http_status() {
    let server = start(SioServerConfig::default());
    let no_upgrade = upgrade("Upgrade", "").replace("Connection: Upgrade\r\n", "");
    let cases = [
        ("Upgrade: foo", upgrade("Upgrade", "foo"), "400"),
        ("version 8", upgrade("Sec-WebSocket-Version", "8"), "426"),
        ("no Upgrade nor Connection", no_upgrade, "400"),
        ("no key", upgrade("Sec-WebSocket-Key", ""), "400"),
    ];
    for (what, request, code) in cases {
        let answer = exchange(&server, &request).await;
        let status = answer.lines().next().unwrap_or("");
        assert!(
            status.starts_with(&format!("HTTP/1.1 {code} ")),
            "{what}: expected {code}, got «{status}»"
        );
        if code == "426" {
            assert!(
                answer
                    .to_ascii_lowercase()
                    .contains("sec-websocket-version: 13"),
                "{answer}"
            );
        }
    }
    let good = exchange(&server, &upgrade("", "")).await;
    assert!(good.starts_with("HTTP/1.1 101 "), "{good}");
}

/// Whether the server closes `tcp` (EOF or reset) within `limit`, after any answer.
async fn closed_within(tcp: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn connections_that_never_finish_their_handshake_are_closed_at_the_deadline() {
    let server = start(SioServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..SioServerConfig::default()
    });
    let addr = server.local_addr();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHo")
        .await
        .unwrap();
    // A polling POST that declares more than it sends.
    let mut short_body = TcpStream::connect(addr).await.unwrap();
    short_body
        .write_all(
            b"POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\n\
              Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n4hell",
        )
        .await
        .unwrap();
    // An engine.io websocket that never sends the namespace CONNECT.
    let mut no_connect = open(&server).await;
    for (what, tcp) in [
        ("a silent connection", &mut silent),
        ("half a request head", &mut half),
        ("a body that never arrives", &mut short_body),
    ] {
        assert!(closed_within(tcp, WAIT).await, "{what} stays open");
    }
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match no_connect.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "an engine.io session without CONNECT stays open"
    );
}

#[tokio::test]
async fn a_polling_body_declared_over_the_limit_is_refused_at_once() {
    let server = start(SioServerConfig::default());
    let answer = exchange(
        &server,
        "POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\n\
         Content-Type: text/plain\r\nContent-Length: 1000000000\r\n\r\n4hello",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
}

/// `upgrade("", "")` with `extra` header lines added before its blank line.
fn upgrade_with(extra: &str) -> String {
    format!(
        "{}{extra}\r\n\r\n",
        upgrade("", "").trim_end_matches("\r\n")
    )
}

#[tokio::test]
async fn upgrades_are_checked_as_engine_io_reads_them_and_as_the_rfcs_ask() {
    let server = start(SioServerConfig::default());
    let bypass = upgrade("Upgrade", "")
        .replace("Connection: Upgrade\r\n", "")
        .replace("transport=websocket ", "transport=websocket=1 ");
    let refused = [
        ("transport=websocket=1 without Upgrade", bypass),
        ("two Host headers", upgrade_with("\r\nHost: other")),
        (
            "two keys",
            upgrade_with("\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="),
        ),
        (
            "versions 13 and 8",
            upgrade_with("\r\nSec-WebSocket-Version: 8"),
        ),
    ];
    for (what, request) in refused {
        let answer = exchange(&server, &request).await;
        let status = answer.lines().next().unwrap_or("");
        assert!(status.starts_with("HTTP/1.1 400 "), "{what}: «{status}»");
    }
    // A polling request with an unrelated upgrade (what `curl --http2` sends) is served
    // over HTTP/1.1.
    let h2c = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n\
               Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
               HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
    let answer = exchange(&server, h2c).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "«{answer}»");
    assert!(
        answer.contains("0{\"sid\":"),
        "an engine.io open packet: «{answer}»"
    );
}
