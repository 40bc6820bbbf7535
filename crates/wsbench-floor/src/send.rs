//! The send floor: what a writer pays to put one small frame on each of many loopback TCP
//! connections per broadcast, before any WebSocket, queueing or accounting work (the frame
//! is encoded once and shared, as the ws server encodes a broadcast once). Two ways of
//! sending:
//!
//! - **send per recipient**: one `send` per recipient per broadcast, what the ws server
//!   does by default (a direct write to each recipient's socket);
//! - **io_uring**: one SEND entry per recipient, a broadcast's entries submitted together
//!   (one `io_uring_enter` per ring-full, 1,024 here) and their completions reaped in one
//!   pass.
//!
//! A reader thread takes every byte off the other ends (epoll + `recv`) and checks that all
//! arrived; the writer thread's own CPU time (getrusage) divided by the sends is the figure.

use std::io::Write;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use io_uring::{IoUring, opcode, types};

use wsbench_core::ws_frame::{Head, TEXT};

use crate::pairs::{Reading, loopback_pairs, read_epoll, thread_cpu};

/// A server-to-client text frame of 64 bytes: 2 bytes of header, then the payload.
pub const FRAME: usize = 66;
/// Submission entries per `io_uring_enter`: a broadcast to more recipients takes several.
const RING: u32 = 1024;
/// The longest a way may take before it is given up (a lost byte, a stuck ring).
const DEADLINE: Duration = Duration::from_secs(60);

/// How the writer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// One `send` per recipient.
    Send,
    /// A broadcast's sends submitted together on one ring.
    Uring,
}

impl Way {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Way::Send => "send",
            Way::Uring => "io_uring",
        }
    }
}

/// What a writer counted: its CPU time and its syscalls (`send`, or `io_uring_enter`).
pub struct Writing {
    /// CPU time in user space.
    pub user: Duration,
    /// CPU time in the kernel.
    pub system: Duration,
    /// `send` or `io_uring_enter` calls.
    pub syscalls: u64,
}

/// Sends the frame to every socket, `broadcasts` times, broadcast `k` due at `k / rate`.
type Writer = fn(&[TcpStream], &[u8], u64, u64) -> std::io::Result<Writing>;

/// Connects `connections` pairs, sends the frame to each `broadcasts` times at `rate`
/// broadcasts a second `way`, with a reader taking every byte off the other ends; checks
/// every byte arrived. The writer's figures.
pub fn measure(
    way: Way,
    connections: usize,
    rate: u64,
    broadcasts: u64,
) -> std::io::Result<Writing> {
    let writer: Writer = match way {
        Way::Send => write_send,
        Way::Uring => write_uring,
    };
    let (readers, writers) = loopback_pairs(connections)?;
    let bytes = broadcasts * (connections * FRAME) as u64;
    let (done, finished) = mpsc::channel::<std::io::Result<Reading>>();
    std::thread::spawn(move || {
        let _ = done.send(read_epoll(readers, bytes));
    });
    // A text frame of a 64-byte probe, as the ws server sends one.
    let head = Head::new(TEXT, FRAME - 2, None);
    let mut frame = head.as_bytes().to_vec();
    frame.resize(FRAME, b'x');
    let writing = writer(&writers, &frame, rate, broadcasts);
    let reading = finished.recv_timeout(DEADLINE).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the reader did not receive every byte in time",
        )
    })?;
    let writing = writing?;
    reading?;
    Ok(writing)
}

/// Waits until broadcast `k` is due (`k / rate` after `start`).
fn pace(start: Instant, k: u64, rate: u64) {
    let due = start + Duration::from_secs_f64(k as f64 / rate as f64);
    if let Some(wait) = due.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
}

/// One `send` per recipient (std's `write` on a TCP stream is `send`).
fn write_send(
    sockets: &[TcpStream],
    frame: &[u8],
    rate: u64,
    broadcasts: u64,
) -> std::io::Result<Writing> {
    let start = Instant::now();
    let cpu0 = thread_cpu();
    let mut syscalls = 0u64;
    for k in 0..broadcasts {
        pace(start, k, rate);
        for mut socket in sockets {
            socket.write_all(frame)?;
            syscalls += 1;
        }
    }
    let cpu1 = thread_cpu();
    Ok(Writing {
        user: cpu1.0 - cpu0.0,
        system: cpu1.1 - cpu0.1,
        syscalls,
    })
}

/// One SEND entry per recipient, submitted a ring-full at a time, every completion reaped
/// (and checked whole) before the next ring-full: one `io_uring_enter` per 1,024 sends.
fn write_uring(
    sockets: &[TcpStream],
    frame: &[u8],
    rate: u64,
    broadcasts: u64,
) -> std::io::Result<Writing> {
    // One thread submits and reaps, so the kernel may defer its completion work to the
    // waits (6.1); where it cannot, a plain ring.
    let mut ring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(RING)
        .or_else(|_| IoUring::new(RING))?;
    let start = Instant::now();
    let cpu0 = thread_cpu();
    let mut syscalls = 0u64;
    for k in 0..broadcasts {
        pace(start, k, rate);
        for chunk in sockets.chunks(RING as usize) {
            for (i, socket) in chunk.iter().enumerate() {
                let send = opcode::Send::new(
                    types::Fd(socket.as_raw_fd()),
                    frame.as_ptr(),
                    frame.len() as u32,
                )
                .flags(libc::MSG_NOSIGNAL)
                .build()
                .user_data(i as u64);
                // SAFETY: `frame` and the sockets outlive the entry: every completion is
                // reaped below before this function returns or reuses the slot.
                unsafe { ring.submission().push(&send) }.expect("a ring-full at most");
            }
            // Submits them all, then waits for what has not completed (a signal may end a
            // wait early).
            let mut reaped = 0;
            while reaped < chunk.len() {
                ring.submit_and_wait(chunk.len() - reaped)?;
                syscalls += 1;
                for cqe in ring.completion() {
                    whole(cqe.result(), frame.len())?;
                    reaped += 1;
                }
            }
        }
    }
    let cpu1 = thread_cpu();
    Ok(Writing {
        user: cpu1.0 - cpu0.0,
        system: cpu1.1 - cpu0.1,
        syscalls,
    })
}

/// A send's completion: all of the frame, or the error.
fn whole(result: i32, len: usize) -> std::io::Result<()> {
    if result == len as i32 {
        Ok(())
    } else if result < 0 {
        Err(std::io::Error::from_raw_os_error(-result))
    } else {
        Err(std::io::Error::other(format!(
            "a short send: {result} of {len} bytes"
        )))
    }
}
