//! What the lean clients share: one WebSocket over a byte-counting TCP stream, and the
//! [`Wire`] trait that says how a protocol carried over WebSocket frames a probe, what a
//! received message means, and what follows the upgrade before a client is ready.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::Role as WsRole;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::either::Either;
use wsbench_core::adapter::Adapter;
use wsbench_core::clock::monotonic_ns;
use wsbench_core::counting::CountingStream;
use wsbench_core::net;
use wsbench_core::scenario::Encoding;

use super::deflate::{DeflateOffer, Inflating};
use super::failure::ConnectFailure;
use super::tls::{self, Stream, TlsClient};
use super::upgrade;
use crate::live::WorkerLive;

/// A client's WebSocket over a byte-counting TCP stream, or TLS over one, inflating what
/// the server compressed where it accepted permessage-deflate.
pub type Socket = WebSocketStream<Inflating<Stream>>;

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

impl Role {
    /// The client's room: its number in rooms mode, 0 otherwise (an adapter's `{room}`).
    pub fn room(self) -> u64 {
        match self {
            Role::Room(n) => n,
            _ => 0,
        }
    }
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

/// What a data message means to a client, decoded in place: [`Incoming`] with the probe
/// given as where it starts in the message (it runs to the message's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// The bytes from this offset on should hold a probe.
    Payload(usize),
    /// See [`Incoming::Ping`].
    Ping,
    /// See [`Incoming::Closed`].
    Closed,
    /// See [`Incoming::Other`].
    Other,
}

/// How one protocol rides on WebSocket: one implementation per protocol, in a file of its
/// own. A value holds the system's adapter (shared) and the per-connection decoding state.
// The clients run on current-thread runtimes: these futures never need to be `Send`.
#[allow(async_fn_in_trait)]
pub trait Wire: Sized {
    /// A connection's wire, speaking as `adapter` says.
    fn new(adapter: &Arc<Adapter>) -> Self;

    /// The WebSocket URL a client of `role` opens at `endpoint`.
    fn url(&self, endpoint: &Endpoint, role: Role) -> Result<String, ConnectFailure>;

    /// What follows the upgrade before client `id` is ready (a session handshake, a room,
    /// a subscribe message).
    async fn handshake(&self, ws: &mut Socket, role: Role, id: u64) -> Result<(), ConnectFailure>;

    /// The messages that carry one probe for a client of `role`, into `out` (cleared).
    fn encode(&self, encoding: Encoding, role: Role, probe: &[u8], out: &mut Vec<Message>);

    /// What a data message (`text` or binary) holding `data` means, given what came
    /// before it on this connection. Decoded in place: the batched receiver
    /// (`crate::receiver`) decodes frames where they lie in its read buffers.
    fn decode_data(&mut self, text: bool, data: &[u8]) -> Decoded;

    /// What `msg` means, given what came before it on this connection.
    fn decode(&mut self, msg: Message) -> Incoming {
        let (text, bytes) = match msg {
            Message::Text(t) => (true, Bytes::from(t)),
            Message::Binary(b) => (false, b),
            Message::Close(_) => return Incoming::Closed,
            _ => return Incoming::Other,
        };
        match self.decode_data(text, &bytes) {
            Decoded::Payload(at) => Incoming::Payload(bytes.slice(at..)),
            Decoded::Ping => Incoming::Ping,
            Decoded::Closed => Incoming::Closed,
            Decoded::Other => Incoming::Other,
        }
    }

    /// The answer to [`Incoming::Ping`].
    fn pong(&self) -> Message;

    /// The adapter the wire speaks by.
    fn adapter(&self) -> &Adapter;
}

/// Client-side WebSocket buffers: reads of `read_buffer` bytes (tungstenite's default is
/// 128 KiB, allocated per connection: 1.3 GB at 10,000 clients), writes unbuffered.
fn client_config(read_buffer: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(0)
}

/// Where and as whom a client connects.
pub struct Dial<'a> {
    /// The server.
    pub endpoint: &'a Endpoint,
    /// What the client does there.
    pub role: Role,
    /// Its id (for the adapter's `{client}`).
    pub id: u64,
    /// The local address to connect from, see [`crate::LoadPlan::source_ip`].
    pub source: Option<std::net::IpAddr>,
    /// Bytes read at once, see [`crate::LoadPlan::read_buffer`].
    pub read_buffer: usize,
    /// The TLS a `wss://` endpoint is spoken to with (see [`crate::LoadPlan::tls`]).
    pub tls: Option<&'a TlsClient>,
    /// The permessage-deflate offered (see [`crate::LoadPlan::deflate`]).
    pub deflate: Option<&'a DeflateOffer>,
    /// Whether the batched receiver takes the connection over after its handshake (plain
    /// TCP, nothing offered): tungstenite then reads through a gate, so that nothing it
    /// has read is left unread at the handover (`super::gate`).
    pub gated: bool,
}

