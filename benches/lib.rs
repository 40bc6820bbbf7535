//! What the criterion benchmarks share: a server of either transport on a loopback port-0
//! listener, lean clients connected to it, and each protocol's wire as plain functions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::Message;
use wsbench_core::adapter::Adapter;
use wsbench_core::net::bind_listener;
use wsbench_core::scenario::Encoding;
use wsbench_core::system::{BuiltinServer, Protocol};
use wsbench_loadgen::clients::{RawWs, SocketIoWs, Wire};
use wsbench_loadgen::{Endpoint, Incoming, Role, Socket, WorkerLive};
use wsbench_sio_server::{SioServer, SioServerConfig, SioServerHandle};
use wsbench_ws_server::{WsServer, WsServerConfig, WsServerHandle};

/// A protocol a benchmark drives, with its lean client's wire as functions.
#[derive(Clone, Copy)]
pub struct BenchProtocol {
    /// Its name in benchmark ids.
    pub name: &'static str,
    /// The protocol.
    pub protocol: Protocol,
    /// The messages that carry one probe.
    pub encode: fn(Encoding, Role, &[u8], &mut Vec<Message>),
    /// A fresh decoder for one connection.
    pub decoder: fn() -> Box<dyn FnMut(Message) -> Incoming + Send>,
    /// Opens one ready client.
    pub connect: for<'a> fn(&'a Endpoint) -> Pin<Box<dyn Future<Output = Socket> + 'a>>,
}

const fn of<W: Wire + Send + 'static>(name: &'static str, protocol: Protocol) -> BenchProtocol {
    BenchProtocol {
        name,
        protocol,
        encode: encode::<W>,
        decoder: decoder::<W>,
        connect: connect::<W>,
    }
}

/// wsbench's own conventions: no adapter.
static NO_ADAPTER: std::sync::LazyLock<Arc<Adapter>> = std::sync::LazyLock::new(Arc::default);

/// A wire with wsbench's own conventions.
fn wire<W: Wire>() -> W {
    W::new(&NO_ADAPTER)
}

fn encode<W: Wire>(encoding: Encoding, role: Role, probe: &[u8], out: &mut Vec<Message>) {
    // A wire per call costs an Arc count, not an allocation: the framing dominates.
    wire::<W>().encode(encoding, role, probe, out);
}

fn decoder<W: Wire + Send + 'static>() -> Box<dyn FnMut(Message) -> Incoming + Send> {
    let mut wire = wire::<W>();
    Box::new(move |msg| wire.decode(msg))
}

/// Opens one ready client (for Socket.IO: engine.io open and namespace CONNECT done).
fn connect<W: Wire>(endpoint: &Endpoint) -> Pin<Box<dyn Future<Output = Socket> + '_>> {
    Box::pin(async move {
        let live = Arc::new(WorkerLive::default());
        let dial = wsbench_loadgen::clients::Dial {
            endpoint,
            role: Role::Broadcast,
            id: 0,
            source: None,
            // The benchmarks' probes are 64 bytes, without an adapter.
            read_buffer: wsbench_loadgen::read_buffer_for(64, 0),
            tls: None,
            deflate: None,
            gated: false,
        };
        wsbench_loadgen::clients::connect(&wire::<W>(), dial, &live, Duration::from_secs(10))
            .await
            .map(|(socket, _)| socket)
            .unwrap_or_else(|e| panic!("connect failed: {}", e.as_str()))
    })
}

/// The transports the benchmarks compare.
pub const TRANSPORTS: [BenchProtocol; 2] = [
    of::<RawWs>("ws", Protocol::Ws),
    of::<SocketIoWs>("socketio", Protocol::Socketio),
];

/// A running in-process server of one transport.
pub enum BenchServer {
    /// Raw WebSocket.
    Ws(WsServerHandle),
    /// Socket.IO.
    Sio(SioServerHandle),
}

impl BenchServer {
    /// Starts the server for `protocol` on `127.0.0.1:0`, on the current runtime.
    pub fn start(protocol: Protocol) -> BenchServer {
        let listener = bind_listener("127.0.0.1:0".parse().expect("valid address"))
            .expect("a loopback port-0 listener binds");
        match protocol
            .spec()
            .server
            .expect("benchmarked protocols have a server")
        {
            BuiltinServer::Ws => BenchServer::Ws(
                WsServer::start(listener, WsServerConfig::default()).expect("server starts"),
            ),
            BuiltinServer::Socketio => BenchServer::Sio(
                SioServer::start(listener, SioServerConfig::default()).expect("server starts"),
            ),
            BuiltinServer::WsStock => unreachable!("no protocol's built-in server is ws-stock"),
        }
    }

    /// Where a client of `protocol` connects.
    pub fn endpoint(&self, protocol: Protocol) -> Endpoint {
        let addr = match self {
            BenchServer::Ws(h) => h.local_addr(),
            BenchServer::Sio(h) => h.local_addr(),
        };
        let url = match protocol.spec().endpoint_path {
            Some((path, query)) => format!("ws://{addr}{path}?{query}"),
            None => format!("ws://{addr}/"),
        };
        Endpoint { addr, url }
    }

    /// Clients connected right now.
    pub fn connections_open(&self) -> u64 {
        match self {
            BenchServer::Ws(h) => h.counters().connections_open,
            BenchServer::Sio(h) => h.counters().connections_open,
        }
    }
}

/// The runtime the async benches run on: two workers, as many as the machine has cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime builds")
}
