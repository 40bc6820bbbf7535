//! A turn of the receiver: what it does each time its backend signals, taking everything
//! ready (io_uring completions, or sockets epoll reports) and handing the bytes to their
//! connections.

use wsbench_core::clock::monotonic_ns;
use wsbench_core::counting::ByteCounter;

use super::epoll::{EpollSet, Read};
use super::uring::{self, CANCEL, Completion, Ring};
use super::{Key, Slot, conn_of, feed};
use crate::plan::Timeline;
use crate::worker::WorkerCtx;

/// Reaps every completion of `ring` ready and handles it.
pub(super) fn uring_turn(
    ctx: &WorkerCtx,
    ring: &mut Ring,
    completions: &mut Vec<Completion>,
    slots: &mut [Slot],
    timeline: Option<&Timeline>,
) {
    // A full completion queue may have left completions in the kernel's overflow list,
    // which no eventfd signal announces again: enter until the queue is not full.
    loop {
        if let Err(e) = ring.enter() {
            tracing::error!("io_uring_enter failed in the receiver: {e}");
        }
        let before = completions.len();
        ring.reap(completions);
        if completions.len() - before < uring::CQ_ENTRIES as usize {
            break;
        }
    }
    let now = monotonic_ns();
    let mut rearm = Vec::new();
    for c in completions.drain(..) {
        if c.user_data == CANCEL {
            continue;
        }
        let key = Key::of(c.user_data);
        let bid = c.buffer();
        if let Some(conn) = conn_of(slots, key) {
            match (c.result, bid) {
                (n, Some(bid)) if n > 0 => {
                    ctx.live.add_read(n as u64);
                    feed(ctx, conn, ring.bytes(bid, n as usize), timeline, now);
                }
                // Out of buffers for now: the bytes wait in the socket.
                (n, _) if n == -libc::ENOBUFS => {}
                _ => conn.end(),
            }
            if !c.more() && !conn.closed {
                rearm.push((key, conn.fd));
            }
        }
        if let Some(bid) = bid {
            ring.recycle(bid);
        }
    }
    ring.publish();
    for (key, fd) in rearm {
        if let Err(e) = ring.arm(fd, key.user_data()).and_then(|()| ring.enter()) {
            tracing::error!("cannot re-arm a receive: {e}");
            if let Some(conn) = conn_of(slots, key) {
                conn.end();
            }
        }
    }
}

/// Reads every socket of `set` ready now once, and again while the set may hold more.
pub(super) fn epoll_turn(
    ctx: &WorkerCtx,
    set: &mut EpollSet,
    ready: &mut Vec<u64>,
    slots: &mut [Slot],
    timeline: Option<&Timeline>,
) {
    loop {
        ready.clear();
        let mut more = set.ready(ready);
        let now = monotonic_ns();
        for &user_data in ready.iter() {
            let Some(conn) = conn_of(slots, Key::of(user_data)) else {
                continue;
            };
            if conn.closed {
                continue;
            }
            let (read, full) = set.read(conn.fd);
            more |= full;
            match read {
                Read::Bytes(bytes) => {
                    ctx.live.add_read(bytes.len() as u64);
                    feed(ctx, conn, bytes, timeline, now);
                }
                Read::Nothing => {}
                Read::End => conn.end(),
            }
        }
        if !more {
            return;
        }
    }
}
