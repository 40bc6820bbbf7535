//! The receiver's io_uring: one ring per worker thread, one multishot `RECV` per connection
//! (the kernel re-arms it itself while `F_MORE` says so) into a ring of provided buffers,
//! and an eventfd the ring signals, which the worker's tokio reactor watches beside its
//! timers and connects. A read costs no syscall of its own: each wakeup reaps every
//! completion that has piled up (docs/method.md, "The load generator's I/O").
//!
//! The ring is set up for one thread that defers the kernel's completion work to its own
//! `io_uring_enter` (`SINGLE_ISSUER | DEFER_TASKRUN`, Linux 6.1; the registered eventfd is
//! then signalled when work is queued); where the kernel refuses that, a plain ring.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::{IoUring, cqueue, opcode, types};

/// Provided buffers: how many (a power of two), and their size. 2 MiB a worker, fixed,
/// whatever the number of clients; a read larger than a buffer continues in the next.
const BUFFERS: u16 = 2048;
const BUFFER_SIZE: usize = 1024;
/// The buffer group the receives take from.
const GROUP: u16 = 0;
/// Submission entries (arming and cancelling only) and completion entries (a wakeup's
/// worth of reads; the kernel keeps any overflow and posts it later).
const SQ_ENTRIES: u32 = 256;
pub(crate) const CQ_ENTRIES: u32 = 16 * 1024;
/// `IORING_ENTER_GETEVENTS`: run the deferred completion work.
const ENTER_GETEVENTS: u32 = 1;
/// The user data of a cancellation's own completion.
pub(crate) const CANCEL: u64 = u64::MAX;

/// A completion: whose (the user data), how many bytes or which error, and flags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    pub user_data: u64,
    pub result: i32,
    pub flags: u32,
}

impl Completion {
    /// The buffer holding the bytes, if some were read into one.
    pub fn buffer(&self) -> Option<u16> {
        cqueue::buffer_select(self.flags)
    }

    /// Whether the receive stays armed.
    pub fn more(&self) -> bool {
        cqueue::more(self.flags)
    }
}

/// Anonymous memory of `len` bytes, page-aligned (the buffer ring must be).
struct Mapping {
    at: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> io::Result<Mapping> {
        // SAFETY: an anonymous private mapping; checked for failure below.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if at == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { at: at.cast(), len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: mapped in `new`, with this length; nothing refers to it any more (the
        // ring, which the kernel wrote through, is dropped first: see `Ring`'s fields).
        unsafe { libc::munmap(self.at.cast(), self.len) };
    }
}

/// A worker's ring, its provided buffers and its eventfd.
pub(crate) struct Ring {
    // Dropped in this order: the ring (its requests end with it) before the memory the
    // kernel wrote into.
    ring: IoUring,
    entries: Mapping,
    buffers: Mapping,
    /// The buffer ring's tail as this side has written it.
    tail: u16,
    eventfd: OwnedFd,
    /// Receives armed whose last completion has not come.
    pub armed: usize,
}

