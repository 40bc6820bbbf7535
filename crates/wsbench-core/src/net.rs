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

/// Puts a client's socket in delayed-ACK ("pingpong") mode: the kernel then acknowledges
/// small segments every second one (or when its delayed-ACK timer fires) rather than each
/// one as it is read.
///
/// Why: Linux acknowledges every small pushed segment at once on a socket that has only
/// received, and every other one on a socket that has answered quickly once. A Socket.IO
/// client answers the server's open packet at once, a raw-WebSocket client never speaks
/// after its upgrade, so fanout's ws clients sent 1.3 million ACKs where Socket.IO's sent
/// 0.7 million for the same 1.4 million deliveries, and on loopback the load generator pays
/// for sending each ACK and for the server's side of receiving it: ~1 µs more load-generator
/// CPU per ws delivery, which a busy machine turns into latency charged to the ws server.
/// With every client in this mode both transports' clients acknowledge alike
/// (docs/method.md, "The load generator"). The kernel leaves the mode again when a delayed
/// ACK's timer fires; at rates where it does, ACKs cost nothing that matters.
pub fn delay_acks(stream: &TcpStream) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let off: libc::c_int = 0;
        // SAFETY: a valid socket descriptor, an option value of the size given.
        let rc = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&off as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
    Ok(())
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
