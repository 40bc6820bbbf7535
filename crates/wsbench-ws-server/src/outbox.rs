//! Each connection's outbox: where the others put its messages, written to its socket by
//! whoever offers them. A broadcaster to a small group writes an encoded frame straight to
//! a recipient's socket when nothing is waiting before it, so a delivery costs one `send`
//! and no task wakeup; a large group's round queues its frames here for a flush task
//! ([`crate::group`]). What the kernel does not take at once waits in a bounded queue that
//! the connection's own task writes when the socket is writable again. Why: per-delivery
//! wakeups and per-recipient encoding were most of the server's user time
//! (docs/cost-breakdown.md).

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures_util::task::AtomicWaker;
use wsbench_core::bounds::{self, QueueBytes};
use wsbench_core::counting::ByteCounter;
use wsbench_core::{OverflowPolicy, ServerCounters};

use crate::tls::Sink;

/// Most entries one write gathers.
pub(crate) const GATHER: usize = 32;

/// [`Outbox::stop_reason`]: the client does not keep up (disconnect policy).
pub(crate) const KICKED: u8 = 1;
/// [`Outbox::stop_reason`]: the server is shutting down.
pub(crate) const SHUT_DOWN: u8 = 2;

/// One connection as the others see it: its socket's sending side, the frames the kernel
/// has not taken yet, how to wake its task, and how to end it. Its queue holds no memory
/// until the socket first refuses a write.
pub(crate) struct Outbox {
    socket: Sink,
    waiting: Mutex<Waiting>,
    capacity: usize,
    /// Bytes that may wait here, and over the whole server.
    bytes: QueueBytes,
    /// Where written bytes are counted (the server's wire figures).
    counters: Arc<ServerCounters>,
    /// The connection's task, woken when frames start waiting or it is kicked.
    waker: AtomicWaker,
    /// Why the connection must end now, if it must: [`KICKED`] or [`SHUT_DOWN`].
    stop: AtomicU8,
    /// Set when the connection ends: it is no longer a recipient.
    closed: AtomicBool,
}

/// Frames not yet written, in order: each entry one or more whole frames (a batch that
/// arrived together, see [`crate::frame::batch`]) with how many data frames it holds.
struct Waiting {
    frames: VecDeque<(Bytes, u64)>,
    /// Data frames waiting, over all entries: what the capacity bounds.
    queued: u64,
    /// Bytes waiting, control frames included: what [`QueueBytes::per_connection`] bounds.
    bytes: u64,
    /// The server's tally of waiting bytes, which these are part of.
    server: Arc<bounds::Waiting>,
    /// Whether the front entry is partly written already.
    begun: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.server.sub(self.bytes);
    }
}

