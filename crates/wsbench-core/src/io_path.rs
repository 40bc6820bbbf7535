//! How the load generator's lean clients read their sockets (`wsbench run --io`): the
//! per-client path on tokio's epoll reactor, or the batched io_uring receiver; what a run
//! used is in its result (docs/method.md, "The load generator's I/O").

use serde::{Deserialize, Serialize};

/// The path a run's clients read by.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum IoPath {
    /// A task per client, woken by tokio's reactor (epoll), one `recv` per read.
    #[default]
    Epoll,
    /// A multishot receive per connection on one io_uring per worker, the frames parsed
    /// and accounted in the buffers the kernel filled, a wakeup per batch of reads.
    Uring,
}

named!(IoPath, "I/O path", Epoll => "epoll", Uring => "uring");

/// What `--io` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoChoice {
    /// The per-client epoll path.
    Epoll,
    /// io_uring for every client that can use it.
    Uring,
    /// io_uring where the kernel allows it and the clients can use it, else epoll.
    #[default]
    Auto,
}

named!(IoChoice, "I/O path", Epoll => "epoll", Uring => "uring", Auto => "auto");
