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
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "floor.rs"]
mod floor;
#[path = "recv_floor/uring.rs"]
mod uring;

use floor::{Reading, loopback_pairs, read_epoll};

const CONNECTIONS: usize = 1000;
const MESSAGE: usize = 64;
/// The longest a way may take before the bench gives up on it (a lost byte, a stuck ring).
const DEADLINE: Duration = Duration::from_secs(60);

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
    let (readers, mut writers) = loopback_pairs(CONNECTIONS)?;
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
