//! Types every wsbench crate shares.
//!
//! The servers, the load generator and the CLI agree on these so that a figure means the
//! same thing wherever it is produced: live server counters, the overflow policy of a
//! client's outgoing queue, how a listening socket is opened, and the line protocol a
//! `wsbench serve` child speaks with its parent.

pub mod adapter;
pub mod bounds;
pub mod client_library;
pub mod clock;
pub mod control;
pub mod counters;
pub mod counting;
pub mod cpus;
pub mod handicap;
pub mod histogram;
pub mod net;
pub mod policy;
pub mod prerequisite;
pub mod probe;
pub mod redis_server;
pub mod result;
pub mod scenario;
pub mod shard;
pub mod system;
pub mod upgrade;

pub use counters::{CountersSnapshot, ServerCounters};
pub use policy::OverflowPolicy;
