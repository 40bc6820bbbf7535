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
use wsbench_core::stats::median;

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

/// Rounds each way is measured in: the four ways take turns, [`ROUNDS`] times, and each
/// way's figure is the median of its rounds, so that a second in which the machine's other
/// work came and went moves one round, not the figure. (One round of each way moved by ±15%
/// from one measurement to the next on the project's shared VM.)
pub const ROUNDS: usize = 3;

/// Measures the four ways for `seconds_each` each in every one of [`ROUNDS`] turns,
/// calling `progress` with each turn's number before it starts. Each round of a way runs
/// the whole `seconds_each`, not a share of it: a bare reader measured for a third of a
/// second paid a fifth less per message than one measured for a second (on the project's
/// VM), so a floor is comparable only with one of the same length, which it records. The io_uring ways are left out (and why said)
/// where the kernel refuses a ring; an epoll way that fails is an error.
pub fn measure(
    seconds_each: f64,
    machine: Machine,
    measured_at: String,
    mut progress: impl FnMut(usize),
) -> std::io::Result<Floor> {
    let messages = ((RECV_RATE as f64 * seconds_each) as u64).max(1);
    let broadcasts = ((BROADCASTS as f64 * seconds_each) as u64).max(1);
    let per_message = |r: Reading| cpu_us(r.user + r.system, messages);
    let per_send = |w: Writing| cpu_us(w.user + w.system, broadcasts * CONNECTIONS as u64);
    let mut ways: [Vec<f64>; 4] = Default::default();
    let mut uring_refused = None;
    for round in 1..=ROUNDS {
        progress(round);
        let recv = |way| recv::measure(way, CONNECTIONS, RECV_RATE, messages);
        let send = |way| send::measure(way, CONNECTIONS, BROADCASTS, broadcasts);
        ways[0].push(per_message(recv(recv::Way::Epoll)?));
        ways[1].push(per_send(send(send::Way::Send)?));
        if uring_refused.is_some() {
            continue;
        }
        match (recv(recv::Way::Uring), send(send::Way::Uring)) {
            (Ok(r), Ok(w)) => {
                ways[2].push(per_message(r));
                ways[3].push(per_send(w));
            }
            (Err(e), _) | (_, Err(e)) => uring_refused = Some(format!("io_uring: {e}")),
        }
    }
    let [recv_epoll, send, recv_uring, send_uring] = ways.map(|v| median(&v));
    Ok(Floor {
        measured_at,
        source: "this run".to_owned(),
        hostname: machine.hostname,
        kernel: machine.kernel,
        cpu_model: machine.cpu_model,
        connections: CONNECTIONS as u64,
        seconds_each,
        recv_epoll_us: recv_epoll.unwrap_or_default(),
        recv_uring_us: recv_uring.filter(|_| uring_refused.is_none()),
        send_us: send.unwrap_or_default(),
        send_uring_us: send_uring.filter(|_| uring_refused.is_none()),
        uring_refused,
    })
}

/// CPU `time` per one of `n`, µs.
pub fn cpu_us(time: Duration, n: u64) -> f64 {
    time.as_secs_f64() * 1e6 / n.max(1) as f64
}
