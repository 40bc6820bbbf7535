//! A lean client: a [`Wire`] protocol over wsbench's own WebSocket connection, cheap enough
//! per client and message that the load generator is not what is measured.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wsbench_core::scenario::Encoding;

use super::Connection;
use super::failure::ConnectFailure;
use super::wire::{self, Dial, Incoming, Role, Socket, Wire};
use crate::worker::WorkerCtx;

/// One lean client's connection.
pub(crate) struct Lean<W> {
    ws: Socket,
    wire: W,
    encoding: Encoding,
    role: Role,
    /// The frames of the probe being written, reused from probe to probe.
    frames: Vec<Message>,
}

impl<W: Wire> Connection for Lean<W> {
    async fn connect(ctx: &WorkerCtx, id: u64) -> Result<Self, ConnectFailure> {
        let plan = &ctx.plan;
        let role = plan.role_of(id);
        let wire = W::new(&plan.adapter);
        let dial = Dial::of(plan, id, false);
        let (ws, phases) = wire::connect(&wire, dial, &ctx.live, plan.connect_timeout).await?;
        ctx.handshook(phases);
        Ok(Lean {
            ws,
            wire,
            encoding: plan.encoding,
            role,
            frames: Vec::with_capacity(2),
        })
    }

    async fn next(&mut self) -> Incoming {
        match self.ws.next().await {
            Some(Ok(msg)) => self.wire.decode(msg),
            _ => Incoming::Closed,
        }
    }

    async fn pong(&mut self) -> Result<(), ()> {
        self.ws.send(self.wire.pong()).await.map_err(drop)
    }

    async fn send(&mut self, probe: &[u8]) -> Result<(), ()> {
        self.wire
            .encode(self.encoding, self.role, probe, &mut self.frames);
        for frame in self.frames.drain(..) {
            self.ws.feed(frame).await.map_err(drop)?;
        }
        self.ws.flush().await.map_err(drop)
    }

    async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }
}
