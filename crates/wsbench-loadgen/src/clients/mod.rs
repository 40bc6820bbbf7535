//! The clients: one [`Connection`] implementation per way of speaking to a server, which
//! the one client loop (`crate::client`) drives. Adding a protocol means a file here and
//! one arm in [`run`].

mod batched;
mod deflate;
mod failure;
pub(crate) mod frame;
mod gate;
mod lean;
mod raw_ws;
mod rust_sio;
mod socketio;
mod tls;
mod upgrade;
mod wire;

use std::rc::Rc;

use wsbench_core::system::Protocol;

pub use failure::ConnectFailure;
pub use raw_ws::RawWs;
pub use socketio::SocketIoWs;
pub use tls::{Stream, TlsClient, TlsTrust};
pub use wire::{Decoded, Dial, Endpoint, Incoming, Phases, Role, Socket, Wire, connect};

use crate::plan::ClientLibrary;
use crate::worker::WorkerCtx;

/// A connected client, whatever it speaks: what the client loop needs of it.
// The clients run on current-thread runtimes: these futures never need to be `Send`.
#[allow(async_fn_in_trait)]
pub(crate) trait Connection: Sized {
    /// Connects client `id` of the worker's plan, ready to send and receive (every
    /// handshake done, its room joined).
    async fn connect(ctx: &WorkerCtx, id: u64) -> Result<Self, ConnectFailure>;

    /// The next thing the server sent. Cancel-safe: the loop's `select!` may drop it.
    async fn next(&mut self) -> Incoming;

    /// Answers the heartbeat the server asked for with [`Incoming::Ping`].
    async fn pong(&mut self) -> Result<(), ()>;

    /// Writes one probe, framed as the protocol and the client's role want.
    async fn send(&mut self, probe: &[u8]) -> Result<(), ()>;

    /// Closes the connection, waiting a moment for the server's answer.
    async fn close(self);
}

/// Runs client `id` with the client its plan's protocol and library call for.
pub(crate) async fn run(id: u64, ctx: Rc<WorkerCtx>) -> Option<tokio::task::JoinHandle<()>> {
    use crate::client::run as client;
    // Boxed, each in its own size: unboxed, every task would be as large as the largest
    // client's state (rust_socketio's: 9 KB a client against the lean ones' 1.7 KB).
    // Returns the connected client's task, see `crate::client::run`.
    let batched = ctx.receiver.is_some();
    match (ctx.plan.client, ctx.plan.protocol) {
        (ClientLibrary::Lean, Protocol::Ws) if batched => {
            Box::pin(client::<batched::Batched<RawWs>>(id, ctx)).await
        }
        (ClientLibrary::Lean, Protocol::Socketio) if batched => {
            Box::pin(client::<batched::Batched<SocketIoWs>>(id, ctx)).await
        }
        (ClientLibrary::Lean, Protocol::Ws) => Box::pin(client::<lean::Lean<RawWs>>(id, ctx)).await,
        (ClientLibrary::Lean, Protocol::Socketio) => {
            Box::pin(client::<lean::Lean<SocketIoWs>>(id, ctx)).await
        }
        // Socket.IO spoken by rust_socketio: long-polling, or asked for by the scenario
        // (`ClientLibrary::choose` never pairs it with raw WebSocket).
        (ClientLibrary::RustSocketio, _) | (ClientLibrary::Lean, Protocol::SocketioPolling) => {
            Box::pin(client::<rust_sio::RustSio>(id, ctx)).await
        }
    }
}
