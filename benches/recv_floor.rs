//! recv_floor: the floor under the load generator's CPU per received message on this
//! machine: what a reader pays to take small messages that arrive one at a time on many
//! loopback TCP connections, before any WebSocket or accounting work. Two ways of reading:
//!
//! - **epoll**: wait for ready sockets, then one `recv` per ready socket: what tokio, and so
//!   the load generator, does;
//! - **io_uring**: one multishot receive per socket into a ring of provided buffers; the
//!   kernel receives as data arrives and the reader reaps completions in batches, with no
//!   syscall per read (the backend issue "The load generator at the physical limit" asks
//!   to consider).
//!
//! A writer thread writes 64-byte messages round-robin over the connections at a fixed rate
//! (open loop); the reader thread's own CPU time (getrusage) divided by the messages is the
//! figure. `cargo bench -p wsbench-benches --bench recv_floor` measures 5 s per way at
//! 100,000 messages/s over 1,000 connections; `cargo test --benches` runs each way briefly
//! and checks that every byte arrives. Where io_uring is not allowed (a container's seccomp
//! profile, `kernel.io_uring_disabled`), its row says so. docs/cost-breakdown.md, "The floor".

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "recv_floor/uring.rs"]
mod uring;

const CONNECTIONS: usize = 1000;
const MESSAGE: usize = 64;
/// The longest a way may take before the bench gives up on it (a lost byte, a stuck ring).
const DEADLINE: Duration = Duration::from_secs(60);

/// What a reader counted: its CPU time and the syscalls it made.
struct Reading {
    user: Duration,
    system: Duration,
    /// Reads (`recv`) or completions reaped (io_uring).
    reads: u64,
    /// `epoll_wait` or `io_uring_enter` calls.
    waits: u64,
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rate, seconds) = if full { (100_000, 5.0) } else { (20_000, 0.3) };
    let total = (rate as f64 * seconds) as u64;
    println!(
        "recv_floor: {CONNECTIONS} loopback connections, {MESSAGE}-byte messages, {rate}/s for \
         {seconds} s, reader and writer threads on a {}-CPU machine",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    type Reader = fn(Vec<TcpStream>, u64) -> std::io::Result<Reading>;
    let ways: [(&str, Reader); 2] = [("epoll + recv", read_epoll), ("io_uring", uring::read)];
    for (name, reader) in ways {
        match measure(reader, rate, total) {
            Ok(r) => {
                let per = |d: Duration| d.as_secs_f64() * 1e6 / total as f64;
                println!(
                    "{name:>13}: {:.2} µs CPU per message (user {:.2}, kernel {:.2}); \
                     {:.3} reads and {:.3} waits per message",
                    per(r.user + r.system),
                    per(r.user),
                    per(r.system),
                    r.reads as f64 / total as f64,
                    r.waits as f64 / total as f64,
                );
            }
            Err(e) => println!("{name:>13}: not measured here: {e}"),
        }
    }
}

/// Connects the pairs, runs the writer and `reader` side by side, and checks every byte
/// arrived.
fn measure(
    reader: fn(Vec<TcpStream>, u64) -> std::io::Result<Reading>,
    rate: u64,
    total: u64,
) -> std::io::Result<Reading> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let (mut readers, mut writers) = (Vec::new(), Vec::new());
    for _ in 0..CONNECTIONS {
        let r = TcpStream::connect(listener.local_addr()?)?;
        let (w, _) = listener.accept()?;
        r.set_nodelay(true)?;
        w.set_nodelay(true)?;
        r.set_nonblocking(true)?;
        readers.push(r);
        writers.push(w);
    }
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(reader(readers, total * MESSAGE as u64));
    });
    let writer = std::thread::spawn(move || write_paced(&mut writers, rate, total));
    let reading = finished
        .recv_timeout(DEADLINE)
        .expect("the reader did not receive every byte in time")?;
    writer.join().expect("the writer")?;
    Ok(reading)
}

/// Writes `total` messages round-robin, message `k` due at `k / rate` after the start.
fn write_paced(sockets: &mut [TcpStream], rate: u64, total: u64) -> std::io::Result<()> {
    let message = [b'x'; MESSAGE];
    let start = Instant::now();
    let mut k = 0u64;
    while k < total {
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        if k == due {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        while k < due {
            sockets[(k % sockets.len() as u64) as usize].write_all(&message)?;
            k += 1;
        }
    }
    Ok(())
}

/// epoll (level-triggered) and one `recv` per ready socket, until `bytes` have arrived.
fn read_epoll(sockets: Vec<TcpStream>, bytes: u64) -> std::io::Result<Reading> {
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
fn thread_cpu() -> (Duration, Duration) {
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
fn check(ret: i32) -> std::io::Result<i32> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
