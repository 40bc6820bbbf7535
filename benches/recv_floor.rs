//! recv_floor: the floor under the load generator's CPU per received message on this
//! machine: what a reader pays to take small messages that arrive one at a time on many
//! loopback TCP connections, before any WebSocket or accounting work. Two ways of reading:
//!
//! - **epoll**: wait for ready sockets, then one `recv` per ready socket: what tokio, and so
//!   the load generator, does;
//! - **io_uring**: one multishot receive per socket into a ring of provided buffers; the
//!   kernel receives as data arrives and the reader reaps completions in batches, with no
//!   syscall per read.
//!
//! A writer thread writes 64-byte messages round-robin over the connections at a fixed rate
//! (open loop); the reader thread's own CPU time (getrusage) divided by the messages is the
//! figure. `cargo bench -p wsbench-benches --bench recv_floor` measures 5 s per way at
//! 100,000 messages/s over 1,000 connections; `cargo test --benches` runs each way briefly
//! and checks that every byte arrives. Where io_uring is not allowed (a container's seccomp
//! profile, `kernel.io_uring_disabled`), its row says so. docs/cost-breakdown.md, "The floor".

use std::time::Duration;

use wsbench_floor::recv::{self, MESSAGE, Way};
use wsbench_floor::{CONNECTIONS, cpu_us};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rate, seconds) = if full { (100_000, 5.0) } else { (20_000, 0.3) };
    let total = (rate as f64 * seconds) as u64;
    println!(
        "recv_floor: {CONNECTIONS} loopback connections, {MESSAGE}-byte messages, {rate}/s for \
         {seconds} s, reader and writer threads on a {}-CPU machine",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for way in [Way::Epoll, Way::Uring] {
        let name = way.name();
        match recv::measure(way, CONNECTIONS, rate, total) {
            Ok(r) => {
                let per = |d: Duration| cpu_us(d, total);
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
            Err(e) if way == Way::Uring => println!("{name:>13}: not measured here: {e}"),
            Err(e) => panic!("{name}: {e}"),
        }
    }
}
