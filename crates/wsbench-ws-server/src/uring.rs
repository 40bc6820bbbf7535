//! Writing a broadcast's share of recipients with one `io_uring_enter` (`wsbench serve ws
//! --io uring`; docs/method.md, "The floors"): each recipient whose frames wait gets one
//! SENDMSG entry gathering them, the share's entries are submitted together, and each
//! completion is applied to its recipient as `writev`'s result would be. Every entry is
//! flagged `MSG_DONTWAIT`, so the kernel either sends at once or answers `EAGAIN`: nothing
//! is left in flight, and a recipient's queue is locked only for the one call. Where the
//! kernel refuses a ring the recipients are written one `send` each, as on the epoll path.

use std::cell::RefCell;
use std::sync::Arc;

use io_uring::{IoUring, opcode, types};

use crate::outbox::{GATHER, Held, Outbox};

/// Recipients one submission writes: a flush task's share between two yields
/// ([`crate::group`]). Its entries, iovecs and headers live on the stack: nothing is
/// allocated per broadcast.
const BATCH: usize = 16;
/// Entries a ring holds: a batch and then some.
const ENTRIES: u32 = 64;

thread_local! {
    /// This thread's ring: made on first use; `None` once the kernel refused one.
    static RING: RefCell<Option<Option<IoUring>>> = const { RefCell::new(None) };
}

/// Whether this machine's kernel gives this process a ring (asked once at start, to say
/// which path the server writes by); why not where it does not.
pub(crate) fn available() -> Result<(), String> {
    ring()
        .map(drop)
        .map_err(|e| format!("cannot set up io_uring: {e}"))
}

/// A ring for one thread that submits and reaps itself (`SINGLE_ISSUER`, 6.0), a plain one
/// where the kernel does not know that flag.
fn ring() -> std::io::Result<IoUring> {
    IoUring::builder()
        .setup_single_issuer()
        .build(ENTRIES)
        .or_else(|_| IoUring::new(ENTRIES))
}

/// Writes what waits at each of `outboxes` as far as the sockets take it now, [`BATCH`]
/// recipients to a submission on this thread's ring where it has one; one `send` each
/// where not, and for a recipient whose queue another thread holds (that thread writes it).
pub(crate) fn flush(outboxes: &[Arc<Outbox>]) {
    let done = RING.with(|cell| {
        let mut cell = cell.borrow_mut();
        let Some(ring) = cell.get_or_insert_with(|| ring().ok()) else {
            return false;
        };
        for batch in outboxes.chunks(BATCH) {
            if submit(ring, batch).is_err() {
                // Nothing is in flight (see `submit`); from now on this thread sends.
                *cell = Some(None);
                return false;
            }
        }
        true
    });
    if !done {
        // A failed batch left its frames waiting: written here, as are the rest.
        outboxes.iter().for_each(|o| o.flush_now());
    }
}

/// One SENDMSG per recipient of `batch` whose queue it can hold, submitted together; every
/// completion reaped before the queues are let go (the others written one `send` each). A
/// failed submission (an error of the ring itself, not of a send) is returned once nothing
/// of it can still be in flight, the frames left waiting and their tasks woken.
fn submit(ring: &mut IoUring, batch: &[Arc<Outbox>]) -> std::io::Result<()> {
    let mut held: [Option<Held<'_>>; BATCH] = std::array::from_fn(|_| None);
    for (slot, outbox) in held.iter_mut().zip(batch) {
        *slot = outbox.hold();
    }
    let others: [bool; BATCH] = std::array::from_fn(|i| held[i].is_none());
    let sent = send_held(ring, &mut held);
    // Held by another thread now (it writes them), or with nothing waiting: as before.
    for (other, outbox) in others.iter().zip(batch) {
        if *other {
            outbox.flush_now();
        }
    }
    sent
}

fn send_held(ring: &mut IoUring, held: &mut [Option<Held<'_>>; BATCH]) -> std::io::Result<()> {
    let empty = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut iovecs = [empty; BATCH * GATHER];
    // SAFETY: a zeroed msghdr is a valid empty one.
    let mut headers: [libc::msghdr; BATCH] = unsafe { std::mem::zeroed() };
    let mut results: [Option<i32>; BATCH] = [None; BATCH];
    let mut submitted = 0;
    for (i, h) in held.iter().enumerate() {
        let Some(h) = h else { continue };
        let iov = &mut iovecs[i * GATHER..(i + 1) * GATHER];
        headers[i].msg_iovlen = h.slices(iov);
        headers[i].msg_iov = iov.as_mut_ptr();
        let entry = opcode::SendMsg::new(types::Fd(h.fd), &headers[i])
            .flags((libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) as u32)
            .build()
            .user_data(i as u64);
        // SAFETY: the headers, the iovecs and the frames they point at (held under each
        // recipient's lock) outlive the entry: every completion is reaped below before
        // they are let go, and MSG_DONTWAIT keeps the kernel from holding one for later.
        unsafe { ring.submission().push(&entry) }.expect("a batch fits the ring");
        submitted += 1;
    }
    let mut reaped = 0;
    let mut failed = None;
    while reaped < submitted {
        let entered = ring.submit_and_wait(submitted - reaped);
        // What completed is applied even after an error: a send the kernel made is not
        // made again.
        for cqe in ring.completion() {
            if let Some(slot) = results.get_mut(cqe.user_data() as usize) {
                *slot = Some(cqe.result());
                reaped += 1;
            }
        }
        match entered {
            Err(e) if e.kind() != std::io::ErrorKind::Interrupted => {
                // Entries not submitted go with the ring, which the caller drops.
                failed = Some(e);
                break;
            }
            _ => {}
        }
    }
    for (h, result) in held.iter_mut().zip(results) {
        if let Some(h) = h.take() {
            h.finish(result.unwrap_or(-libc::EAGAIN));
        }
    }
    failed.map_or(Ok(()), Err)
}
