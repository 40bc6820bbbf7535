//! The two wire protocols the lean clients speak over one WebSocket: raw messages, and
//! engine.io v4 / socket.io v5 (the Socket.IO websocket transport).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use tokio_tungstenite::{WebSocketStream, client_async_with_config};
use wsbench_core::net;
use wsbench_core::scenario::Encoding;

use crate::live::WorkerLive;
use wsbench_core::counting::CountingStream;

/// A client's WebSocket over a byte-counting TCP stream.
pub type Socket = WebSocketStream<CountingStream<WorkerLive>>;

/// The event name probes travel under on Socket.IO.
pub const SIO_EVENT: &str = "broadcast";

/// Which protocol a lean client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Messages are the probes themselves.
    RawWs,
    /// Socket.IO v5 over engine.io v4, websocket transport, default namespace.
    SocketIo,
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

/// Why a connection attempt failed, by kind, as results count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectFailure {
    /// Nothing listened (ECONNREFUSED).
    Refused,
    /// No answer in time.
    Timeout,
    /// The peer reset or closed the connection during the handshake.
    Reset,
    /// Out of file descriptors or local ports.
    Resources,
    /// The HTTP upgrade was refused.
    Handshake,
    /// The engine.io/socket.io handshake went wrong.
    Protocol,
    /// Anything else.
    Other,
}

impl ConnectFailure {
    /// The name used in results.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectFailure::Refused => "refused",
            ConnectFailure::Timeout => "timeout",
            ConnectFailure::Reset => "reset",
            ConnectFailure::Resources => "resources",
            ConnectFailure::Handshake => "handshake",
            ConnectFailure::Protocol => "protocol",
            ConnectFailure::Other => "other",
        }
    }

    fn from_io(e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
            io::ErrorKind::TimedOut => ConnectFailure::Timeout,
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::BrokenPipe => ConnectFailure::Reset,
            io::ErrorKind::AddrNotAvailable | io::ErrorKind::AddrInUse => ConnectFailure::Resources,
            // EMFILE, ENFILE: out of file descriptors.
            _ if matches!(e.raw_os_error(), Some(23 | 24)) => ConnectFailure::Resources,
            _ => ConnectFailure::Other,
        }
    }

    fn from_ws(e: &tokio_tungstenite::tungstenite::Error) -> Self {
        use tokio_tungstenite::tungstenite::Error as E;
        match e {
            E::Io(io) => Self::from_io(io),
            E::Http(_) | E::HttpFormat(_) | E::Url(_) => ConnectFailure::Handshake,
            E::ConnectionClosed | E::AlreadyClosed => ConnectFailure::Reset,
            E::Protocol(_) => ConnectFailure::Handshake,
            _ => ConnectFailure::Other,
        }
    }
}

/// Where a client connects: the TCP address and the WebSocket URL.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host:port` to open the TCP connection to.
    pub addr: std::net::SocketAddr,
    /// Full WebSocket URL of the handshake.
    pub url: String,
}

/// Client-side WebSocket buffers. tungstenite's default read buffer is 128 KiB, allocated
/// per connection: at 10,000 clients that alone is 1.3 GB of load-generator memory.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

impl Protocol {
    /// Opens TCP, upgrades to WebSocket and, for Socket.IO, waits for the engine.io open
    /// packet and the namespace CONNECT: a broadcasting client.
    pub async fn connect(
        self,
        endpoint: &Endpoint,
        live: &Arc<WorkerLive>,
        timeout: Duration,
    ) -> Result<Socket, ConnectFailure> {
        self.connect_as(endpoint, Role::Broadcast, None, live, timeout)
            .await
    }

    /// [`Self::connect`] for a client of `role`: raw WS picks the path, Socket.IO joins the
    /// room (waiting for the join's ack) before the client counts as ready. `source` is the
    /// local address to connect from (see [`crate::LoadPlan::source_ip`]).
    pub async fn connect_as(
        self,
        endpoint: &Endpoint,
        role: Role,
        source: Option<std::net::IpAddr>,
        live: &Arc<WorkerLive>,
        timeout: Duration,
    ) -> Result<Socket, ConnectFailure> {
        tokio::time::timeout(timeout, self.connect_inner(endpoint, role, source, live))
            .await
            .unwrap_or(Err(ConnectFailure::Timeout))
    }

