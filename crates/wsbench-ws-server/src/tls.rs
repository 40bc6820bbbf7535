//! TLS for the raw-WebSocket server, without giving up its write path: a connection's
//! session (rustls) is shared by its reading task and by whoever writes to its outbox, so
//! that a broadcaster still writes a recipient's frames straight to its socket, now as
//! records. Encryption is per recipient, as TLS has it: the frame is encoded once, sealed
//! once per connection. What the socket does not take of the records stays in the session
//! (bounded by rustls' buffer limit, 64 KiB) and counts as waiting: the connection's task
//! writes it when the socket is writable again. Bytes are counted as they go on the wire,
//! records included (docs/method.md, "TLS").

use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_rustls::rustls::ServerConnection;
use wsbench_core::ServerCounters;
use wsbench_core::counting::ByteCounter;

use crate::outbox::Outbox;

/// One connection's TLS session, shared by its reader and its writers.
pub(crate) type Session = Arc<Mutex<ServerConnection>>;

/// Where an outbox writes: the socket itself, or TLS records over it.
pub(crate) enum Sink {
    /// Frames as they are.
    Plain(OwnedWriteHalf),
    /// Frames sealed into records of `session`.
    Tls {
        /// The socket's sending side.
        tcp: OwnedWriteHalf,
        /// The connection's session.
        session: Session,
    },
}

impl Sink {
    /// Writes what the socket takes of `iov` now, counting the bytes put on the wire;
    /// returns how many bytes of `iov` were taken (`WouldBlock`: none). Over TLS, records
    /// still waiting go first, and a frame taken is sealed whole or in part.
    pub(crate) fn try_write_vectored(
        &self,
        iov: &[IoSlice<'_>],
        counted: &ServerCounters,
    ) -> io::Result<usize> {
        match self {
            Sink::Plain(tcp) => {
                let n = tcp.try_write_vectored(iov)?;
                counted.add_written(n as u64);
                Ok(n)
            }
            Sink::Tls { tcp, session } => {
                let mut s = lock(session);
                if !push(&mut s, tcp, counted)? {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let n = s.writer().write_vectored(iov)?;
                push(&mut s, tcp, counted)?;
                Ok(n)
            }
        }
    }

    /// Writes the records that wait (TLS only); whether none is left.
    pub(crate) fn flush_pending(&self, counted: &ServerCounters) -> io::Result<bool> {
        match self {
            Sink::Plain(_) => Ok(true),
            Sink::Tls { tcp, session } => push(&mut lock(session), tcp, counted),
        }
    }

    /// Whether records wait that the socket did not take yet.
    pub(crate) fn pending(&self) -> bool {
        match self {
            Sink::Plain(_) => false,
            Sink::Tls { session, .. } => lock(session).wants_write(),
        }
    }

    /// The socket's sending side.
    pub(crate) fn tcp(&self) -> &OwnedWriteHalf {
        match self {
            Sink::Plain(tcp) | Sink::Tls { tcp, .. } => tcp,
        }
    }
}

impl Drop for Sink {
    /// Says goodbye at the TLS level (close_notify) if the socket takes it now.
    fn drop(&mut self) {
        if let Sink::Tls { tcp, session } = self {
            let mut s = lock(session);
            s.send_close_notify();
            let _ = s.write_tls(&mut Socket(tcp));
        }
    }
}

fn lock(session: &Session) -> MutexGuard<'_, ServerConnection> {
    session
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes the session's records as far as the socket takes them; whether none is left.
fn push(
    s: &mut ServerConnection,
    tcp: &OwnedWriteHalf,
    counted: &ServerCounters,
) -> io::Result<bool> {
    while s.wants_write() {
        match s.write_tls(&mut Socket(tcp)) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => counted.add_written(n as u64),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// The socket's sending side as a non-blocking `Write`.
struct Socket<'a>(&'a OwnedWriteHalf);

impl Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A connection's receiving side over TLS: records read from the socket as they are
/// needed, opened by the shared session; what the session must answer (alerts, key
/// updates) goes out through the outbox, in order with the frames.
pub(crate) struct Reader {
    tcp: OwnedReadHalf,
    session: Session,
    outbox: Arc<Outbox>,
    counters: Arc<ServerCounters>,
    eof: bool,
}

impl Reader {
    pub(crate) fn new(
        tcp: OwnedReadHalf,
        session: Session,
        outbox: Arc<Outbox>,
        counters: Arc<ServerCounters>,
    ) -> Reader {
        Reader {
            tcp,
            session,
            outbox,
            counters,
            eof: false,
        }
    }
}

impl AsyncRead for Reader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let answer = {
                let mut s = lock(&this.session);
                match s.reader().read(out.initialize_unfilled()) {
                    Ok(n) => {
                        out.advance(n);
                        return Poll::Ready(Ok(()));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
                if this.eof {
                    return Poll::Ready(Ok(()));
                }
                let mut from = Counted(&this.tcp, &this.counters);
                match s.read_tls(&mut from) {
                    Ok(0) => this.eof = true,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        drop(s);
                        match this.tcp.as_ref().poll_read_ready(cx) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(ready) => {
                                ready?;
                                continue;
                            }
                        }
                    }
                    Err(e) => return Poll::Ready(Err(e)),
                }
                let opened = s.process_new_packets();
                let answer = s.wants_write();
                if let Err(e) = opened {
                    drop(s);
                    this.outbox.flush_now();
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
                }
                answer
            };
            if answer {
                this.outbox.flush_now();
            }
        }
    }
}

/// The socket's receiving side as a non-blocking `Read`, counting what it reads.
struct Counted<'a>(&'a OwnedReadHalf, &'a ServerCounters);

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.try_read(buf)?;
        self.1.add_read(n as u64);
        Ok(n)
    }
}
