//! A TCP stream that counts the bytes it moves, for wire-overhead figures.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Where a [`CountingStream`] adds its bytes: a load-generator worker's live counters, or a
/// server's counters, so that both ends count the same way.
pub trait ByteCounter: Send + Sync {
    /// `n` bytes were read from a socket.
    fn add_read(&self, n: u64);
    /// `n` bytes were written to a socket.
    fn add_written(&self, n: u64);
}

/// `TcpStream` (or one half of one) plus byte counting.
///
/// Counted at the socket, so the figure is what crossed the wire in TCP payload: frames,
/// headers, handshakes, pings, long-polling requests, everything a transport costs.
pub struct CountingStream<C: ByteCounter, S = TcpStream> {
    inner: S,
    counter: Arc<C>,
}

impl<C: ByteCounter, S> CountingStream<C, S> {
    /// Wraps `inner`, counting into `counter`.
    pub fn new(inner: S, counter: Arc<C>) -> Self {
        Self { inner, counter }
    }

    /// The socket itself (for addresses and options).
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The socket, no longer counted (for a caller that counts its own way from here on).
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<C: ByteCounter, S: AsyncRead + Unpin> AsyncRead for CountingStream<C, S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.counter.add_read(read as u64);
        }
        result
    }
}

impl<C: ByteCounter, S: AsyncWrite + Unpin> AsyncWrite for CountingStream<C, S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            self.counter.add_written(n as u64);
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = result {
            self.counter.add_written(n as u64);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[derive(Default)]
    struct Totals(AtomicU64, AtomicU64);

    impl ByteCounter for Totals {
        fn add_read(&self, n: u64) {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
        fn add_written(&self, n: u64) {
            self.1.fetch_add(n, Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn counts_both_directions() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(b"0123456789").await.unwrap();
        });
        let totals = Arc::new(Totals::default());
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut stream = CountingStream::new(tcp, totals.clone());
        stream.write_all(b"hello").await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        peer.await.unwrap();
        assert_eq!(got, b"0123456789");
        assert_eq!(totals.0.load(Ordering::Relaxed), 10);
        assert_eq!(totals.1.load(Ordering::Relaxed), 5);
    }
}
