//! The receive floor: what a reader pays to take small messages that arrive one at a time
//! on many loopback TCP connections, before any WebSocket or accounting work. Two ways of
//! reading:
//!
//! - **epoll**: wait for ready sockets, then one `recv` per ready socket: what tokio and the
//!   load generator's batched epoll receiver do;
//! - **io_uring**: one multishot receive per socket into a ring of provided buffers; the
//!   kernel receives as data arrives and the reader reaps completions in batches, with no
//!   syscall per read.
//!
//! A writer thread writes 64-byte messages round-robin over the connections at a fixed rate
//! (open loop); the reader thread's own CPU time (getrusage) divided by the messages is the
//! figure.

use std::io::Write;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::pairs::{Reading, loopback_pairs, read_epoll};

/// Bytes per message.
pub const MESSAGE: usize = 64;
/// The longest a way may take before it is given up (a lost byte, a stuck ring).
const DEADLINE: Duration = Duration::from_secs(60);

/// How the reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// epoll and one `recv` per ready socket.
    Epoll,
    /// A multishot receive per socket into provided buffers.
    Uring,
}

impl Way {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Way::Epoll => "epoll + recv",
            Way::Uring => "io_uring",
        }
    }
}

/// Connects `connections` pairs, writes `total` messages at `rate` per second and reads
/// them `way`; checks every byte arrived. The reader's figures.
pub fn measure(way: Way, connections: usize, rate: u64, total: u64) -> std::io::Result<Reading> {
    let (readers, mut writers) = loopback_pairs(connections)?;
    let (done, finished) = mpsc::channel();
    let bytes = total * MESSAGE as u64;
    std::thread::spawn(move || {
        let _ = done.send(match way {
            Way::Epoll => read_epoll(readers, bytes),
            Way::Uring => crate::recv_uring::read(readers, bytes),
        });
    });
    let writer = std::thread::spawn(move || write_paced(&mut writers, rate, total));
    let reading = finished.recv_timeout(DEADLINE).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the reader did not receive every byte in time",
        )
    })??;
    writer
        .join()
        .map_err(|_| std::io::Error::other("the writer panicked"))??;
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
