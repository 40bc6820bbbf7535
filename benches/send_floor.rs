//! send_floor: the floor under the ws server's CPU per delivery on this machine: what a
//! writer pays to put one small frame on each of many loopback TCP connections per
//! broadcast, before any WebSocket, queueing or accounting work (the frame is encoded once
//! and shared, as the ws server encodes a broadcast once). Two ways of sending:
//!
//! - **send per recipient**: one `send` per recipient per broadcast, what the ws server
//!   does (a direct write to each recipient's socket);
//! - **io_uring**: one SEND entry per recipient, a broadcast's entries submitted together
//!   (one `io_uring_enter` per ring-full, 1,024 here) and their completions reaped in one
//!   pass: the batched submission the backend issue "Both sides at the kernel's floor"
//!   asks to measure.
//!
//! A reader thread takes every byte off the other ends (epoll + `recv`) and checks that all
//! arrived; the writer thread's own CPU time (getrusage) divided by the sends is the figure.
//! `cargo bench -p wsbench-benches --bench send_floor` sends a 66-byte frame (a 64-byte text
//! message and its 2-byte header) to each of 1,000 connections, 100 broadcasts a second for
//! 5 s (100,000 sends/s); `cargo test --benches` runs each way briefly. Where io_uring is not
//! allowed (a container's seccomp profile, `kernel.io_uring_disabled`), its row says so.
//! docs/cost-breakdown.md, "The floor".

use std::io::Write;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use io_uring::{IoUring, opcode, types};

// The reader's own counts are recv_floor's figures; here only its bytes matter.
#[allow(dead_code)]
#[path = "floor.rs"]
mod floor;

use floor::{Reading, loopback_pairs, read_epoll, thread_cpu};

const CONNECTIONS: usize = 1000;
/// A server-to-client text frame of 64 bytes: 2 bytes of header, then the payload.
const FRAME: usize = 66;
/// Submission entries per `io_uring_enter`: a broadcast to more recipients takes several.
const RING: u32 = 1024;
/// The longest a way may take before the bench gives up on it (a lost byte, a stuck ring).
const DEADLINE: Duration = Duration::from_secs(60);

/// What a writer counted: its CPU time and its syscalls (`send`, or `io_uring_enter`).
struct Writing {
    user: Duration,
    system: Duration,
    syscalls: u64,
}

/// Sends the frame to every socket, `broadcasts` times, broadcast `k` due at `k / rate`.
type Writer = fn(&[TcpStream], &[u8], u64, u64) -> std::io::Result<Writing>;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rate, seconds) = if full { (100, 5.0) } else { (50, 0.2) };
    let broadcasts = (rate as f64 * seconds) as u64;
    println!(
        "send_floor: a {FRAME}-byte frame to each of {CONNECTIONS} loopback connections, \
         {rate} broadcasts/s for {seconds} s ({} sends/s), writer and reader threads on a \
         {}-CPU machine",
        rate * CONNECTIONS as u64,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let ways: [(&str, Writer); 2] = [("send", write_send), ("io_uring", write_uring)];
    for (name, writer) in ways {
        match measure(writer, rate, broadcasts) {
            Ok(w) => {
                let sends = (broadcasts * CONNECTIONS as u64) as f64;
                let per = |d: Duration| d.as_secs_f64() * 1e6 / sends;
                println!(
                    "{name:>9}: {:.2} µs CPU per send (user {:.2}, kernel {:.2}); {:.4} \
                     syscalls per send",
                    per(w.user + w.system),
                    per(w.user),
                    per(w.system),
                    w.syscalls as f64 / sends,
                );
            }
            Err(e) => println!("{name:>9}: not measured here: {e}"),
        }
    }
}

/// Connects the pairs, runs `writer` and the reader side by side, and checks every byte
/// arrived.
fn measure(writer: Writer, rate: u64, broadcasts: u64) -> std::io::Result<Writing> {
    let (readers, writers) = loopback_pairs(CONNECTIONS)?;
    let bytes = broadcasts * (CONNECTIONS * FRAME) as u64;
    let (done, finished) = mpsc::channel::<std::io::Result<Reading>>();
    std::thread::spawn(move || {
        let _ = done.send(read_epoll(readers, bytes));
    });
    let mut frame = vec![b'x'; FRAME];
    frame[..2].copy_from_slice(&[0x81, 64]);
    let writing = writer(&writers, &frame, rate, broadcasts);
    let reading = finished
        .recv_timeout(DEADLINE)
        .expect("the reader did not receive every byte in time");
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