impl Waiting {
    /// Writes what waits, up to [`GATHER`] entries in one `writev`, as far as the socket
    /// takes it; `Ok(false)` when it takes nothing more now. Entries that queued up while
    /// the connection waited for a turn (a busy machine) go out in one segment rather than
    /// one each, which is what lets the server and its clients catch up.
    fn write_waiting(&mut self, socket: &Sink, counted: &ServerCounters) -> io::Result<bool> {
        let k = self.frames.len().min(GATHER);
        if k == 0 {
            // Records of frames taken before may still wait (TLS).
            return socket.flush_pending(counted).map(|_| false);
        }
        let mut iov = [IoSlice::new(&[]); GATHER];
        for (slot, (entry, _)) in iov.iter_mut().zip(&self.frames) {
            *slot = IoSlice::new(entry);
        }
        match socket.try_write_vectored(&iov[..k], counted) {
            Ok(0) => Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                self.bytes -= n as u64;
                self.server.sub(n as u64);
                self.consume(n);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Takes `n` written bytes off the front entries.
    fn consume(&mut self, mut n: usize) {
        while let Some((front, _)) = self.frames.front_mut() {
            if n < front.len() {
                front.advance(n);
                if n > 0 {
                    self.begun = true;
                }
                return;
            }
            n -= front.len();
            self.begun = false;
            self.pop_front();
        }
    }

    fn push_back(&mut self, entry: Bytes, frames: u64) {
        self.queued += frames;
        self.bytes += entry.len() as u64;
        self.server.add(entry.len() as u64);
        self.frames.push_back((entry, frames));
    }

    /// Takes the front entry off once written (nothing of it left to count).
    fn pop_front(&mut self) {
        if let Some((_, frames)) = self.frames.pop_front() {
            self.queued -= frames;
        }
    }

    /// Drops the last entry, written or not.
    fn pop_back(&mut self) {
        if let Some((rest, frames)) = self.frames.pop_back() {
            self.queued -= frames;
            self.bytes -= rest.len() as u64;
            self.server.sub(rest.len() as u64);
        }
    }

    /// Whether `count` more data frames of `len` bytes would pass a bound. Nothing waiting,
    /// they pass: a message larger than the byte bound still reaches a client that keeps
    /// up.
    fn would_overflow(&self, count: u64, len: u64, capacity: usize, bytes: QueueBytes) -> bool {
        self.queued + count > capacity as u64
            || (!self.frames.is_empty()
                && (self.bytes + len > bytes.per_connection
                    || self.server.bytes() + len > bytes.server))
    }
}

impl Outbox {
    /// An outbox writing to `socket` (or TLS over it), in which at most `capacity` data frames and `bytes`
    /// may wait (`server` tallies the bytes waiting over the whole server).
    pub(crate) fn new(
        socket: Sink,
        capacity: usize,
        bytes: QueueBytes,
        server: Arc<bounds::Waiting>,
        counters: Arc<ServerCounters>,
    ) -> Outbox {
        let waiting = Waiting {
            frames: VecDeque::new(),
            queued: 0,
            bytes: 0,
            server,
            begun: false,
        };
        Outbox {
            socket,
            waiting: Mutex::new(waiting),
            capacity,
            bytes,
            counters,
            waker: AtomicWaker::new(),
            stop: AtomicU8::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Delivers `frames` (that many data frames back to back) without waiting: written now
    /// if nothing waits before them, queued otherwise; a queue that cannot take them all is
    /// handled by `policy` and counted in `counters`. Returns how many frames were taken.
    pub(crate) fn offer(
        &self,
        frames: &Bytes,
        count: u64,
        policy: OverflowPolicy,
        counters: &ServerCounters,
    ) -> u64 {
        self.take(frames, count, policy, counters, true)
    }

    /// Queues `frame` behind what waits, for [`Outbox::flush_now`] (or the connection's
    /// task) to write: how a large broadcast hands recipients to other threads and still
    /// keeps each recipient's order. The caller must see that `flush_now` runs.
    pub(crate) fn enqueue(
        &self,
        frames: &Bytes,
        count: u64,
        policy: OverflowPolicy,
        counters: &ServerCounters,
    ) -> u64 {
        self.take(frames, count, policy, counters, false)
    }

    fn take(
        &self,
        frames: &Bytes,
        count: u64,
        policy: OverflowPolicy,
        counters: &ServerCounters,
        write: bool,
    ) -> u64 {
        if self.closed.load(Ordering::Relaxed) {
            return 0;
        }
        let mut waiting = self.lock();
        if waiting.would_overflow(count, frames.len() as u64, self.capacity, self.bytes) {
            drop(waiting);
            counters.deliveries_dropped(count);
            if policy == OverflowPolicy::Disconnect && self.stop_with(KICKED) {
                counters.slow_client_disconnected();
            }
            return 0;
        }
        if write {
            self.write_or_queue(&mut waiting, frames.clone(), count);
        } else {
            waiting.push_back(frames.clone(), count);
        }
        count
    }

    /// Writes what waits as far as the socket takes it now; what it does not take is left
    /// to the connection's task, woken for it.
    pub(crate) fn flush_now(&self) {
        let mut waiting = self.lock();
        // An error leaves the frames for the task, whose own write finds it again.
        let _ = self.write_all(&mut waiting);
        if !waiting.frames.is_empty() || self.socket.pending() {
            self.waker.wake();
        }
    }

    /// Takes bytes tungstenite writes itself (pongs, close frames), in order with the rest.
    /// Never refuses (they are control frames, one at a time); a client whose pongs back
    /// up is not read until it reads them ([`Outbox::backed_up`]).
    pub(crate) fn write_own(&self, bytes: &[u8]) {
        let mut waiting = self.lock();
        self.write_or_queue(&mut waiting, Bytes::copy_from_slice(bytes), 0);
    }

    /// Writes `frame` at once if nothing waits and the socket takes it; what it does not
    /// take waits, and the connection's task is woken to write it when it can.
    fn write_or_queue(&self, waiting: &mut Waiting, frame: Bytes, count: u64) {
        let first = waiting.frames.is_empty();
        waiting.push_back(frame, count);
        if first {
            // An error (would block, or broken) leaves the frame for the task, whose own
            // write finds out which.
            let _ = waiting.write_waiting(&self.socket, &self.counters);
            if !waiting.frames.is_empty() || self.socket.pending() {
                self.waker.wake();
            }
        }
        // Otherwise frames already waited, and whoever queued the first sees them written:
        // the task, woken for it, or the broadcast's flush.
    }

    /// Writes what waits until nothing does or the socket takes no more now.
    fn write_all(&self, waiting: &mut Waiting) -> io::Result<()> {
        while waiting.write_waiting(&self.socket, &self.counters)? {}
        Ok(())
    }

    /// Writes what waits until nothing does (ready) or the socket is full (pending, woken
    /// when it is writable again). Only the connection's task calls this.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            {
                let mut waiting = self.lock();
                self.write_all(&mut waiting)?;
                if waiting.frames.is_empty() && !self.socket.pending() {
                    return Poll::Ready(Ok(()));
                }
            }
            if self
                .socket
                .tcp()
                .as_ref()
                .poll_write_ready(cx)?
                .is_pending()
            {
                return Poll::Pending;
            }
        }
    }

    /// Drops what waits, except the rest of a frame already begun (the stream must stay
    /// well-formed for the close frame after it).
    pub(crate) fn discard_waiting(&self) {
        let mut waiting = self.lock();
        let keep = usize::from(waiting.begun);
        while waiting.frames.len() > keep {
            waiting.pop_back();
        }
    }

    /// Whether as many bytes wait as the connection may have: then its client is not read
    /// (its pings and echo requests would only add to them) until it reads.
    pub(crate) fn backed_up(&self) -> bool {
        self.lock().bytes >= self.bytes.per_connection
    }

    /// Registers the connection's task to be woken when frames start waiting or it is kicked.
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    /// Why the connection must end now: [`KICKED`], [`SHUT_DOWN`], or 0 if it need not.
    pub(crate) fn stop_reason(&self) -> u8 {
        self.stop.load(Ordering::Relaxed)
    }

    /// Asks the connection to end for `reason`; returns whether it was the first to.
    pub(crate) fn stop_with(&self, reason: u8) -> bool {
        let first = self
            .stop
            .compare_exchange(0, reason, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if first {
            self.waker.wake();
        }
        first
    }

    /// The connection is ending: nothing more is offered.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap()
    }

    /// What waits here, held for a batched write ([`crate::uring`]): `None` when nothing
    /// waits, the socket is TLS's, or another thread holds the queue now (it writes it).
    /// Held, no one else writes to the socket, so the frames keep their order.
    pub(crate) fn hold(&self) -> Option<Held<'_>> {
        let Sink::Plain(tcp) = &self.socket else {
            return None;
        };
        let waiting = self.waiting.try_lock().ok()?;
        if waiting.frames.is_empty() {
            return None;
        }
        Some(Held {
            outbox: self,
            fd: std::os::fd::AsRawFd::as_raw_fd(tcp.as_ref()),
            waiting,
        })
    }
}

