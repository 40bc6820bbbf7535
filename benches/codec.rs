//! codec: one probe encoded into, and decoded from, the bytes each transport puts on the
//! wire: a raw WebSocket frame, or a Socket.IO packet (engine.io `4` + socket.io `2` event,
//! and for binary a placeholder packet plus an attachment frame) in WebSocket frames.

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
use wsbench_benches::{BenchProtocol, TRANSPORTS};
use wsbench_core::probe::Probe;
use wsbench_core::scenario::Encoding;
use wsbench_loadgen::{Incoming, Role};

const SIZES: [usize; 4] = [64, 1024, 4096, 16 * 1024];
const ENCODINGS: [(Encoding, &str); 2] = [(Encoding::Text, "text"), (Encoding::Binary, "binary")];

fn probe() -> Probe {
    Probe {
        sender: 7,
        seq: 123_456,
        intended_ns: 987_654_321_000,
    }
}

/// Encodes a probe into wire bytes: transport messages, then server-to-client frames.
fn encode(
    protocol: BenchProtocol,
    encoding: Encoding,
    size: usize,
    scratch: &mut Vec<u8>,
    frames: &mut Vec<Message>,
    wire: &mut Vec<u8>,
) {
    probe().encode_into(size, scratch);
    (protocol.encode)(encoding, Role::Broadcast, scratch, frames);
    wire.clear();
    for msg in frames.drain(..) {
        let frame = match msg {
            Message::Text(t) => Frame::message(t, OpCode::Data(Data::Text), true),
            Message::Binary(b) => Frame::message(b, OpCode::Data(Data::Binary), true),
            other => unreachable!("probes are data messages, not {other:?}"),
        };
        frame.format(wire).expect("writing to memory cannot fail");
    }
}

/// Decodes wire bytes back to the probe, as a client does.
fn decode(protocol: BenchProtocol, wire: &[u8]) -> Probe {
    let mut cursor = Cursor::new(wire);
    let mut decoder = (protocol.decoder)();
    loop {
        let (header, len) = FrameHeader::parse(&mut cursor)
            .expect("valid frame")
            .expect("complete frame");
        let start = cursor.position() as usize;
        let payload = &wire[start..start + len as usize];
        cursor.set_position((start + len as usize) as u64);
        let msg = match header.opcode {
            OpCode::Data(Data::Text) => {
                Message::Text(std::str::from_utf8(payload).expect("utf-8").into())
            }
            _ => Message::Binary(payload.to_vec().into()),
        };
        if let Incoming::Payload(bytes) = decoder(msg) {
            return Probe::decode(&bytes).expect("a probe");
        }
    }
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    // 32 cases: short windows keep the whole `cargo bench` within ten minutes; nanosecond
    // timings settle quickly.
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    for protocol in TRANSPORTS {
        let name = protocol.name;
        for (encoding, enc_name) in ENCODINGS {
            for size in SIZES {
                group.throughput(Throughput::Bytes(size as u64));
                let (mut scratch, mut frames, mut wire) = (Vec::new(), Vec::new(), Vec::new());
                encode(
                    protocol,
                    encoding,
                    size,
                    &mut scratch,
                    &mut frames,
                    &mut wire,
                );
                assert_eq!(decode(protocol, &wire), probe(), "round trip");

                group.bench_with_input(
                    BenchmarkId::new(format!("encode/{name}/{enc_name}"), size),
                    &size,
                    |b, &size| {
                        b.iter(|| {
                            encode(
                                protocol,
                                encoding,
                                size,
                                &mut scratch,
                                &mut frames,
                                &mut wire,
                            );
                            black_box(wire.len())
                        })
                    },
                );
                group.bench_with_input(
                    BenchmarkId::new(format!("decode/{name}/{enc_name}"), size),
                    &wire,
                    |b, wire| b.iter(|| black_box(decode(protocol, black_box(wire)))),
                );
            }
        }
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
