//! Each connection's flow control, below hyper and engine.io, where the bytes move
//! (docs/method.md, "Bounds and policies").
//!
//! Two things socketioxide does not do, done at the socket:
//!
//! - **A client that does not read is not read.** tungstenite queues a pong for every ping
//!   without bound (its write buffer is unbounded, and engine.io does not set one), and
//!   every echo request queues its answer: a client that sends and never reads grows the
//!   server until the heartbeat ends it. Once a write finds the socket full, the connection
//!   reads at most [`QueueBytes::per_connection`] more bytes (and the server at most
//!   [`QueueBytes::server`] over every such connection) until the socket takes writes again:
//!   the client is pushed back on through TCP, and what its requests queue stays bounded.
//! - **A burst is relayed no faster than it can be written.** The relay runs on the
//!   sender's reading path, and a burst already in the read buffer is relayed event after
//!   event without a pause, faster than a receiver's writer task (a frame and often a
//!   `send` per packet) empties its 1,024-packet queue: events were dropped for a receiver
//!   that kept up. So a relay that finds a recipient's writer half a queue behind, for a
//!   client that reads, makes the sender wait before it reads more (see `link.rs`), and
//!   after [`RELAYS_PER_TURN`] relays the reading task yields to the writers anyway.
//! - **A socket that takes no write for engine.io's whole heartbeat window is ended.**
//!   engine.io's heartbeat closes such a session, but its close waits for the session's
//!   writer, which waits for the socket: the session (and its memory) stayed for good. So
//!   a socket whose writes have been refused for `ping_interval + ping_timeout` fails.

use std::cell::Cell;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wsbench_core::ServerCounters;
use wsbench_core::bounds::{QueueBytes, Waiting};
use wsbench_core::counting::CountingStream;

use crate::link::{self, Link};

/// Relays (or echoes) a reading task makes before it yields to the writers: well under the
/// 1,024 packets a receiver's queue holds.
pub(crate) const RELAYS_PER_TURN: u32 = 64;

thread_local! {
    /// Relays made on this thread since its reading task last yielded. Relays run on the
    /// reading task's thread, inside its read, so the next read on this thread is theirs.
    static RELAYS: Cell<u32> = const { Cell::new(0) };
}

/// Counts one relay (or echo) made on this thread's reading path.
pub(crate) fn relayed() {
    RELAYS.with(|r| r.set(r.get().saturating_add(1)));
}

/// Whether the reading task should yield now (and the count starts again).
fn turn_over() -> bool {
    RELAYS.with(|r| {
        let over = r.get() >= RELAYS_PER_TURN;
        if over {
            r.set(0);
        }
        over
    })
}

/// A client's socket with its flow control.
pub(crate) struct Flow {
    inner: CountingStream<ServerCounters>,
    /// What the session served over this socket shares with it.
    link: Arc<Link>,
    /// A recipient this socket's client waits for, and the owed bytes it waits down to.
    hold: Option<(Arc<Link>, u64)>,
    bounds: QueueBytes,
    /// Bytes read since a write found the socket full, if one did and it has not taken a
    /// write since.
    read_while_blocked: Option<u64>,
    /// The same over the whole server.
    server: Arc<Waiting>,
    /// How long writes may be refused before the socket fails, and the timer of the
    /// current refusal (armed at the first refused write, put by at the next that goes).
    stall: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
    /// A yield to the writers under way (tokio's own, which queues the task behind the
    /// others rather than in the slot that runs next).
    yielding: Option<Pin<Box<dyn Future<Output = ()> + Send + Sync>>>,
}

impl Flow {
    pub(crate) fn new(
        inner: CountingStream<ServerCounters>,
        link: Arc<Link>,
        bounds: QueueBytes,
        server: Arc<Waiting>,
        stall: Duration,
    ) -> Flow {
        Flow {
            inner,
            link,
            hold: None,
            stall,
            stalled: None,
            bounds,
            read_while_blocked: None,
            server,
            yielding: None,
        }
    }

    /// The socket took a write again (or may): reading is free again.
    fn unblock(&mut self) {
        if let Some(read) = self.read_while_blocked.take() {
            self.server.sub(read);
        }
    }

    /// Accounts a write's outcome; a write refused past the stall deadline becomes an
    /// error (and the connection's reading fails with it).
    fn wrote(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<std::io::Result<usize>>,
    ) -> Poll<std::io::Result<usize>> {
        match &result {
            Poll::Ready(Ok(n)) if *n > 0 => {
                self.unblock();
                self.stalled = None;
                self.link.wrote(*n as u64);
            }
            Poll::Pending => {
                self.link.refused();
                if self.read_while_blocked.is_none() {
                    self.read_while_blocked = Some(0);
                }
                let stall = self.stall;
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
                // Registers this writer to be woken at the deadline, too.
                if timer.as_mut().poll(cx).is_ready() {
                    self.link.kick();
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client read nothing for the whole heartbeat window",
                    )));
                }
            }
            _ => {}
        }
        result
    }

    /// Whether a recipient this client's relays found behind is behind still (then the
    /// task is registered to be woken when it moves).
    fn held(&mut self, cx: &Context<'_>) -> bool {
        if let Some(hold) = link::take_hold() {
            self.hold = Some(hold);
        }
        let Some((recipient, resume_at)) = &self.hold else {
            return false;
        };
        if recipient.behind(*resume_at) && !self.link.kicked() {
            recipient.wait(cx.waker());
            // It may have moved between the look and the registration.
            if recipient.behind(*resume_at) {
                return true;
            }
        }
        self.hold = None;
        false
    }

    /// Whether reading must wait for the socket to take writes again.
    fn over_bound(&self) -> bool {
        self.read_while_blocked.is_some_and(|read| {
            read >= self.bounds.per_connection || self.server.bytes() >= self.bounds.server
        })
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.unblock();
        // No sender waits for a connection that is gone.
        self.link.refused();
    }
}

impl AsyncRead for Flow {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.link.register_reader(cx.waker());
        if self.link.kicked() {
            return Poll::Ready(Err(kicked()));
        }
        if self.held(cx) {
            return Poll::Pending;
        }
        if self.yielding.is_none() && turn_over() {
            self.yielding = Some(Box::pin(tokio::task::yield_now()));
        }
        if let Some(yielding) = &mut self.yielding {
            if yielding.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.yielding = None;
        }
        if self.over_bound() {
            match self.inner.get_ref().poll_write_ready(cx) {
                Poll::Ready(_) => self.unblock(),
                Poll::Pending => return Poll::Pending,
            }
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        if let Some(so_far) = &mut self.read_while_blocked {
            *so_far += read;
            self.server.add(read);
        }
        result
    }
}

/// The error a kicked connection's socket fails with, which ends its session.
fn kicked() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "disconnected: a slow consumer",
    )
}

impl AsyncWrite for Flow {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.link.kicked() {
            return Poll::Ready(Err(kicked()));
        }
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if self.link.kicked() {
            return Poll::Ready(Err(kicked()));
        }
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(cx, result)
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
