//! connect: time to open one ready client connection: TCP connect and WebSocket handshake,
//! and for Socket.IO also the engine.io open packet and the namespace CONNECT.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsbench_benches::{BenchServer, TRANSPORTS};

fn connect_bench(c: &mut Criterion) {
    let rt = wsbench_benches::runtime();
    let mut group = c.benchmark_group("connect");
    group.throughput(Throughput::Elements(1));
    for t in TRANSPORTS {
        let server = rt.block_on(async { BenchServer::start(t.protocol) });
        let endpoint = server.endpoint(t.protocol);
        group.bench_function(BenchmarkId::new(t.name, "ready"), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let endpoint = endpoint.clone();
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let ws = (t.connect)(&endpoint).await;
                        total += start.elapsed();
                        // Closed outside the timed part; the server's bookkeeping of the
                        // close overlaps the next iteration, as it would in real traffic.
                        drop(black_box(ws));
                    }
                    total
                }
            })
        });
        drop(server);
    }
    group.finish();
}

criterion_group!(benches, connect_bench);
criterion_main!(benches);
