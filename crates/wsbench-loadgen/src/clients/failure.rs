//! Why a connection attempt failed, by kind, as results count them.

use std::io;

/// Why a connection attempt failed.
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
    /// The handshake was answered with an HTTP error (an upgrade refused; a long-polling
    /// request refused).
    Handshake,
    /// The engine.io/socket.io handshake went wrong.
    Protocol,
    /// The Socket.IO server refused the namespace CONNECT (CONNECT_ERROR).
    Rejected,
    /// The TLS handshake failed (an untrusted certificate, another name, no TLS there).
    Tls,
    /// Anything else.
    Other,
}

impl ConnectFailure {
    /// Every kind, in [`ConnectFailure::index`] order.
    pub const ALL: [ConnectFailure; 9] = [
        ConnectFailure::Refused,
        ConnectFailure::Timeout,
        ConnectFailure::Reset,
        ConnectFailure::Resources,
        ConnectFailure::Handshake,
        ConnectFailure::Protocol,
        ConnectFailure::Rejected,
        ConnectFailure::Tls,
        ConnectFailure::Other,
    ];

    /// Its place in [`ConnectFailure::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// What it means and what to look at, for a run where no client could connect.
    pub fn meaning(self) -> &'static str {
        match self {
            ConnectFailure::Refused => "nothing listens at that address",
            ConnectFailure::Timeout => "no answer in time",
            ConnectFailure::Reset => "the server closed or reset the connection in the handshake",
            ConnectFailure::Resources => "out of file descriptors or local ports here",
            ConnectFailure::Handshake => {
                "the server answered the handshake with an HTTP error (the upgrade refused: \
                 path, headers; for long-polling, also a request for a session it does not \
                 know)"
            }
            ConnectFailure::Protocol => "the engine.io or Socket.IO handshake went wrong",
            ConnectFailure::Rejected => {
                "the Socket.IO server refused the namespace CONNECT (CONNECT_ERROR: the \
                 adapter's auth, or a namespace it does not serve)"
            }
            ConnectFailure::Tls => {
                "the TLS handshake failed (a certificate the clients do not trust or of \
                 another name: tls_ca_file, tls_insecure; or no TLS at that address)"
            }
            ConnectFailure::Other => "another error",
        }
    }

    /// The name used in results.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectFailure::Refused => "refused",
            ConnectFailure::Timeout => "timeout",
            ConnectFailure::Reset => "reset",
            ConnectFailure::Resources => "resources",
            ConnectFailure::Handshake => "handshake",
            ConnectFailure::Protocol => "protocol",
            ConnectFailure::Rejected => "rejected",
            ConnectFailure::Tls => "tls",
            ConnectFailure::Other => "other",
        }
    }

    /// The kind of a TLS handshake's error: a socket error as such, else [`ConnectFailure::Tls`].
    pub fn from_tls(e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::Other => {
                ConnectFailure::Tls
            }
            _ => Self::from_io(e),
        }
    }

    /// The kind of a socket error.
    pub fn from_io(e: &io::Error) -> Self {
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

    /// The kind of a WebSocket error.
    pub fn from_ws(e: &tokio_tungstenite::tungstenite::Error) -> Self {
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
