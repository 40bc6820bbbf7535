//! The receiver's epoll: one epoll set per worker thread holding its connections'
//! sockets (level-triggered, for reading), nested in the worker's tokio reactor as one
//! descriptor; each wakeup takes every ready socket and reads each once with `recv` into
//! one scratch buffer. The wakeup a server's `send` pays for on loopback is epoll's
//! cheapest one (docs/method.md, "The load generator's I/O").

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Ready sockets taken per `epoll_wait`.
const EVENTS: usize = 1024;
/// Bytes read from one socket at once (a read that fills it is followed by another at the
/// next wait: the set is level-triggered).
const SCRATCH: usize = 64 * 1024;

/// What one read of a ready socket found.
pub(crate) enum Read<'a> {
    /// Bytes.
    Bytes(&'a [u8]),
    /// Nothing now (another reader took it, or a spurious wakeup).
    Nothing,
    /// The end of the stream, or an error: the connection is over.
    End,
}

/// A worker's epoll set and its read buffer.
pub(crate) struct EpollSet {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
    scratch: Vec<u8>,
}

impl EpollSet {
    pub fn new() -> io::Result<EpollSet> {
        // SAFETY: epoll_create1 returns a new descriptor or -1.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(EpollSet {
            // SAFETY: `fd` is new and owned here alone.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            events: vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS],
            scratch: vec![0; SCRATCH],
        })
    }

    /// The set's descriptor, readable while a socket in it is.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Adds socket `fd`, its readiness carrying `user_data`.
    pub fn add(&self, fd: RawFd, user_data: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
            u64: user_data,
        };
        // SAFETY: `event` is a valid epoll_event for the call.
        if unsafe { libc::epoll_ctl(self.fd(), libc::EPOLL_CTL_ADD, fd, &mut event) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Removes socket `fd` (a socket closed first has left the set by itself).
    pub fn remove(&self, fd: RawFd) {
        // SAFETY: a null event is allowed for EPOLL_CTL_DEL.
        unsafe { libc::epoll_ctl(self.fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
    }

    /// The user data of the sockets ready now (without waiting), into `out`; whether the
    /// set may hold more (as many were taken as fit).
    pub fn ready(&mut self, out: &mut Vec<u64>) -> bool {
        // SAFETY: `events` has room for `EVENTS` entries.
        let n = unsafe { libc::epoll_wait(self.fd(), self.events.as_mut_ptr(), EVENTS as i32, 0) };
        let n = usize::try_from(n).unwrap_or(0);
        out.extend(self.events[..n].iter().map(|e| e.u64));
        n == EVENTS
    }

    /// Reads socket `fd` once; whether the read filled the buffer comes with it (then
    /// more may be waiting).
    pub fn read(&mut self, fd: RawFd) -> (Read<'_>, bool) {
        // SAFETY: reads at most the scratch buffer's length into it.
        let n = unsafe {
            libc::recv(
                fd,
                self.scratch.as_mut_ptr().cast(),
                SCRATCH,
                libc::MSG_DONTWAIT,
            )
        };
        match n {
            0 => (Read::End, false),
            n if n > 0 => {
                let n = n as usize;
                (Read::Bytes(&self.scratch[..n]), n == SCRATCH)
            }
            _ => match io::Error::last_os_error().kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => (Read::Nothing, false),
                _ => (Read::End, false),
            },
        }
    }
}