/// An outbox's waiting frames, held for one batched write: its queue locked until the
/// kernel's answer is [`Held::finish`]ed.
pub(crate) struct Held<'a> {
    outbox: &'a Outbox,
    waiting: MutexGuard<'a, Waiting>,
    /// The socket's descriptor.
    pub(crate) fd: std::os::fd::RawFd,
}

impl Held<'_> {
    /// Points `iov` at the frames waiting, front first, as many as fit ([`GATHER`] at
    /// most); how many it filled.
    pub(crate) fn slices(&self, iov: &mut [libc::iovec]) -> usize {
        let mut n = 0;
        for (slot, (entry, _)) in iov.iter_mut().zip(&self.waiting.frames).take(GATHER) {
            *slot = libc::iovec {
                iov_base: entry.as_ptr() as *mut libc::c_void,
                iov_len: entry.len(),
            };
            n += 1;
        }
        n
    }

    /// The kernel's answer to the write: bytes taken, or `-errno`. What it did not take
    /// (a full socket, an error) is left to the connection's task, woken for it, whose own
    /// write finds out which.
    pub(crate) fn finish(mut self, result: i32) {
        if result > 0 {
            let n = result as usize;
            self.outbox.counters.add_written(n as u64);
            self.waiting.bytes -= n as u64;
            self.waiting.server.sub(n as u64);
            self.waiting.consume(n);
        }
        if !self.waiting.frames.is_empty() {
            self.outbox.waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::tcp::OwnedWriteHalf;
    use tokio::net::{TcpListener, TcpStream};

    async fn pair() -> (TcpStream, OwnedWriteHalf) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (_read, write) = accepted.unwrap().0.into_split();
        (client.unwrap(), write)
    }

    /// What queued up goes out in one gathered write, in order, every byte counted; a
    /// partly written entry is kept as begun and finished first.
    #[tokio::test]
    async fn waiting_frames_go_out_together_in_order() {
        let (mut client, write) = pair().await;
        let counters = Arc::new(ServerCounters::default());
        let server = Arc::new(bounds::Waiting::default());
        let outbox = Outbox::new(
            Sink::Plain(write),
            16,
            QueueBytes::default(),
            server.clone(),
            counters.clone(),
        );
        for frame in ["ab", "cde", "f"] {
            let frame = Bytes::from_static(frame.as_bytes());
            outbox.enqueue(&frame, 1, OverflowPolicy::Drop, &counters);
        }
        assert_eq!(server.bytes(), 6);
        outbox.flush_now();
        let mut got = [0u8; 6];
        tokio::time::timeout(Duration::from_secs(10), client.read_exact(&mut got))
            .await
            .expect("the frames arrive")
            .unwrap();
        assert_eq!(&got, b"abcdef");
        assert_eq!(counters.snapshot().bytes_written, 6);
        assert_eq!(server.bytes(), 0);

        let mut waiting = outbox.lock();
        waiting.push_back(Bytes::from_static(b"xyz"), 1);
        waiting.push_back(Bytes::from_static(b"uv"), 1);
        waiting.consume(4);
        assert_eq!((waiting.frames.len(), waiting.queued), (1, 1));
        assert_eq!(&waiting.frames[0].0[..], b"v");
        assert!(waiting.begun, "the rest of `uv` is begun");
        waiting.consume(1);
        assert!(waiting.frames.is_empty() && !waiting.begun);
    }
}
