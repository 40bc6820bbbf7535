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
//! A broadcast shares one reference-counted buffer between all recipients; each client has a
//! bounded outgoing queue whose overflow is handled by the configured [`OverflowPolicy`].

mod connection;
mod group;
mod handshake;
mod relay;
mod route;
mod server;

pub use route::Route;
pub use server::{WsServer, WsServerConfig, WsServerHandle};
pub use wsbench_core::OverflowPolicy;
