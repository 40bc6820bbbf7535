//! fanout: an in-process server of each transport on a loopback port-0 listener, N clients
//! connected, and the time for one broadcast from one client to reach all N-1 others.
//! Every iteration checks that every expected message arrived.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Notify;
use wsbench_benches::{BenchProtocol, BenchServer, TRANSPORTS};
use wsbench_core::probe::Probe;
use wsbench_core::scenario::Encoding;
use wsbench_loadgen::{Incoming, Role};

const CLIENTS: [u64; 3] = [10, 100, 1000];
/// A broadcast that has not reached everyone in this long means a broken path.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Receivers count deliveries; the last one of a round wakes the timer.
struct Round {
    delivered: AtomicU64,
    target: AtomicU64,
    done: Notify,
}

fn fanout(c: &mut Criterion) {
    let rt = wsbench_benches::runtime();
    let mut group = c.benchmark_group("fanout");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    for protocol in TRANSPORTS {
        let name = protocol.name;
        for n in CLIENTS {
            group.throughput(Throughput::Elements(n - 1));
            let (sender, round, _server) = rt.block_on(setup(protocol, n));
            let sender = Arc::new(tokio::sync::Mutex::new(sender));
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let (sender, round) = (sender.clone(), round.clone());
                    async move {
                        let mut sender = sender.lock().await;
                        let mut total = Duration::ZERO;
                        let mut frames = Vec::new();
                        let bytes = Probe {
                            sender: 0,
                            seq: 0,
                            intended_ns: 0,
                        }
                        .encode(64);
                        for _ in 0..iters {
                            round.delivered.store(0, Ordering::SeqCst);
                            round.target.store(n - 1, Ordering::SeqCst);
                            (protocol.encode)(Encoding::Text, Role::Broadcast, &bytes, &mut frames);
                            let done = round.done.notified();
                            tokio::pin!(done);
                            done.as_mut().enable();
                            let start = Instant::now();
                            for f in frames.drain(..) {
                                sender.send(f).await.expect("send");
                            }
                            tokio::time::timeout(DELIVERY_TIMEOUT, done)
                                .await
                                .expect("a broadcast did not reach every client");
                            total += start.elapsed();
                            assert_eq!(round.delivered.load(Ordering::SeqCst), n - 1);
                        }
                        total
                    }
                })
            });
        }
    }
    group.finish();
}

/// Starts a server, connects `n` clients, and spawns a counting reader for all but the
/// first, which sends.
async fn setup(
    protocol: BenchProtocol,
    n: u64,
) -> (wsbench_loadgen::Socket, Arc<Round>, BenchServer) {
    let server = BenchServer::start(protocol.protocol);
    let endpoint = server.endpoint(protocol.protocol);
    let round = Arc::new(Round {
        delivered: AtomicU64::new(0),
        target: AtomicU64::new(u64::MAX),
        done: Notify::new(),
    });
    let sender = (protocol.connect)(&endpoint).await;
    for _ in 1..n {
        let mut ws = (protocol.connect)(&endpoint).await;
        let round = round.clone();
        tokio::spawn(async move {
            let mut decoder = (protocol.decoder)();
            while let Some(Ok(msg)) = ws.next().await {
                match decoder(msg) {
                    Incoming::Payload(bytes) if Probe::decode(&bytes).is_some() => {
                        let got = round.delivered.fetch_add(1, Ordering::SeqCst) + 1;
                        if got == round.target.load(Ordering::SeqCst) {
                            round.done.notify_one();
                        }
                    }
                    Incoming::Ping => {
                        let _ = ws
                            .send(tokio_tungstenite::tungstenite::Message::text("3"))
                            .await;
                    }
                    _ => {}
                }
            }
        });
    }
    // Wait until the server has every client in its broadcast scope.
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    loop {
        if server.connections_open() >= n {
            break;
        }
        assert!(Instant::now() < deadline, "clients not registered in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (sender, round, server)
}

criterion_group!(benches, fanout);
criterion_main!(benches);
