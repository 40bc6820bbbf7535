//! RFC 6455 promises, checked with raw bytes on loopback: honest answers to bad handshakes,
//! messages accepted before a protocol error delivered before the close, and a deadline for
//! connections that never finish their handshake.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::client_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use wsbench_core::net::bind_listener;
use wsbench_ws_server::{WsServer, WsServerConfig, WsServerHandle};

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

fn start(config: WsServerConfig) -> WsServerHandle {
    let listener = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
    WsServer::start(listener, config).unwrap()
}

/// Sends `request` on a new connection and reads until the server closes it: its answer.
async fn exchange(server: &WsServerHandle, request: &str) -> String {
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer)).await;
    let _ = read.expect("the server neither answered nor closed");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A well-formed upgrade request for `path` with header `name` replaced by `value` (or
/// dropped, for an empty value).
fn upgrade(path: &str, name: &str, value: &str) -> String {
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
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request + "\r\n"
}

fn status_of(answer: &str) -> &str {
    answer.lines().next().unwrap_or("")
}

#[tokio::test]
async fn bad_handshakes_get_an_http_answer_not_a_reset() {
    let server = start(WsServerConfig::default());
    let cases = [
        ("garbage", "hello there\r\n\r\n".to_owned(), "400"),
        (
            "a plain GET",
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
            "400",
        ),
        ("Upgrade: foo", upgrade("/", "Upgrade", "foo"), "400"),
        (
            "no Connection: Upgrade",
            upgrade("/", "Connection", "keep-alive"),
            "400",
        ),
        (
            "version 8",
            upgrade("/", "Sec-WebSocket-Version", "8"),
            "426",
        ),
        ("no key", upgrade("/", "Sec-WebSocket-Key", ""), "400"),
        (
            "a short key",
            upgrade("/", "Sec-WebSocket-Key", "c2hvcnQ="),
            "400",
        ),
        (
            "POST",
            upgrade("/", "", "").replacen("GET", "POST", 1),
            "405",
        ),
        ("an unknown path", upgrade("/nowhere", "", ""), "404"),
    ];
    for (what, request, code) in cases {
        let answer = exchange(&server, &request).await;
        let status = status_of(&answer);
        assert!(
            status.starts_with(&format!("HTTP/1.1 {code} ")),
            "{what}: expected {code}, got «{status}»"
        );
        assert!(
            answer.contains("\r\n\r\n"),
            "{what}: a whole response: «{answer}»"
        );
        if code == "426" {
            assert!(answer.contains("Sec-WebSocket-Version: 13\r\n"), "{answer}");
        }
    }
    // And a good one still upgrades.
    let answer_head = {
        let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
        tcp.write_all(upgrade("/echo", "", "").as_bytes())
            .await
            .unwrap();
        let mut buf = vec![0; 1024];
        let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert!(answer_head.starts_with("HTTP/1.1 101 "), "{answer_head}");
    assert!(
        answer_head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{answer_head}"
    );
}

/// A masked client frame: `first` (FIN, RSV, opcode) and `payload`.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    let mut out = vec![first, 0x80 | payload.len() as u8];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

#[tokio::test]
async fn messages_accepted_before_a_protocol_error_are_delivered_before_the_close() {
    let server = start(WsServerConfig::default());
    let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    let url = format!("ws://{}/echo", server.local_addr());
    let (mut ws, _) = client_async(url, tcp).await.unwrap();
    // A valid text message, then a text frame with RSV1 set and no extension agreed: the
    // server must echo the first and then fail the connection with 1002 (Autobahn 3.2).
    let mut bytes = frame(0x81, b"hello");
    bytes.extend(frame(0xC1, b"x"));
    ws.get_mut().write_all(&bytes).await.unwrap();
    let first = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first, Message::text("hello"));
    let second = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Close(Some(close)) = second else {
        panic!("expected a close, got {second:?}");
    };
    assert_eq!(close.code, CloseCode::Protocol);
}

/// Whether the server has closed `tcp` (EOF or reset) within `limit`.
async fn closed_within(tcp: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // An error answer (408) may come first; keep reading until the close.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn connections_that_never_finish_the_handshake_are_closed_at_the_deadline() {
    let server = start(WsServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..WsServerConfig::default()
    });
    let mut silent = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut half = TcpStream::connect(server.local_addr()).await.unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr")
        .await
        .unwrap();
    let mut trickle = TcpStream::connect(server.local_addr()).await.unwrap();
    let request = upgrade("/", "", "");
    // A slowloris: one byte every 100 ms never finishes within the deadline.
    let (mut r, mut w) = trickle.split();
    let trickled = async {
        for b in request.as_bytes() {
            if w.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let mut buf = [0u8; 64];
    tokio::select! {
        _ = trickled => panic!("the whole request trickled in without the server closing"),
        read = tokio::time::timeout(WAIT, r.read(&mut buf)) => {
            assert!(matches!(read, Ok(Ok(_) | Err(_))), "the server closed the slow connection");
        }
    }
    assert!(
        closed_within(&mut silent, WAIT).await,
        "a silent connection stays open"
    );
    assert!(
        closed_within(&mut half, WAIT).await,
        "half a request stays open"
    );
    // Upgraded clients are not subject to it.
    let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    let url = format!("ws://{}/echo", server.local_addr());
    let (mut ws, _) = client_async(url, tcp).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    futures_util::SinkExt::send(&mut ws, Message::text("still here"))
        .await
        .unwrap();
    let echo = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(echo, Message::text("still here"));
}

/// `upgrade(path, "", "")` with `extra` header lines added before its blank line.
fn upgrade_with(path: &str, extra: &str) -> String {
    let good = upgrade(path, "", "");
    format!("{}{extra}\r\n\r\n", good.trim_end_matches("\r\n"))
}

#[tokio::test]
async fn strict_where_the_rfcs_are_strict_and_lenient_where_they_allow() {
    let server = start(WsServerConfig::default());
    let refused = [
        ("two Host headers", upgrade_with("/", "\r\nHost: other")),
        (
            "two keys",
            upgrade_with("/", "\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="),
        ),
        (
            "versions 13 and 8",
            upgrade_with("/", "\r\nSec-WebSocket-Version: 8"),
        ),
        (
            "a body with the upgrade",
            upgrade_with("/echo", "\r\nContent-Length: 5") + "hello",
        ),
    ];
    for (what, request) in refused {
        let answer = exchange(&server, &request).await;
        assert!(
            status_of(&answer).starts_with("HTTP/1.1 400 "),
            "{what}: «{answer}»"
        );
    }
    let many = (0..40)
        .map(|i| format!("\r\nX-Proxy-{i}: hop"))
        .collect::<String>();
    let accepted = [
        (
            "an absolute-form target",
            upgrade("http://127.0.0.1/echo", "", ""),
        ),
        (
            "bare LF line endings",
            upgrade("/echo", "", "").replace("\r\n", "\n"),
        ),
        ("40 header lines", upgrade_with("/echo", &many)),
    ];
    for (what, request) in accepted {
        let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut buf = vec![0; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer within 5 s"))
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 101 "), "{what}: «{answer}»");
    }
}

/// Bytes that can never become a request (a TLS ClientHello on the plain port, noise) are
/// answered 400 at once, not 408 at the handshake deadline.
#[tokio::test]
async fn bytes_that_are_not_http_get_400_at_once() {
    let server = start(WsServerConfig::default());
    let hello = [
        0x16u8, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    for bytes in [&hello[..], b"\x00\xff random \x01 bytes"] {
        let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
        tcp.write_all(bytes).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer))
            .await
            .expect("answered before the 10 s deadline")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            status_of(&answer).starts_with("HTTP/1.1 400 "),
            "«{answer}»"
        );
    }
}