    async fn connect_inner(
        self,
        endpoint: &Endpoint,
        role: Role,
        source: Option<std::net::IpAddr>,
        live: &Arc<WorkerLive>,
    ) -> Result<Socket, ConnectFailure> {
        let url = match (self, role) {
            (Protocol::RawWs, Role::Echo) => with_path(&endpoint.url, "/echo")?,
            (Protocol::RawWs, Role::Room(n)) => with_path(&endpoint.url, &format!("/room/r{n}"))?,
            _ => endpoint.url.clone(),
        };
        let tcp = match source {
            None => TcpStream::connect(endpoint.addr).await,
            Some(ip) => {
                let socket = if ip.is_ipv4() {
                    TcpSocket::new_v4()
                } else {
                    TcpSocket::new_v6()
                }
                .map_err(|e| ConnectFailure::from_io(&e))?;
                socket
                    .bind(std::net::SocketAddr::new(ip, 0))
                    .map_err(|e| ConnectFailure::from_io(&e))?;
                socket.connect(endpoint.addr).await
            }
        }
        .map_err(|e| ConnectFailure::from_io(&e))?;
        net::tune_stream(&tcp).map_err(|e| ConnectFailure::from_io(&e))?;
        let stream = CountingStream::new(tcp, live.clone());
        let (mut ws, _) = client_async_with_config(url.as_str(), stream, Some(client_config()))
            .await
            .map_err(|e| ConnectFailure::from_ws(&e))?;
        if self == Protocol::SocketIo {
            sio_handshake(&mut ws).await?;
            if let Role::Room(n) = role {
                sio_join(&mut ws, n).await?;
            }
        }
        Ok(ws)
    }

    /// The WebSocket messages that carry one probe for a client of `role`.
    pub fn probe_messages(
        self,
        encoding: Encoding,
        role: Role,
        probe: &[u8],
        out: &mut Vec<Message>,
    ) {
        out.clear();
        if self == Protocol::SocketIo && role == Role::Echo {
            // The echo event asks for an ack (id 0): the answer is `43`/`46` with the probe.
            match encoding {
                Encoding::Text => {
                    let text = std::str::from_utf8(probe).expect("probes are ASCII");
                    out.push(Message::text(format!("420[\"echo\",\"{text}\"]")));
                }
                Encoding::Binary => {
                    out.push(Message::text(
                        "451-0[\"echo\",{\"_placeholder\":true,\"num\":0}]",
                    ));
                    out.push(Message::Binary(Bytes::copy_from_slice(probe)));
                }
            }
            return;
        }
        match (self, encoding) {
            (Protocol::RawWs, Encoding::Text) => out.push(Message::Text(text_of(probe))),
            (Protocol::RawWs, Encoding::Binary) => {
                out.push(Message::Binary(Bytes::copy_from_slice(probe)))
            }
            (Protocol::SocketIo, Encoding::Text) => {
                let mut frame = String::with_capacity(probe.len() + 20);
                frame.push_str("42[\"");
                frame.push_str(SIO_EVENT);
                frame.push_str("\",\"");
                frame.push_str(std::str::from_utf8(probe).expect("probes are ASCII"));
                frame.push_str("\"]");
                out.push(Message::text(frame));
            }
            (Protocol::SocketIo, Encoding::Binary) => {
                out.push(Message::text(format!(
                    "451-[\"{SIO_EVENT}\",{{\"_placeholder\":true,\"num\":0}}]"
                )));
                out.push(Message::Binary(Bytes::copy_from_slice(probe)));
            }
        }
    }
}

fn text_of(probe: &[u8]) -> Utf8Bytes {
    Utf8Bytes::try_from(Bytes::copy_from_slice(probe)).expect("probes are ASCII")
}

/// What an incoming message means to a client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// Bytes that should hold a probe.
    Payload(&'a [u8]),
    /// An engine.io ping: answer with a pong.
    Ping,
    /// A binary attachment follows; its bytes are the payload.
    AttachmentNext,
    /// The server ended the session.
    Closed,
    /// Nothing to account (control frames, other packets).
    Other,
}

/// Per-connection decoding state (Socket.IO attachments span two messages).
#[derive(Debug, Default)]
pub struct Decoder {
    attachment_pending: bool,
}

impl Decoder {
    /// Classifies `msg` for protocol `p`.
    pub fn classify<'a>(&mut self, p: Protocol, msg: &'a Message) -> Incoming<'a> {
        match (p, msg) {
            (_, Message::Close(_)) => Incoming::Closed,
            (Protocol::RawWs, Message::Text(t)) => Incoming::Payload(t.as_bytes()),
            (Protocol::RawWs, Message::Binary(b)) => Incoming::Payload(b),
            (Protocol::SocketIo, Message::Binary(b)) => {
                if std::mem::take(&mut self.attachment_pending) {
                    Incoming::Payload(b)
                } else {
                    Incoming::Other
                }
            }
            (Protocol::SocketIo, Message::Text(t)) => classify_sio_text(t.as_bytes(), self),
            _ => Incoming::Other,
        }
    }
}

