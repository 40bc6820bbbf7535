//! Sockets opened the way a benchmark needs them.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Listen backlog of every server under test.
///
/// The default of 128 overflows when a thousand clients connect at once; each overflowed
/// SYN costs its client a 1 s retransmit, which then shows up as connect latency of the
/// server. The kernel caps it at `net.core.somaxconn` (4096 on the machines we measure on).
pub const LISTEN_BACKLOG: u32 = 4096;

/// WebSocket read buffer of every server connection, both servers alike.
///
/// tungstenite allocates it when a connection opens and keeps it for the connection's life,
/// and it also bounds one read: 128 KiB by default, 4 KiB in socketioxide. At 1 KiB an idle
/// raw-WebSocket connection costs about 3 KiB in all instead of 7; a message larger than it
/// takes several reads, which only large messages notice (a 64-byte probe frame is 70
/// bytes, and one read still takes a dozen of them).
pub const WS_READ_BUFFER: usize = 1024;

/// Binds a listener with [`LISTEN_BACKLOG`] and `SO_REUSEADDR`, so a server restarted on the
/// same port (the reconnect scenario) does not wait for `TIME_WAIT` to expire.
pub fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Prepares an accepted or connected socket for small real-time messages.
///
/// `TCP_NODELAY` turns Nagle's algorithm off: with it on, a small broadcast written while an
/// earlier segment is unacknowledged waits for the delayed ACK, adding about 40 ms.
pub fn tune_stream(stream: &TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)
}

/// Whether `url` names this machine by a loopback address (127.0.0.0/8, ::1, localhost):
/// where wsbench may send load without `--allow-remote`.
pub fn is_loopback_url(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listener_binds_an_os_chosen_port_and_accepts_with_nodelay() {
        let listener = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        let client = TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        tune_stream(&accepted).unwrap();
        assert!(accepted.nodelay().unwrap());
        drop(client);
    }

    #[tokio::test]
    async fn a_port_in_use_is_an_error() {
        let first = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let taken = first.local_addr().unwrap();
        let err = bind_listener(taken).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }
}
