//! Bursty, flooding and non-reading clients against the Socket.IO server, with raw
//! engine.io frames on loopback: a burst reaches a receiver that keeps up whole and in
//! order, and a client that sends WebSocket pings and never reads cannot grow the server.

use futures_util::SinkExt;
use tokio::io::AsyncWriteExt;
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

/// A Socket.IO client connected to namespace `/` over a WebSocket.
async fn connected(addr: std::net::SocketAddr) -> Ws {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio::time::timeout(WAIT, client_async(url, tcp))
        .await
        .unwrap()
        .unwrap();
    assert!(next_text(&mut ws).await.starts_with('0'));
    ws.send(Message::text("40")).await.unwrap();
    assert!(next_text(&mut ws).await.starts_with("40"));
    ws
}

/// One receiver reading continuously on a thread of its own (its kernel buffers never
/// fill), and one sender writing `n` broadcast events in one write, `rounds` times: the
/// receiver gets every event of every round, in order, and the server drops none.
async fn bursts_arrive_whole(server: &SioServerHandle, n: usize, rounds: usize) {
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
                    let text = next_text(&mut ws).await;
                    let i: usize = text
                        .trim_start_matches("42[\"broadcast\",\"")
                        .trim_end_matches("\"]")
                        .parse()
                        .unwrap_or_else(|_| panic!("not a probe: {text}"));
                    got.push(i);
                }
                tx.send(got).unwrap();
            }
        })
    });
    ready_rx.await.unwrap();
    let mut sender = connected(addr).await;
    wait_until(|| server.counters().connections_open >= 2).await;
    let mut burst = Vec::new();
    for i in 0..n {
        let text = format!("42[\"broadcast\",\"{i}\"]");
        burst.extend_from_slice(&masked_text_frame(text.as_bytes()));
    }
    for round in 0..rounds {
        // One write of every frame: what a client flushing its buffer sends.
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
            .expect("the receiver got its events in time")
            .unwrap();
        assert_eq!(got, (0..n).collect::<Vec<_>>(), "round {round}: in order");
    }
    assert_eq!(server.counters().deliveries_dropped, 0);
    reader.join().unwrap();
}

/// A client's text frame (clients mask theirs; the key is fixed, which is allowed).
fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    let key = [1u8, 2, 3, 4];
    let mut f = vec![0x81];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// On one thread the server can relay a burst only as fast as its writers get to run: the
/// case where a burst beyond the 1,024-packet queue was dropped, every time.
#[tokio::test]
async fn a_burst_beyond_the_queue_reaches_a_receiver_that_keeps_up_on_one_thread() {
    for n in [1_200, 3_000] {
        let server = start(SioServerConfig::default());
        bursts_arrive_whole(&server, n, 20).await;
    }
}

/// On two, the receiver's writer could be stuck behind the sender's relay (dropped in
/// about half of the runs of 1,200 events).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_queue_reaches_a_receiver_that_keeps_up() {
    for n in [1_200, 3_000] {
        let server = start(SioServerConfig::default());
        bursts_arrive_whole(&server, n, 20).await;
    }
}
