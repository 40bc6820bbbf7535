//! Bursty clients against the raw-WebSocket server: a burst in one write reaches a receiver
//! that keeps up whole and in order, as it does on the Socket.IO server.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{WebSocketStream, client_async};
use wsbench_core::io_path::SendChoice;
use wsbench_core::net::bind_listener;
use wsbench_ws_server::{WsServer, WsServerConfig, WsServerHandle};

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(20);

async fn connected(addr: std::net::SocketAddr) -> WebSocketStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (ws, _) = tokio::time::timeout(WAIT, client_async(format!("ws://{addr}/"), tcp))
        .await
        .unwrap()
        .unwrap();
    ws
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("condition not reached in time");
}

/// A client's text frame (clients mask theirs; the key is fixed, which is allowed).
fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    let key = [1u8, 2, 3, 4];
    assert!(payload.len() < 126);
    let mut f = vec![0x81, 0x80 | payload.len() as u8];
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// One receiver reading on a thread of its own, one sender writing `n` messages in one
/// write, `rounds` times: every message of every round arrives, in order, none dropped.
async fn bursts_arrive_whole(server: &WsServerHandle, n: usize, rounds: usize) {
    let addr = server.local_addr();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<usize>>();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let reader = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut ws = connected(addr).await;
            ready_tx.send(()).unwrap();
            for _ in 0..rounds {
                let mut got = Vec::with_capacity(n);
                while got.len() < n {
                    let msg = tokio::time::timeout(WAIT, ws.next()).await;
                    match msg.expect("nothing in time").expect("closed").unwrap() {
                        Message::Text(t) => got.push(t.as_str().parse().unwrap()),
                        _ => continue,
                    }
                }
                tx.send(got).unwrap();
            }
        })
    });
    ready_rx.await.unwrap();
    let mut sender = connected(addr).await;
    wait_until(|| server.counters().connections_open >= 2).await;
    let burst: Vec<u8> = (0..n)
        .flat_map(|i| masked_text_frame(i.to_string().as_bytes()))
        .collect();
    for round in 0..rounds {
        sender.get_mut().write_all(&burst).await.unwrap();
        let owed = (n * (round + 1)) as u64;
        wait_until(|| {
            let c = server.counters();
            c.deliveries_sent + c.deliveries_dropped >= owed
        })
        .await;
        let c = server.counters();
        assert_eq!(
            c.deliveries_dropped, 0,
            "round {round} of {n}: dropped; {c:?}"
        );
        let got = tokio::time::timeout(WAIT, rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, (0..n).collect::<Vec<_>>(), "round {round}: in order");
    }
    reader.join().unwrap();
}

/// Bursts of `n` for each `n`, the server writing broadcasts by `io` (`send` where the
/// kernel refuses io_uring: then that is what is tested, and the server says why).
async fn bursts_on(io: SendChoice) {
    for n in [1_200, 3_000] {
        let listener = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let config = WsServerConfig {
            io,
            ..WsServerConfig::default()
        };
        let server = WsServer::start(listener, config).unwrap();
        let (path, why) = server.send_path();
        assert_eq!(path.is_uring(), io == SendChoice::Uring && why.is_none());
        bursts_arrive_whole(&server, n, 20).await;
    }
}

#[tokio::test]
async fn a_burst_beyond_the_queue_reaches_a_receiver_that_keeps_up_on_one_thread() {
    bursts_on(SendChoice::Epoll).await;
    bursts_on(SendChoice::Uring).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_queue_reaches_a_receiver_that_keeps_up() {
    bursts_on(SendChoice::Epoll).await;
    bursts_on(SendChoice::Uring).await;
}
