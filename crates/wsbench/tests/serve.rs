//! `wsbench serve` end to end: the real binary in a child process.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::process::Command;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use wsbench_core::control::ServeEvent;

mod served;

use served::Served;

const WAIT: Duration = Duration::from_secs(15);

async fn spawn_serve(args: &[&str]) -> Served {
    Served::spawn(args).await
}

async fn request(served: &mut Served, line: &str) {
    served.request(line).await;
}

async fn next_event(served: &mut Served) -> ServeEvent {
    served.next_event().await
}

async fn terminate(served: Served) {
    served.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_ws_relays_reports_counters_and_exits_on_sigterm() {
    let mut served = spawn_serve(&["ws"]).await;
    let url = format!("ws://{}/", served.addr);
    let (mut a, _) = connect_async(&url).await.unwrap();
    let (mut b, _) = connect_async(&url).await.unwrap();
    // Wait until the server has both before sending, using its own counters.
    tokio::time::timeout(WAIT, async {
        loop {
            request(&mut served, "counters").await;
            match next_event(&mut served).await {
                ServeEvent::Counters(c) if c.connections_open == 2 => break,
                ServeEvent::Counters(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await
    .expect("clients not counted in time");

    a.send(Message::text("over the wire")).await.unwrap();
    let got = tokio::time::timeout(WAIT, b.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::text("over the wire"));

    // The server counts a relay after queueing it, so ask until the count is in (bounded).
    let c = tokio::time::timeout(WAIT, async {
        loop {
            request(&mut served, "counters").await;
            let ServeEvent::Counters(c) = next_event(&mut served).await else {
                panic!("expected counters");
            };
            if c.deliveries_sent >= 1 {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the relay was never counted");
    assert_eq!(c.messages_received, 1);
    assert_eq!(c.deliveries_sent, 1);

    request(&mut served, "nonsense").await;
    assert!(matches!(
        next_event(&mut served).await,
        ServeEvent::Error { .. }
    ));
    terminate(served).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_socketio_speaks_engine_io_and_exits_on_sigterm() {
    let served = spawn_serve(&["socketio"]).await;
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", served.addr);
    let (mut ws, _) = connect_async(&url).await.unwrap();
    // The engine.io open packet: "0" followed by the handshake JSON.
    let open = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Text(open) = open else {
        panic!("expected text, got {open:?}")
    };
    assert!(open.starts_with("0{"), "{open}");
    assert!(open.contains("\"sid\""), "{open}");
    // Connect to namespace "/" and get the CONNECT answer.
    ws.send(Message::text("40")).await.unwrap();
    tokio::time::timeout(WAIT, async {
        loop {
            let msg = ws.next().await.unwrap().unwrap();
            let text = msg.to_text().unwrap();
            if text == "2" {
                // An engine.io ping may come first: answer it as a client must.
                ws.send(Message::text("3")).await.unwrap();
                continue;
            }
            assert!(text.starts_with("40{"), "{text}");
            break;
        }
    })
    .await
    .expect("no namespace CONNECT in time");
    terminate(served).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_asked_of_a_server_without_that_path_is_named_not_silently_ignored() {
    for transport in ["socketio", "ws-stock"] {
        let served = spawn_serve(&[transport, "--io", "uring"]).await;
        let note = served.io_note.clone().unwrap_or_default();
        assert!(
            note.contains("--io uring applies to the ws server only") && note.contains(transport),
            "{transport}: {note:?}"
        );
        terminate(served).await;
    }
    // Left to auto, nothing to say.
    let served = spawn_serve(&["socketio"]).await;
    assert_eq!(served.io_note, None);
    terminate(served).await;
}

#[tokio::test]
async fn a_bad_address_is_a_usage_error_and_a_port_in_use_a_one_line_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_wsbench"))
        .args(["serve", "ws", "--listen", "not-an-address"])
        .output()
        .await
        .unwrap();
    // A mistake in the command line: a usage error (2), said in its first line.
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.contains("not-an-address") && first.contains("127.0.0.1:8080"),
        "{err}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_wsbench"))
        .args(["serve", "socketio", "--listen", &addr])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no ready line on failure");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&addr) && err.contains("in use"), "{err}");
}

/// `serve --help`'s cluster example gives a plain Redis URL: the Socket.IO node asks for
/// RESP3 itself (it stopped with "Can only pass push sender to a connection using RESP3").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socketio_node_takes_a_plain_redis_url() {
    let Some(redis) = wsbench_core::redis_server::RedisServer::start_or_skip(
        "a_socketio_node_takes_a_plain_redis_url",
    ) else {
        return;
    };
    let plain = redis.url().replace("?protocol=resp3", "");
    let served = spawn_serve(&["socketio", "--redis", &plain]).await;
    terminate(served).await;
}
