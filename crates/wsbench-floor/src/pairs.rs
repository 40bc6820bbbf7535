//! What the floors share: connected loopback pairs, a thread's own CPU time, and the epoll
//! reader that takes every byte off many sockets.

use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

/// What a reader counted: its CPU time and the syscalls it made.
pub struct Reading {
    /// CPU time in user space.
    pub user: Duration,
    /// CPU time in the kernel.
    pub system: Duration,
    /// Reads (`recv`) or completions reaped (io_uring).
    pub reads: u64,
    /// `epoll_wait` or `io_uring_enter` calls.
    pub waits: u64,
}

/// `n` connected loopback TCP pairs, Nagle off on both ends: (one end each, the other
/// end each), the first ends non-blocking (the readers').
pub fn loopback_pairs(n: usize) -> std::io::Result<(Vec<TcpStream>, Vec<TcpStream>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let (mut readers, mut writers) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let r = TcpStream::connect(listener.local_addr()?)?;
        let (w, _) = listener.accept()?;
        r.set_nodelay(true)?;
        w.set_nodelay(true)?;
        r.set_nonblocking(true)?;
        readers.push(r);
        writers.push(w);
    }
    Ok((readers, writers))
}

/// epoll (level-triggered) and one `recv` per ready socket, until `bytes` have arrived.
pub fn read_epoll(sockets: Vec<TcpStream>, bytes: u64) -> std::io::Result<Reading> {
    let fds: Vec<RawFd> = sockets.iter().map(AsRawFd::as_raw_fd).collect();
    // SAFETY: plain syscalls on descriptors this function owns (through `sockets`) and on
    // buffers it owns; every result is checked.
    unsafe {
        let ep = check(libc::epoll_create1(libc::EPOLL_CLOEXEC))?;
        for (i, &fd) in fds.iter().enumerate() {
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: i as u64,
            };
            check(libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev))?;
        }
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
        let mut buf = [0u8; 4096];
        let (mut got, mut reads, mut waits) = (0u64, 0u64, 0u64);
        let cpu0 = thread_cpu();
        while got < bytes {
            let n = check(libc::epoll_wait(ep, events.as_mut_ptr(), 1024, 1000))?;
            waits += 1;
            for ev in &events[..n as usize] {
                let fd = fds[ev.u64 as usize];
                let r = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
                reads += 1;
                if r > 0 {
                    got += r as u64;
                }
            }
        }
        let cpu1 = thread_cpu();
        libc::close(ep);
        drop(sockets);
        Ok(Reading {
            user: cpu1.0 - cpu0.0,
            system: cpu1.1 - cpu0.1,
            reads,
            waits,
        })
    }
}

/// This thread's (user, kernel) CPU time so far.
pub fn thread_cpu() -> (Duration, Duration) {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        usage
    };
    let d = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (d(usage.ru_utime), d(usage.ru_stime))
}

/// A libc return value, or the error it stands for.
pub fn check(ret: i32) -> std::io::Result<i32> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
