//! What the lean clients share: one WebSocket over a byte-counting TCP stream, and the
//! [`Wire`] trait that says how a protocol carried over WebSocket frames a probe, what a
//! received message means, and what follows the upgrade before a client is ready.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};
use wsbench_core::counting::CountingStream;
use wsbench_core::net;
use wsbench_core::scenario::Encoding;

use super::failure::ConnectFailure;
use crate::live::WorkerLive;

/// A client's WebSocket over a byte-counting TCP stream.
pub type Socket = WebSocketStream<CountingStream<WorkerLive>>;

/// Where a client connects: the TCP address and the WebSocket URL.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host:port` to open the TCP connection to.
    pub addr: std::net::SocketAddr,
    /// Full WebSocket URL of the handshake.
    pub url: String,
}

/// What a client does on its connection, chosen by the scenario's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Broadcast to every other client (raw WS `/`; Socket.IO `broadcast` in the lobby).
    Broadcast,
    /// Round trips (raw WS `/echo`; Socket.IO `echo` with an ack).
    Echo,
    /// Broadcast within room `r<N>` (raw WS `/room/rN`; Socket.IO `join` first).
    Room(u64),
}

/// What an incoming message means to a client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// Bytes that should hold a probe.
    Payload(Bytes),
    /// The server asked for a heartbeat answer (engine.io ping): call the answer.
    Ping,
    /// The server ended the session.
    Closed,
    /// Nothing to account (control frames, other packets, half of a two-part message).
    Other,
}

/// How one protocol rides on WebSocket: one implementation per protocol, in a file of its
/// own. A value holds the per-connection decoding state.
// The clients run on current-thread runtimes: these futures never need to be `Send`.
#[allow(async_fn_in_trait)]
pub trait Wire: Default {
    /// The WebSocket URL a client of `role` opens at `endpoint`.
    fn url(endpoint: &Endpoint, role: Role) -> Result<String, ConnectFailure>;

    /// What follows the upgrade before the client is ready (a session handshake, a room).
    async fn handshake(ws: &mut Socket, role: Role) -> Result<(), ConnectFailure>;

    /// The messages that carry one probe for a client of `role`, into `out` (cleared).
    fn encode(encoding: Encoding, role: Role, probe: &[u8], out: &mut Vec<Message>);

    /// What `msg` means, given what came before it on this connection.
    fn decode(&mut self, msg: Message) -> Incoming;

    /// The answer to [`Incoming::Ping`].
    fn pong() -> Message;
}

/// Client-side WebSocket buffers. tungstenite's default read buffer is 128 KiB, allocated
/// per connection: at 10,000 clients that alone is 1.3 GB of load-generator memory.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

/// Opens TCP (from `source`, see [`crate::LoadPlan::source_ip`]), upgrades to WebSocket
/// and runs the protocol's handshake, within `timeout`: a ready client of `role`.
pub async fn connect<W: Wire>(
    endpoint: &Endpoint,
    role: Role,
    source: Option<std::net::IpAddr>,
    live: &Arc<WorkerLive>,
    timeout: Duration,
) -> Result<Socket, ConnectFailure> {
    let attempt = async {
        let tcp = open_tcp(endpoint.addr, source).await?;
        net::tune_stream(&tcp).map_err(|e| ConnectFailure::from_io(&e))?;
        let stream = CountingStream::new(tcp, live.clone());
        let url = W::url(endpoint, role)?;
        let (mut ws, _) = client_async_with_config(url.as_str(), stream, Some(client_config()))
            .await
            .map_err(|e| ConnectFailure::from_ws(&e))?;
        W::handshake(&mut ws, role).await?;
        Ok(ws)
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(Err(ConnectFailure::Timeout))
}

async fn open_tcp(
    addr: std::net::SocketAddr,
    source: Option<std::net::IpAddr>,
) -> Result<TcpStream, ConnectFailure> {
    let Some(ip) = source else {
        return TcpStream::connect(addr)
            .await
            .map_err(|e| ConnectFailure::from_io(&e));
    };
    let socket = if ip.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| ConnectFailure::from_io(&e))?;
    socket
        .bind(std::net::SocketAddr::new(ip, 0))
        .map_err(|e| ConnectFailure::from_io(&e))?;
    socket
        .connect(addr)
        .await
        .map_err(|e| ConnectFailure::from_io(&e))
}

/// The URL with its path replaced.
pub(crate) fn with_path(url: &str, path: &str) -> Result<String, ConnectFailure> {
    let mut url = url::Url::parse(url).map_err(|_| ConnectFailure::Handshake)?;
    url.set_path(path);
    Ok(url.to_string())
}