impl Ring {
    /// A ring with its buffers provided and its eventfd registered; an error where the
    /// kernel has no io_uring, or forbids it (`io_uring_disabled`, a seccomp filter).
    pub fn new() -> io::Result<Ring> {
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_cqsize(CQ_ENTRIES)
            .build(SQ_ENTRIES)
            .or_else(|_| {
                IoUring::builder()
                    .setup_cqsize(CQ_ENTRIES)
                    .build(SQ_ENTRIES)
            })?;
        // SAFETY: eventfd(2) returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is new and owned here alone.
        let eventfd = unsafe { OwnedFd::from_raw_fd(fd) };
        ring.submitter().register_eventfd(fd)?;
        let entries = Mapping::new(usize::from(BUFFERS) * size_of::<types::BufRingEntry>())?;
        let buffers = Mapping::new(usize::from(BUFFERS) * BUFFER_SIZE)?;
        // SAFETY: the entries' memory is page-aligned, `BUFFERS` entries long, and lives
        // as long as the ring (field order).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(entries.at as u64, BUFFERS, GROUP, 0)?;
        }
        let mut ring = Ring {
            ring,
            entries,
            buffers,
            tail: 0,
            eventfd,
            armed: 0,
        };
        for bid in 0..BUFFERS {
            ring.provide(bid);
        }
        ring.publish();
        Ok(ring)
    }

    /// The eventfd the ring signals when it has work for this thread.
    pub fn eventfd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    /// Queues a multishot receive on `fd`, its completions carrying `user_data` (submitted
    /// at the next [`Ring::enter`]).
    pub fn arm(&mut self, fd: RawFd, user_data: u64) -> io::Result<()> {
        let entry = opcode::RecvMulti::new(types::Fd(fd), GROUP)
            .build()
            .user_data(user_data);
        self.push(&entry)?;
        self.armed += 1;
        Ok(())
    }

    /// Queues the cancellation of the receive of `user_data` (its last completion still
    /// comes, `ECANCELED`).
    pub fn cancel(&mut self, user_data: u64) -> io::Result<()> {
        let entry = opcode::AsyncCancel::new(user_data)
            .build()
            .user_data(CANCEL);
        self.push(&entry)
    }

    fn push(&mut self, entry: &io_uring::squeue::Entry) -> io::Result<()> {
        // SAFETY: the entries point at nothing of this side's memory (buffers are the
        // provided ones, registered for the ring's life).
        while unsafe { self.ring.submission().push(entry) }.is_err() {
            self.enter()?;
        }
        Ok(())
    }

    /// Submits what is queued and runs the kernel's deferred completion work, so that
    /// every completion ready is in the completion queue.
    pub fn enter(&mut self) -> io::Result<()> {
        let queued = self.ring.submission().len() as u32;
        // SAFETY: no argument is passed.
        match unsafe {
            self.ring
                .submitter()
                .enter::<libc::sigset_t>(queued, 0, ENTER_GETEVENTS, None)
        } {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Moves every completion ready into `out`.
    pub fn reap(&mut self, out: &mut Vec<Completion>) {
        for cqe in self.ring.completion() {
            let c = Completion {
                user_data: cqe.user_data(),
                result: cqe.result(),
                flags: cqe.flags(),
            };
            if c.user_data != CANCEL && !c.more() {
                self.armed -= 1;
            }
            out.push(c);
        }
    }

    /// The `len` bytes read into buffer `bid`.
    pub fn bytes(&self, bid: u16, len: usize) -> &[u8] {
        assert!(bid < BUFFERS && len <= BUFFER_SIZE);
        // SAFETY: within the buffers' mapping; the kernel wrote these bytes and will not
        // touch the buffer again until it is given back (`recycle`).
        unsafe {
            std::slice::from_raw_parts(self.buffers.at.add(usize::from(bid) * BUFFER_SIZE), len)
        }
    }

    /// Gives buffer `bid` back to the kernel (seen by it at the next `publish`).
    pub fn recycle(&mut self, bid: u16) {
        self.provide(bid);
    }

    fn provide(&mut self, bid: u16) {
        let slot = usize::from(self.tail & (BUFFERS - 1));
        // SAFETY: `slot` is within the entries' mapping; the kernel reads entries only up
        // to the published tail, and this one is past it.
        unsafe {
            let entry = &mut *self.entries.at.cast::<types::BufRingEntry>().add(slot);
            entry.set_addr(self.buffers.at.add(usize::from(bid) * BUFFER_SIZE) as u64);
            entry.set_len(BUFFER_SIZE as u32);
            entry.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes the buffers given back visible to the kernel.
    pub fn publish(&self) {
        // SAFETY: the tail lives in the first entry's reserved field, a u16 the kernel
        // reads with acquire ordering.
        unsafe {
            let tail = types::BufRingEntry::tail(self.entries.at.cast()) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }
}
