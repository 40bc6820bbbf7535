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
