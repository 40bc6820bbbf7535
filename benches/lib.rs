//! What the criterion benchmarks share: a server of either transport on a loopback port-0
//! listener, and lean clients connected to it.

use std::sync::Arc;
use std::time::Duration;

use wsbench_core::net::bind_listener;
use wsbench_loadgen::{Endpoint, Protocol, Socket, WorkerLive};
use wsbench_sio_server::{SioServer, SioServerConfig, SioServerHandle};
use wsbench_ws_server::{WsServer, WsServerConfig, WsServerHandle};

/// The transports the benchmarks compare, with their names in reports.
pub const TRANSPORTS: [(Protocol, &str); 2] =
    [(Protocol::RawWs, "ws"), (Protocol::SocketIo, "socketio")];

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
        match protocol {
            Protocol::RawWs => BenchServer::Ws(
                WsServer::start(listener, WsServerConfig::default()).expect("server starts"),
            ),
            Protocol::SocketIo => BenchServer::Sio(
                SioServer::start(listener, SioServerConfig::default()).expect("server starts"),
            ),
        }
    }

    /// Where a client of `protocol` connects.
    pub fn endpoint(&self, protocol: Protocol) -> Endpoint {
        let addr = match self {
            BenchServer::Ws(h) => h.local_addr(),
            BenchServer::Sio(h) => h.local_addr(),
        };
        let url = match protocol {
            Protocol::RawWs => format!("ws://{addr}/"),
            Protocol::SocketIo => format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"),
        };
        Endpoint { addr, url }
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

/// Opens one ready client (for Socket.IO: engine.io open and namespace CONNECT done).
pub async fn connect(protocol: Protocol, endpoint: &Endpoint) -> Socket {
    let live = Arc::new(WorkerLive::default());
    protocol
        .connect(endpoint, &live, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("connect failed: {}", e.as_str()))
}