fn classify_sio_text<'a>(t: &'a [u8], d: &mut Decoder) -> Incoming<'a> {
    match t {
        b"2" => Incoming::Ping,
        [b'1', ..] | [b'4', b'1', ..] => Incoming::Closed,
        // 42["event","<probe>"...]: the probe starts after the event name's closing quote.
        [b'4', b'2', b'[', b'"', rest @ ..] => match rest.windows(3).position(|w| w == b"\",\"") {
            Some(i) => Incoming::Payload(&rest[i + 3..]),
            None => Incoming::Other,
        },
        // 43<id>["<probe>"...]: an ack (the echo's answer).
        [b'4', b'3', rest @ ..] => match rest.windows(2).position(|w| w == b"[\"") {
            Some(i) => Incoming::Payload(&rest[i + 2..]),
            None => Incoming::Other,
        },
        // 45<n>-[...] or 46<n>-<id>[...]: a binary event or ack, its attachment comes next.
        [b'4', b'5' | b'6', ..] => {
            d.attachment_pending = true;
            Incoming::AttachmentNext
        }
        _ => Incoming::Other,
    }
}

/// The URL with its path replaced.
fn with_path(url: &str, path: &str) -> Result<String, ConnectFailure> {
    let mut url = url::Url::parse(url).map_err(|_| ConnectFailure::Handshake)?;
    url.set_path(path);
    Ok(url.to_string())
}

/// Joins room `r<n>` and waits for the join's ack.
async fn sio_join(ws: &mut Socket, n: u64) -> Result<(), ConnectFailure> {
    send_text(ws, format!("420[\"join\",\"r{n}\"]")).await?;
    while !next_text(ws).await?.starts_with("430") {}
    Ok(())
}

/// Waits for engine.io's open packet, connects to namespace `/`, waits for its CONNECT.
async fn sio_handshake(ws: &mut Socket) -> Result<(), ConnectFailure> {
    if !next_text(ws).await?.starts_with('0') {
        return Err(ConnectFailure::Protocol);
    }
    send_text(ws, "40".to_owned()).await?;
    loop {
        let text = next_text(ws).await?;
        if text.starts_with("40") {
            return Ok(());
        } else if text.starts_with("44") {
            return Err(ConnectFailure::Protocol);
        }
    }
}

/// The next text message during a handshake, answering engine.io pings on the way.
async fn next_text(ws: &mut Socket) -> Result<String, ConnectFailure> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                send_text(ws, "3".to_owned()).await?;
            }
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(ConnectFailure::from_ws(&e)),
            None => return Err(ConnectFailure::Reset),
        }
    }
}

async fn send_text(ws: &mut Socket, text: String) -> Result<(), ConnectFailure> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| ConnectFailure::from_ws(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socketio_frames_carry_the_probe_bytes_unchanged() {
        let probe = wsbench_core::probe::Probe {
            sender: 3,
            seq: 9,
            intended_ns: 77,
        }
        .encode(64);
        let mut out = Vec::new();
        let mut d = Decoder::default();

        Protocol::SocketIo.probe_messages(Encoding::Text, Role::Broadcast, &probe, &mut out);
        assert_eq!(out.len(), 1);
        let Incoming::Payload(got) = d.classify(Protocol::SocketIo, &out[0]) else {
            panic!("{:?}", out[0]);
        };
        assert_eq!(&got[..probe.len()], &probe[..]);

        Protocol::SocketIo.probe_messages(Encoding::Binary, Role::Broadcast, &probe, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            d.classify(Protocol::SocketIo, &out[0]),
            Incoming::AttachmentNext
        );
        assert_eq!(
            d.classify(Protocol::SocketIo, &out[1]),
            Incoming::Payload(&probe[..])
        );

        assert_eq!(
            d.classify(Protocol::SocketIo, &Message::text("2")),
            Incoming::Ping
        );
        assert_eq!(
            d.classify(Protocol::SocketIo, &Message::text("41")),
            Incoming::Closed
        );
    }

    #[test]
    fn raw_frames_are_the_probe() {
        let probe = b"W0000000100000000000000020000000000000003..";
        let mut out = Vec::new();
        let mut d = Decoder::default();
        for enc in [Encoding::Text, Encoding::Binary] {
            Protocol::RawWs.probe_messages(enc, Role::Broadcast, probe, &mut out);
            assert_eq!(
                d.classify(Protocol::RawWs, &out[0]),
                Incoming::Payload(&probe[..])
            );
        }
    }
}