impl<'a> Dial<'a> {
    /// How client `id` of `plan` connects; `gated` for the batched receiver.
    pub(crate) fn of(plan: &'a crate::LoadPlan, id: u64, gated: bool) -> Dial<'a> {
        Dial {
            endpoint: plan.endpoint_of(id),
            role: plan.role_of(id),
            id,
            source: plan.source_ip(id),
            read_buffer: plan.read_buffer(),
            tls: plan.tls.as_ref(),
            deflate: plan.deflate.as_ref(),
            gated,
        }
    }
}

/// How long the steps of a client's setup took: its TCP connect, its TLS handshake
/// (`wss://`) and its WebSocket upgrade; the protocol's own handshake (engine.io open and
/// namespace CONNECT) is the rest of its connect time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    /// The TCP connect, ns.
    pub tcp_ns: u64,
    /// The TLS handshake, ns (`None`: plain).
    pub tls_ns: Option<u64>,
    /// The WebSocket upgrade (request to 101), ns.
    pub upgrade_ns: u64,
    /// Whether the server resumed the client's TLS session (a ticket it was given before).
    pub tls_resumed: bool,
    /// Whether the server accepted permessage-deflate.
    pub compressed: bool,
}

/// Opens TCP (and TLS over it for a `wss://` endpoint), upgrades to WebSocket (with the
/// adapter's headers and subprotocols) and runs the protocol's handshake, within
/// `timeout`: a ready client, and how long its steps took.
pub async fn connect<W: Wire>(
    wire: &W,
    dial: Dial<'_>,
    live: &Arc<WorkerLive>,
    timeout: Duration,
) -> Result<(Socket, Phases), ConnectFailure> {
    let attempt = async {
        let start = monotonic_ns();
        let tcp = open_tcp(dial.endpoint.addr, dial.source).await?;
        let tcp_done = monotonic_ns();
        let mut phases = Phases {
            tcp_ns: tcp_done - start,
            tls_ns: None,
            tls_resumed: false,
            upgrade_ns: 0,
            compressed: false,
        };
        net::tune_stream(&tcp).map_err(|e| ConnectFailure::from_io(&e))?;
        let counted = CountingStream::new(tcp, live.clone());
        let mut stream = match tls_host(&dial.endpoint.url) {
            None => Either::Left(counted),
            Some(host) => {
                let tls = dial.tls.ok_or(ConnectFailure::Tls)?;
                let (stream, resumed) = tls.connect(&host, dial.id, counted).await?;
                phases.tls_ns = Some(monotonic_ns() - tcp_done);
                phases.tls_resumed = resumed;
                stream
            }
        };
        let offered = &wire.adapter().subprotocols;
        let upgrading = monotonic_ns();
        let request = request(wire, &dial)?;
        let up = upgrade::upgrade(&mut stream, request, offered, dial.deflate.is_some()).await?;
        phases.upgrade_ns = monotonic_ns() - upgrading;
        phases.compressed = up.deflate.is_some();
        let config = client_config(dial.read_buffer);
        let (stream, tail) = if dial.gated {
            (Inflating::gated(stream, up.tail), Vec::new())
        } else {
            Inflating::new(stream, up.deflate, up.tail).map_err(|e| ConnectFailure::from_io(&e))?
        };
        let mut ws =
            WebSocketStream::from_partially_read(stream, tail, WsRole::Client, Some(config)).await;
        wire.handshake(&mut ws, dial.role, dial.id).await?;
        let tcp = tls::tcp(ws.get_ref().get_ref());
        net::delay_acks(tcp).map_err(|e| ConnectFailure::from_io(&e))?;
        Ok((ws, phases))
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(Err(ConnectFailure::Timeout))
}

/// The upgrade request: the wire's URL, the adapter's headers and subprotocols.
fn request<W: Wire>(wire: &W, dial: &Dial<'_>) -> Result<Request, ConnectFailure> {
    let url = wire.url(dial.endpoint, dial.role)?;
    let mut request = url
        .into_client_request()
        .map_err(|e| ConnectFailure::from_ws(&e))?;
    let adapter = wire.adapter();
    let headers = request.headers_mut();
    for (name, value) in adapter.header_pairs(dial.id, dial.role.room()) {
        let name = HeaderName::try_from(name).map_err(|_| ConnectFailure::Handshake)?;
        let value = HeaderValue::try_from(value).map_err(|_| ConnectFailure::Handshake)?;
        headers.append(name, value);
    }
    if let Some(offer) = dial.deflate {
        let offer = HeaderValue::try_from(offer.header()).map_err(|_| ConnectFailure::Handshake)?;
        headers.insert("Sec-WebSocket-Extensions", offer);
    }
    if !adapter.subprotocols.is_empty() {
        let offered = HeaderValue::try_from(adapter.subprotocols.join(", "))
            .map_err(|_| ConnectFailure::Handshake)?;
        headers.insert("Sec-WebSocket-Protocol", offered);
    }
    Ok(request)
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

/// The host a `wss://` URL names (its TLS server name); `None` for `ws://`.
fn tls_host(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    (url.scheme() == "wss").then(|| url.host_str().unwrap_or_default().to_owned())
}

/// The URL with its path replaced.
pub(crate) fn with_path(url: &str, path: &str) -> Result<String, ConnectFailure> {
    let mut url = url::Url::parse(url).map_err(|_| ConnectFailure::Handshake)?;
    url.set_path(path);
    Ok(url.to_string())
}
