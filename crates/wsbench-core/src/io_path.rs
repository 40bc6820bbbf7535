//! How the load generator's lean clients read their sockets (`wsbench run --io`): a task
//! per client on tokio's reactor, or a batched receiver per worker on epoll or io_uring;
//! what a run used is in its result (docs/method.md, "The load generator's I/O").

use serde::{Deserialize, Serialize};

/// The path a run's clients read by.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum IoPath {
    /// A task per client, woken by tokio's reactor (epoll), tungstenite cutting frames.
    #[default]
    Tokio,
    /// One epoll set per worker: every ready socket read once with `recv`, the frames
    /// parsed and accounted where they landed, a wakeup per batch of reads.
    Epoll,
    /// A multishot receive per connection on one io_uring per worker, the frames parsed
    /// and accounted in the buffers the kernel filled, a wakeup per batch of reads.
    Uring,
}

named!(IoPath, "I/O path", Tokio => "tokio", Epoll => "epoll", Uring => "uring");

impl IoPath {
    /// What the path is, in a report's words.
    pub fn describe(self) -> &'static str {
        match self {
            IoPath::Tokio => "a task per client on tokio's reactor (--io tokio)",
            IoPath::Epoll => "one batched epoll receiver per worker (--io epoll)",
            IoPath::Uring => "one batched io_uring receiver per worker (--io uring)",
        }
    }
}

/// What `--io` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoChoice {
    /// A task per client.
    Tokio,
    /// The batched epoll receiver for every client that can use it.
    Epoll,
    /// The batched io_uring receiver for every client that can use it (epoll where the
    /// kernel refuses a ring).
    Uring,
    /// The batched receiver that measured cheapest for the whole run (see
    /// docs/method.md), for every client that can use it.
    #[default]
    Auto,
}

named!(IoChoice, "I/O path", Tokio => "tokio", Epoll => "epoll", Uring => "uring", Auto => "auto");

/// How a server wrote its broadcasts (`wsbench serve ws --io`; docs/method.md, "The
/// floors"). Servers wsbench does not build write by `send` as far as it knows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SendPath {
    /// One `send` per recipient, sockets watched by tokio's reactor (epoll).
    #[default]
    Epoll,
    /// A large broadcast's sends submitted together on an io_uring, one `io_uring_enter`
    /// for many recipients.
    Uring,
}

named!(SendPath, "send path", Epoll => "epoll", Uring => "uring");

impl SendPath {
    /// Whether the sends went through io_uring.
    pub fn is_uring(self) -> bool {
        self == SendPath::Uring
    }
}

/// What `wsbench serve ws --io` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendChoice {
    /// One `send` per recipient.
    Epoll,
    /// io_uring where the kernel allows a ring (`send` per recipient where it does not).
    Uring,
    /// The path that measured cheaper (docs/cost-breakdown.md): io_uring where the kernel
    /// allows a ring and the server is plain TCP, `send` per recipient otherwise.
    #[default]
    Auto,
}

named!(SendChoice, "send path", Epoll => "epoll", Uring => "uring", Auto => "auto");
