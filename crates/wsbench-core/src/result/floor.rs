//! The kernel's floor under each side of a run, measured on the machine it ran on: what a
//! bare reader pays per small message and a bare writer per recipient, before any
//! WebSocket, queueing or accounting work (docs/method.md, "The floors"). A run's costs
//! are told as ratios to them, because absolute CPU times move with the machine and the
//! hour while the ratio to a floor measured beside them moves much less.

use serde::{Deserialize, Serialize};

use crate::io_path::IoPath;

/// The floors measured on one machine at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Floor {
    /// When they were measured (RFC 3339, UTC).
    pub measured_at: String,
    /// Where this run took them from: `this run` (`wsbench run --floor`) or the cache file
    /// `wsbench floor` and earlier `--floor` runs wrote.
    pub source: String,
    /// The machine they were measured on: a cached floor is only used on the same one.
    pub hostname: String,
    /// Its kernel (a new kernel is another floor).
    pub kernel: String,
    /// Its CPU model.
    pub cpu_model: String,
    /// Loopback connections each way used.
    pub connections: u64,
    /// Seconds each way ran.
    pub seconds_each: f64,
    /// Receiving: CPU per 64-byte message at 100,000 messages/s, epoll + `recv`, µs.
    pub recv_epoll_us: f64,
    /// The same with one multishot io_uring receive per socket; `None` where io_uring is
    /// refused.
    pub recv_uring_us: Option<f64>,
    /// Sending: CPU per recipient of a 66-byte frame, one `send` per recipient, µs.
    pub send_us: f64,
    /// The same with a broadcast's sends submitted together on io_uring.
    pub send_uring_us: Option<f64>,
    /// Why the io_uring ways were not measured, where they were not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uring_refused: Option<String>,
}

impl Floor {
    /// The receive floor under a load generator that read by `io`: tokio's clients wait on
    /// epoll and `recv` as the bare reader does.
    pub fn recv_us(&self, io: IoPath) -> Option<f64> {
        match io {
            IoPath::Tokio | IoPath::Epoll => Some(self.recv_epoll_us),
            IoPath::Uring => self.recv_uring_us,
        }
    }

    /// The send floor under a server that wrote by `uring` (batched io_uring sends) or one
    /// `send` per recipient.
    pub fn send_us(&self, uring: bool) -> Option<f64> {
        if uring {
            self.send_uring_us
        } else {
            Some(self.send_us)
        }
    }

    /// Whether this floor was measured on the machine described.
    pub fn is_of(&self, hostname: &str, kernel: &str, cpu_model: &str) -> bool {
        self.hostname == hostname && self.kernel == kernel && self.cpu_model == cpu_model
    }
}
