//! The kernel's floor under each side of a run on this machine: a bare reader of small
//! messages on many loopback connections (the load generator's floor) and a bare writer of
//! one small frame to each of many connections (the ws server's), each by epoll and by
//! io_uring. `wsbench run --floor` and `wsbench floor` measure them for a second each;
//! the benches `recv_floor` and `send_floor` for longer. docs/method.md, "The floors".

pub mod pairs;
pub mod recv;
mod recv_uring;
pub mod send;

use std::time::Duration;

pub use pairs::Reading;
pub use send::Writing;
use wsbench_core::result::Floor;

/// Loopback connections each way uses: the fanout scenario's clients.
pub const CONNECTIONS: usize = 1000;
/// Messages a second the receive floor is fed: fanout's deliveries a second.
pub const RECV_RATE: u64 = 100_000;
/// Broadcasts a second the send floor makes (to every connection: 100,000 sends a second).
pub const BROADCASTS: u64 = 100;

/// The machine a floor is measured on.
pub struct Machine {
    /// Its host name.
    pub hostname: String,
    /// Its kernel release.
    pub kernel: String,
    /// Its CPU model.
    pub cpu_model: String,
}

/// Measures the four ways for `seconds_each` each, one after the other, calling `progress`
/// with each way's name before it starts. The io_uring ways are left out (and why said)
/// where the kernel refuses a ring; an epoll way that fails is an error.
pub fn measure(
    seconds_each: f64,
    machine: Machine,
    measured_at: String,
    mut progress: impl FnMut(&str),
) -> std::io::Result<Floor> {
    let messages = ((RECV_RATE as f64 * seconds_each) as u64).max(1);
    let broadcasts = ((BROADCASTS as f64 * seconds_each) as u64).max(1);
    let per_message = |r: Reading| cpu_us(r.user + r.system, messages);
    let per_send = |w: Writing| cpu_us(w.user + w.system, broadcasts * CONNECTIONS as u64);
    progress("receive, epoll + recv");
    let recv_epoll_us = per_message(recv::measure(
        recv::Way::Epoll,
        CONNECTIONS,
        RECV_RATE,
        messages,
    )?);
    progress("send, one send per recipient");
    let send_us = per_send(send::measure(
        send::Way::Send,
        CONNECTIONS,
        BROADCASTS,
        broadcasts,
    )?);
    progress("receive, io_uring");
    let recv_uring = recv::measure(recv::Way::Uring, CONNECTIONS, RECV_RATE, messages);
    progress("send, io_uring");
    let send_uring = send::measure(send::Way::Uring, CONNECTIONS, BROADCASTS, broadcasts);
    let uring_refused = [&recv_uring.as_ref().err(), &send_uring.as_ref().err()]
        .iter()
        .find_map(|e| e.map(|e| format!("io_uring: {e}")));
    Ok(Floor {
        measured_at,
        source: "this run".to_owned(),
        hostname: machine.hostname,
        kernel: machine.kernel,
        cpu_model: machine.cpu_model,
        connections: CONNECTIONS as u64,
        seconds_each,
        recv_epoll_us,
        recv_uring_us: recv_uring.ok().map(per_message),
        send_us,
        send_uring_us: send_uring.ok().map(per_send),
        uring_refused,
    })
}

/// CPU `time` per one of `n`, µs.
pub fn cpu_us(time: Duration, n: u64) -> f64 {
    time.as_secs_f64() * 1e6 / n.max(1) as f64
}
