//! The Socket.IO server under test.
//!
//! It does the raw-WebSocket server's jobs with Socket.IO's own means, on socketioxide, in
//! the default namespace `/`, over both the websocket and the long-polling transports:
//!
//! - event `broadcast` (or `message`): relayed unchanged, under the same event name, to every
//!   other client of the sender's room with `socket.to(room)`; a client that joined no room
//!   is in the lobby, so it reaches the other lobby clients (the seed's semantics);
//! - event `join` with a room name: the client leaves its room and joins that one; an ack,
//!   if asked for, answers with the room name;
//! - event `echo`: answered with an ack carrying the same arguments, or, when the client asked
//!   for no ack, with an `echo` event to the sender alone.
//!
//! Payloads may be text or binary: binary arguments travel as Socket.IO binary attachments
//! and are relayed as such. One client's events are handled in the order it sent them, and
//! every HTTP request is checked before socketioxide sees it (see `guard.rs`).

mod args;
mod events;
mod flow;
mod guard;
mod link;
mod rooms;
mod server;

pub use args::EventArgs;
pub use server::{SioServer, SioServerConfig, SioServerHandle};
pub use wsbench_core::OverflowPolicy;
pub use wsbench_core::bounds::QueueBytes;

/// The room every client starts in, standing for the raw-WebSocket server's `/`.
pub const LOBBY: &str = "wsbench:lobby";
