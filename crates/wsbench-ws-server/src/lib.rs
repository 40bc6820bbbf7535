//! The raw-WebSocket server under test.
//!
//! It does with plain RFC 6455 what the Socket.IO server does with Socket.IO's means, so the
//! two can be compared job for job. The job is chosen once, at connect time, by the request
//! path (see [`Route`]), so the hot path parses nothing:
//!
//! - `/` — broadcast: every message goes, unchanged, to every other connected client of `/`
//!   and never back to its sender (the seed's semantics);
//! - `/room/NAME` — the same, limited to the clients of room `NAME`;
//! - `/echo` — every message comes back to its sender only.
//!
//! A broadcast is encoded once into a frame that all recipients share, and written straight
//! to each recipient's socket by the broadcaster; what a socket does not take at once waits
//! in the client's bounded queue, whose overflow is handled by the configured
//! [`OverflowPolicy`].

mod broadcast;
mod connection;
mod frame;
mod group;
mod handshake;
mod outbox;
mod relay;
mod route;
mod server;
mod socket;
mod tls;
mod uring;

pub use route::Route;
pub use server::{WsServer, WsServerConfig, WsServerHandle};
pub use wsbench_core::OverflowPolicy;
pub use wsbench_core::bounds::QueueBytes;
