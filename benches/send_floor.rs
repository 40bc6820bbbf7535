//! send_floor: the floor under the ws server's CPU per delivery on this machine: what a
//! writer pays to put one small frame on each of many loopback TCP connections per
//! broadcast, before any WebSocket, queueing or accounting work (the frame is encoded once
//! and shared, as the ws server encodes a broadcast once). Two ways of sending:
//!
//! - **send per recipient**: one `send` per recipient per broadcast, what the ws server
//!   does (a direct write to each recipient's socket);
//! - **io_uring**: one SEND entry per recipient, a broadcast's entries submitted together
//!   (one `io_uring_enter` per ring-full, 1,024 here) and their completions reaped in one
//!   pass: the batched submission `wsbench serve ws --io uring` makes.
//!
//! A reader thread takes every byte off the other ends (epoll + `recv`) and checks that all
//! arrived; the writer thread's own CPU time (getrusage) divided by the sends is the figure.
//! `cargo bench -p wsbench-benches --bench send_floor` sends a 66-byte frame (a 64-byte text
//! message and its 2-byte header) to each of 1,000 connections, 100 broadcasts a second for
//! 5 s (100,000 sends/s); `cargo test --benches` runs each way briefly. Where io_uring is not
//! allowed (a container's seccomp profile, `kernel.io_uring_disabled`), its row says so.
//! docs/cost-breakdown.md, "The floor".

use std::time::Duration;

use wsbench_floor::send::{self, FRAME, Way};
use wsbench_floor::{CONNECTIONS, cpu_us};

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
    for way in [Way::Send, Way::Uring] {
        let name = way.name();
        match send::measure(way, CONNECTIONS, rate, broadcasts) {
            Ok(w) => {
                let sends = broadcasts * CONNECTIONS as u64;
                let per = |d: Duration| cpu_us(d, sends);
                println!(
                    "{name:>9}: {:.2} µs CPU per send (user {:.2}, kernel {:.2}); {:.4} \
                     syscalls per send",
                    per(w.user + w.system),
                    per(w.user),
                    per(w.system),
                    w.syscalls as f64 / sends as f64,
                );
            }
            Err(e) if way == Way::Uring => println!("{name:>9}: not measured here: {e}"),
            Err(e) => panic!("{name}: {e}"),
        }
    }
}
