//! loadgen: the load generator alone, its CPU per received message, against a minimal
//! in-process source instead of a server, so that the figure can be tracked apart from any
//! server's (docs/cost-breakdown.md, "The load generator alone").
//!
//! The source is a plain thread with blocking sockets: it answers each lean raw-WebSocket
//! client's upgrade, then, per iteration, writes one pre-encoded text frame carrying a
//! probe to every client but client 0 (the plan's one sender, which sends one probe at the
//! start, to the source, which ignores it: its rate is one message in 17 minutes). Each iteration waits until the load generator has
//! accounted every one of them, so every read finds one message: the load generator's
//! dearest case, that of a moderate load. What the bench reports as an iteration's time is
//! **the CPU time of the load generator's worker threads** (schedstat), not wall time: its
//! "thrpt" is messages per CPU-second, and 1/thrpt the CPU per received message.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use wsbench_core::adapter::Adapter;
use wsbench_core::clock::monotonic_ns;
use wsbench_core::probe::Probe;
use wsbench_core::scenario::Encoding;
use wsbench_core::system::Protocol;
use wsbench_loadgen::{ClientLibrary, Endpoint, LoadGen, LoadPlan, Scope, Timeline};

const CLIENTS: u64 = 1000;
/// (workers, probes per write): one probe per write is a moderate load, where every read
/// finds one message; eight is a heavy one, where queues let several pile up per read.
const CASES: [(usize, u64); 3] = [(1, 1), (2, 1), (1, 8)];
const PAYLOAD: usize = 64;
/// Probes each client can account (its ledger's bitmap: `SEQS / 8` bytes a client).
const SEQS: u64 = 200_000;
/// Every wait is bounded by this.
const WAIT: Duration = Duration::from_secs(30);

fn loadgen(c: &mut Criterion) {
    let mut group = c.benchmark_group("loadgen");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for (workers, per_write) in CASES {
        group.throughput(Throughput::Elements((CLIENTS - 1) * per_write));
        let mut bench = Bench::start(workers);
        let id = BenchmarkId::new(
            "ws-receive",
            format!("{CLIENTS}c-{workers}w-{per_write}perwrite"),
        );
        group.bench_function(id, |b| {
            b.iter_custom(|iters| bench.broadcasts(iters, per_write))
        });
        bench.finish();
    }
    group.finish();
}

/// A connected load generator and its source.
struct Bench {
    load: LoadGen,
    /// Client 1's socket onward (client 0 is the sender, which receives nothing).
    recipients: Vec<TcpStream>,
    seq: u64,
}

impl Bench {
    fn start(workers: usize) -> Bench {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
        let addr = listener.local_addr().expect("its address");
        let source = std::thread::spawn(move || accept_all(&listener));
        let load = LoadGen::start(plan(addr, workers)).expect("workers start");
        // The timeline first, so that each client is receiving as soon as it is connected.
        let t0 = monotonic_ns();
        let far = t0 + 3_600_000_000_000;
        load.begin(Timeline {
            t0_ns: t0,
            measure_start_ns: t0,
            measure_end_ns: far,
            drain_end_ns: far,
        });
        wait_for(
            || load.live().connected + load.live().failed >= CLIENTS,
            "connects",
        );
        assert_eq!(load.live().connected, CLIENTS, "every client connects");
        let recipients = source.join().expect("the source accepted every client");
        Bench {
            load,
            recipients,
            seq: 0,
        }
    }

    /// Writes `iters` times `per_write` probes to every recipient, in one write each, and
    /// waits until they are all accounted; returns the load generator's CPU time.
    fn broadcasts(&mut self, iters: u64, per_write: u64) -> Duration {
        let mut cpu = Duration::ZERO;
        for _ in 0..iters {
            assert!(
                self.seq + per_write <= SEQS,
                "more iterations than SEQS probes: raise SEQS"
            );
            let expected =
                self.load.live().probes_received + self.recipients.len() as u64 * per_write;
            let before = loadgen_cpu();
            let mut frames = Vec::new();
            for seq in self.seq..self.seq + per_write {
                let probe = Probe {
                    sender: 0,
                    seq,
                    intended_ns: monotonic_ns(),
                }
                .encode(PAYLOAD);
                frames.extend_from_slice(&[0x81, PAYLOAD as u8]);
                frames.extend_from_slice(&probe);
            }
            for socket in &mut self.recipients {
                socket.write_all(&frames).expect("the source writes");
            }
            wait_for(
                || self.load.live().probes_received >= expected,
                "every client accounts the broadcast",
            );
            cpu += loadgen_cpu().saturating_sub(before);
            self.seq += per_write;
        }
        cpu
    }

    /// Stops the clients; every probe was accounted exactly once.
    fn finish(self) {
        self.load.abort();
        let report = self.load.finish();
        let recipients = self.recipients.len() as u64;
        assert_eq!(report.counts.delivered, recipients * self.seq, "{report:?}");
        assert_eq!(
            report.counts.duplicated + report.counts.foreign + report.counts.misrouted,
            0
        );
    }
}

/// One sender (client 0, silent), everyone else receives; lean raw WebSocket clients that
/// name themselves in a header, so the source can leave the sender out.
fn plan(addr: SocketAddr, workers: usize) -> LoadPlan {
    LoadPlan {
        protocol: Protocol::Ws,
        client: ClientLibrary::Lean,
        endpoints: vec![Endpoint {
            addr,
            url: format!("ws://{addr}/"),
        }],
        encoding: Encoding::Text,
        scope: Scope::Broadcast,
        clients: CLIENTS,
        senders: 1,
        stalled: 0,
        rate: 1e-3,
        payload: PAYLOAD,
        payload_kind: wsbench_core::scenario::PayloadKind::Padded,
        deflate: None,
        io: wsbench_core::io_path::IoPath::Tokio,
        adapter: Arc::new(Adapter {
            headers: vec!["X-Client: {client}".into()],
            ..Adapter::default()
        }),
        messages_per_sender: SEQS,
        ramp_interval: Duration::from_micros(200),
        workers,
        connect_timeout: Duration::from_secs(10),
        reconnect: None,
        shard: wsbench_core::shard::Shard::WHOLE,
        tls: None,
    }
}

/// Accepts every client, answers its upgrade, and returns the sockets of all but client 0.
fn accept_all(listener: &TcpListener) -> Vec<TcpStream> {
    let mut recipients = Vec::new();
    for _ in 0..CLIENTS {
        let (mut socket, _) = listener.accept().expect("accept");
        socket.set_nodelay(true).expect("TCP_NODELAY");
        socket.set_read_timeout(Some(WAIT)).expect("a read timeout");
        let head = read_head(&mut socket);
        let key = header(&head, "sec-websocket-key").expect("a key");
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            derive_accept_key(key.as_bytes())
        );
        socket.write_all(response.as_bytes()).expect("the 101");
        if header(&head, "x-client") != Some("0") {
            recipients.push(socket);
        }
    }
    recipients
}

fn read_head(socket: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert!(head.len() < 8192, "a request head over 8 KiB");
        socket.read_exact(&mut byte).expect("the request head");
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("an ASCII head")
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// The load generator's worker threads' time on the CPU (schedstat's first field).
fn loadgen_cpu() -> Duration {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let path = task.expect("a task").path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.starts_with("loadgen-") {
            let stat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
            ns += stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(ns)
}

fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "the load generator {what} too slowly"
        );
        std::thread::sleep(Duration::from_micros(50));
    }
}

criterion_group!(benches, loadgen);
criterion_main!(benches);
