//! A connection's socket as tungstenite sees it: reads from the socket itself, writes
//! through the connection's [`Outbox`], so that tungstenite's own frames (pongs, the close
//! frame) keep their place among the frames others wrote straight to the socket.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::either::Either;
use wsbench_core::ServerCounters;
use wsbench_core::counting::CountingStream;

use crate::outbox::Outbox;
use crate::tls;

pub(crate) struct Socket {
    read: Read,
    outbox: Arc<Outbox>,
}

/// The receiving side: the socket itself, or TLS over it.
type Read = Either<CountingStream<ServerCounters, OwnedReadHalf>, tls::Reader>;

impl Socket {
    pub(crate) fn new(
        read: OwnedReadHalf,
        outbox: Arc<Outbox>,
        counters: Arc<ServerCounters>,
    ) -> Socket {
        Socket {
            read: Either::Left(CountingStream::new(read, counters)),
            outbox,
        }
    }

    /// A socket whose bytes are records of `session`.
    pub(crate) fn over_tls(
        read: OwnedReadHalf,
        session: tls::Session,
        outbox: Arc<Outbox>,
        counters: Arc<ServerCounters>,
    ) -> Socket {
        Socket {
            read: Either::Right(tls::Reader::new(read, session, outbox.clone(), counters)),
            outbox,
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    /// tungstenite writes whole frames from its buffer; taking all of it at once keeps them
    /// whole in the outbox.
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.outbox.write_own(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.outbox.poll_flush(cx)
    }

    /// Flushes; the socket's sending side is shut when the outbox is dropped.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.outbox.poll_flush(cx)
    }
}
